package tests

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/lab"
	"github.com/livecdn/livecdn/nginx"
)

// buildLivecdn compiles the CLI once per test binary.
func buildLivecdn(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "livecdn")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/livecdn").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func TestLabCommandPrintsOneJSONLineAndCleansUp(t *testing.T) {
	t.Parallel()
	require.NoError(t, lab.CheckTools(true))
	bin := buildLivecdn(t)
	hlsjs := filepath.Join(t.TempDir(), "hls.min.js")
	require.NoError(t, os.WriteFile(hlsjs, []byte("// stand-in: this test does not run a browser\n"), 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, lines, stderr := startLabCommand(ctx, t, bin, "--edges", "2", "--source-size", "320x180", "--hlsjs", hlsjs)

	var info lab.Info
	dec := json.NewDecoder(strings.NewReader(lines.Text()))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&info), "the line: %s", lines.Text())
	assert.Regexp(t, `^rtmp://127\.0\.0\.1:\d+/live$`, info.Ingest)
	assert.Equal(t, "lab", info.Stream)
	assert.Regexp(t, `^lab-[0-9a-f]{32}$`, info.StreamKey, "a random key by default")
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+/stat$`, info.OriginStat)
	require.Len(t, info.Edges, 2)
	pids := []int{info.Origin.PID}
	for i, e := range info.Edges {
		assert.Equal(t, []string{"edge-1", "edge-2"}[i], e.Name)
		assert.Regexp(t, `^http://127\.0\.0\.\d+:\d+/hls/lab\.m3u8$`, e.HLS)
		// Printed only once every edge serves a playable playlist.
		require.NoError(t, lab.CheckPlayable(ctx, e.HLS))
		page, err := lab.Get(ctx, e.Player)
		require.NoError(t, err)
		assert.Contains(t, string(page), `src="`+nginx.HLSJSFile+`"`)
		js, err := lab.Get(ctx, e.Player+nginx.HLSJSFile)
		require.NoError(t, err)
		assert.Contains(t, string(js), "stand-in")
		assert.Equal(t, 200, lab.Status(ctx, e.Health))
		// What `livecdn status --lab` reads, served to the lab's admins (loopback).
		assert.Equal(t, e.HTTP+nginx.EdgeStatusPath, e.Status)
		assert.Regexp(t, `^http://127\.0\.0\.\d+:\d+/metrics$`, e.NginxExporter)
		pids = append(pids, e.PID)
	}
	for _, pid := range pids {
		require.Positive(t, pid)
		require.NoError(t, syscall.Kill(pid, 0), "pid %d runs", pid)
	}
	dir := regexp.MustCompile(`ready in (\S+)`).FindStringSubmatch(stderr.String())
	require.Len(t, dir, 2, "stderr names the lab directory:\n%s", stderr.String())
	require.DirExists(t, dir[1])

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.False(t, lines.Scan(), "exactly one line on stdout, got another: %s", lines.Text())
	require.NoError(t, cmd.Wait(), "exit status after SIGTERM; stderr:\n%s", stderr.String())
	for _, pid := range pids {
		assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "pid %d is gone", pid)
	}
	assert.NoDirExists(t, dir[1])
}

// startLabCommand runs `livecdn lab ARGS` and waits for its first line on
// stdout, the JSON Info; lines then reads what follows.
func startLabCommand(ctx context.Context, t *testing.T, bin string, args ...string) (cmd *exec.Cmd, lines *bufio.Scanner, stderr *bytes.Buffer) {
	t.Helper()
	cmd = exec.CommandContext(ctx, bin, append([]string{"lab"}, args...)...)
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	lines = bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "no JSON line on stdout; stderr:\n%s", stderr.String())
	return cmd, lines, stderr
}

// TestLabCommandTLS runs `livecdn lab --tls`: HTTPS edges, an RTMPS ingest
// and the CA to trust them with.
func TestLabCommandTLS(t *testing.T) {
	t.Parallel()
	bin := buildLivecdn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, lines, stderr := startLabCommand(ctx, t, bin, "--tls", "--edges", "1", "--source", "none", "--hlsjs", "")
	var info lab.Info
	require.NoError(t, json.Unmarshal(lines.Bytes(), &info))
	assert.Regexp(t, `^rtmps://127\.0\.0\.1:\d+/live$`, info.IngestRTMPS)
	require.Len(t, info.Edges, 1)
	e := info.Edges[0]
	assert.Regexp(t, `^https://127\.0\.0\.2:\d+/$`, e.Player)
	assert.Regexp(t, `^http://127\.0\.0\.2:\d+$`, e.HTTP)

	// The printed CA is all a client needs to trust the edge.
	resp, body := get(t, tlsClient(labRoots(t, info), tls.VersionTLS13), e.Player)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "<video")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "exit status after SIGTERM; stderr:\n%s", stderr.String())
	assert.Contains(t, stderr.String(), "or over RTMPS to "+info.IngestRTMPS+"/lab?key=")
	assert.Contains(t, stderr.String(), "curl --cacert "+info.CA)
	assert.NoFileExists(t, info.CA, "the lab removes its CA with its directory")
}

// TestLabCommandRecord runs `livecdn lab --record`: its JSON names the
// bucket and a key any S3 client can list it with while the lab runs.
func TestLabCommandRecord(t *testing.T) {
	t.Parallel()
	bin := buildLivecdn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, lines, stderr := startLabCommand(ctx, t, bin, "--record", "--record-chunk", "5s", "--edges", "1",
		"--source-size", "320x180", "--hlsjs", "")
	var raw struct {
		Recordings map[string]string `json:"recordings"`
	}
	require.NoError(t, json.Unmarshal(lines.Bytes(), &raw))
	rec := raw.Recordings
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, rec["endpoint"])
	assert.Equal(t, lab.RecordBucket, rec["bucket"])
	assert.NotEmpty(t, rec["accessKey"])
	assert.NotEmpty(t, rec["secretKey"])
	var info lab.Info
	require.NoError(t, json.Unmarshal(lines.Bytes(), &info))
	eventually(t, "a chunk listed by an S3 client", func(ctx context.Context) error {
		chunks, err := bucketChunks(ctx, info.Recordings)
		if err == nil && len(chunks) == 0 {
			err = errors.New("no chunk yet")
		}
		return err
	})
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "exit status after SIGTERM; stderr:\n%s", stderr.String())
}

func TestLabCommandRejectsBadFlags(t *testing.T) {
	t.Parallel()
	bin := buildLivecdn(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--renditions", "maybe"}, `--renditions: "maybe": use on or off`},
		{[]string{"--source", "webcam"}, `source: "webcam"`},
		{[]string{"--edges", "51"}, "edges: 51: run 1 to 50 edges"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--record", "--record-chunk", "3s"}, "--record-chunk 3s: use whole seconds from 5s to 1h0m0s, e.g. 20s"},
		{[]string{"--record-chunk", "30s"}, "--record-chunk 30s: chunks are cut only with --record; add it"},
	} {
		out, err := exec.Command(bin, append([]string{"lab"}, tc.args...)...).CombinedOutput()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%v: %s", tc.args, out)
		assert.NotZero(t, exit.ExitCode())
		assert.Contains(t, string(out), tc.want, tc.args)
	}
}
