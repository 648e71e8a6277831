// Package machines boots committed stacks' shipped user data on Debian 12
// VMs (the rehearsal package) and checks what a droplet would do: cloud-init
// finishes, the declared firewall admits the encoder and the operator and
// nobody else, the declared DNS names resolve, the shipped player page fails
// over, and the edges heal after the origin reboots.
//
// The VMs run under QEMU, usually by emulation (TCG): a test boots for
// minutes. `make test-machines` runs this package alone.
package machines

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/rehearsal"
)

// repoRoot holds the committed stacks, the README and the cache.
const repoRoot = "../.."

// healTimeout bounds a wait for something to start or recover on emulated
// machines. It is a deadline against hangs, not a performance claim:
// docs/BENCHMARKS.md has the measured figures.
const healTimeout = 90 * time.Second

// dropped is how long a connection attempt waits before the test calls it
// dropped by the firewall (a DigitalOcean firewall drops, it never refuses).
const dropped = 3 * time.Second

// rehearse boots a stack for one test and tears it down at cleanup.
func rehearse(t *testing.T, name string, s *config.Settings) *rehearsal.Rehearsal {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("booting VMs in a network namespace needs root")
	}
	cache, err := filepath.Abs(filepath.Join(repoRoot, ".cache"))
	require.NoError(t, err)
	logs := filepath.Join("artifacts", name)
	require.NoError(t, os.RemoveAll(logs))
	r, err := rehearsal.Start(context.Background(), rehearsal.Options{
		Stack: name, Settings: s, CacheDir: cache, LogDir: logs, Log: testLog{t},
	})
	require.NoError(t, err, "rehearse %s (consoles in tests/machines/%s)", name, logs)
	t.Cleanup(func() {
		require.NoError(t, r.Close())
		_, err := os.Stat("/run/netns/" + r.Info().Netns)
		require.ErrorIs(t, err, os.ErrNotExist, "the namespace is gone")
	})
	line, err := json.Marshal(r.Info())
	require.NoError(t, err)
	t.Logf("rehearsal: %s", line)
	return r
}

func loadStack(t *testing.T, name string) *config.Settings {
	t.Helper()
	s, err := config.LoadStackFile(filepath.Join(repoRoot, "Pulumi."+name+".yaml"))
	require.NoError(t, err)
	return s
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// eventually polls check until it succeeds or timeout passes.
func eventually(t *testing.T, what string, timeout time.Duration, check func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	began := time.Now()
	var last error
	for {
		if last = check(ctx); last == nil {
			t.Logf("%s: after %v", what, time.Since(began).Round(100*time.Millisecond))
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %v: %v", what, timeout, last)
		case <-time.After(time.Second):
		}
	}
}

// viewerClient is a client at the viewer's address that trusts the
// rehearsal's CA, as a browser trusts a public one, and reports redirects
// instead of following them.
func viewerClient(t *testing.T, r *rehearsal.Rehearsal) *http.Client {
	t.Helper()
	client := r.Network().HTTPClient(r.ViewerAddress(), 5*time.Second)
	if ca := r.Info().CAFile; ca != "" {
		pem, err := os.ReadFile(ca)
		require.NoError(t, err)
		pool := x509.NewCertPool()
		require.True(t, pool.AppendCertsFromPEM(pem), "the rehearsal's CA %s", ca)
		tr := client.Transport.(*http.Transport)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		tr.ForceAttemptHTTP2 = true // as browsers do; Go turns it off with a TLS config of its own
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return client
}

// get GETs url as a viewer and returns the response, its body read.
func get(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp, err
}

// status GETs url from the viewer's address and returns the status code.
func status(ctx context.Context, t *testing.T, r *rehearsal.Rehearsal, url string) (int, error) {
	resp, err := get(ctx, viewerClient(t, r), url)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

func wantStatus(t *testing.T, r *rehearsal.Rehearsal, url string, want int) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		got, err := status(ctx, t, r, url)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("GET %s = %d, want %d", url, got, want)
		}
		return nil
	}
}

// publishAsTheREADMESays runs the README's own ffmpeg publish command, as
// written, inside the namespace: `pulumi stack output` answers what the
// stack's outputs would. Routes make the namespace's processes reach the
// origin from the encoder's address. With rtmps, the command publishes to
// ingestRtmpsUrl instead of ingestUrl, as the README says for RTMPS.
func publishAsTheREADMESays(t *testing.T, r *rehearsal.Rehearsal, rtmps bool) *exec.Cmd {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)\n   (ffmpeg -re .*?)\n   \x60\x60\x60`).FindSubmatch(readme)
	require.NotNil(t, m, "README.md's ffmpeg publish command")
	command := string(m[1])
	info := r.Info()
	output, ingestURL := "ingestUrl", info.Ingest+"/"+info.Stream
	if rtmps {
		require.Contains(t, string(readme), "`ingestRtmpsUrl` in place of `ingestUrl`", "README.md tells how to publish over RTMPS")
		require.NotEmpty(t, info.IngestRTMPS, "the stack takes RTMPS")
		command = strings.ReplaceAll(command, " ingestUrl)", " ingestRtmpsUrl)")
		output, ingestURL = "ingestRtmpsUrl", info.IngestRTMPS+"/"+info.Stream
	}
	script := fmt.Sprintf(`pulumi() { case "$*" in *" %s"*) echo %q;; *" streamKey "*) echo %q;; *) exit 1;; esac; }
exec %s`, output, ingestURL, info.StreamKey, command)
	cmd := r.Network().Command(context.Background(), "sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := os.Create(filepath.Join(t.TempDir(), "ffmpeg.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	require.NoError(t, cmd.Start())
	t.Logf("publishing: %s", command)
	t.Cleanup(func() {
		stopPublisher(cmd)
		if t.Failed() {
			t.Logf("ffmpeg's last words:\n%s", lastLines(stderr.Name(), 20))
		}
	})
	return cmd
}

// stopPublisher stops a publisher; stopping it twice is harmless.
func stopPublisher(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	// KILL: ffmpeg takes minutes to act on TERM while its write to an
	// origin that lost power hangs.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
}

// probe opens a playlist with ffprobe inside the namespace, as a viewer
// would, and returns the first video stream's WIDTHxHEIGHT.
func probe(ctx context.Context, r *rehearsal.Rehearsal, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	out, err := r.Network().Command(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height", "-of", "json", url).Output()
	if err != nil {
		return "", fmt.Errorf("ffprobe %s: %w", url, err)
	}
	var p struct {
		Streams []struct {
			CodecName     string `json:"codec_name"`
			Width, Height int
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) == 0 {
		return "", fmt.Errorf("ffprobe %s: no video stream in %s", url, out)
	}
	if p.Streams[0].CodecName != "h264" {
		return "", fmt.Errorf("ffprobe %s: video is %s, not h264", url, p.Streams[0].CodecName)
	}
	return fmt.Sprintf("%dx%d", p.Streams[0].Width, p.Streams[0].Height), nil
}

// playsAt checks that a playlist plays (ffprobe finds H.264 video) at size.
func playsAt(r *rehearsal.Rehearsal, url, size string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		got, err := probe(ctx, r, url)
		if err != nil {
			return err
		}
		if got != size {
			return fmt.Errorf("%s plays at %s, want %s", url, got, size)
		}
		return nil
	}
}

// wantDropped checks that a TCP connection from `from` to addr gets no
// answer at all: the firewall dropped it.
func wantDropped(t *testing.T, r *rehearsal.Rehearsal, from netip.Addr, addr string, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dropped)
	defer cancel()
	conn, err := r.Network().Dial(ctx, "tcp", addr, from)
	if err == nil {
		conn.Close()
		t.Fatalf("%s: %s reached %s; the firewall must drop it", what, from, addr)
	}
	require.True(t, errors.Is(err, context.DeadlineExceeded) || isTimeout(err), "%s: want a dropped connection (a timeout), got %v", what, err)
}

// wantOpen checks that a TCP connection from `from` to addr is accepted.
func wantOpen(t *testing.T, r *rehearsal.Rehearsal, from netip.Addr, addr string, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := r.Network().Dial(ctx, "tcp", addr, from)
	require.NoError(t, err, "%s: %s to %s", what, from, addr)
	conn.Close()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// machine finds a booted machine's info by name.
func machine(t *testing.T, r *rehearsal.Rehearsal, name string) rehearsal.MachineInfo {
	t.Helper()
	for _, m := range r.Info().Machines {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no machine %s in the rehearsal", name)
	return rehearsal.MachineInfo{}
}

// lastLines returns a log's last n lines, for failure messages.
func lastLines(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
