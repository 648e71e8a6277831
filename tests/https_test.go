package tests

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/lab"
	"github.com/livecdn/livecdn/nginx"
)

// labRoots trusts the lab's throwaway CA, and nothing else.
func labRoots(t *testing.T, info lab.Info) *x509.CertPool {
	t.Helper()
	require.NotEmpty(t, info.CA, "a lab with TLS names its CA")
	pem, err := os.ReadFile(info.CA)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pem), "%s holds no certificate", info.CA)
	return roots
}

// tlsClient speaks exactly one TLS version, HTTP/2 when offered, trusts
// only the lab's CA and does not follow redirects.
func tlsClient(roots *x509.CertPool, version uint16) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: version, MaxVersion: version},
		ForceAttemptHTTP2: true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// get fetches url with client and optional request headers (name, value,
// ...), returning the response with its body read.
func get(t *testing.T, client *http.Client, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	require.NoError(t, err, "GET %s", url)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// TestHTTPSEdge runs one HTTPS edge with two workers and a CORS list, and
// checks what viewers, monitors and other websites get from it.
func TestHTTPSEdge(t *testing.T) {
	const event = "https://event.example.org"
	l := startLab(t, lab.Options{Edges: 1, TLS: true, EdgeWorkers: 2, CORSOrigins: []string{event}})
	info := l.Info()
	edge := info.Edges[0]
	roots := labRoots(t, info)
	require.True(t, strings.HasPrefix(edge.Player, "https://"), edge.Player)

	t.Run("HTTP/2 with TLS 1.2 and 1.3", func(t *testing.T) {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			client := tlsClient(roots, v)
			playlist, err := lab.FetchPlaylist(context.Background(), edge.HLS)
			require.NoError(t, err)
			require.NotEmpty(t, playlist.Segments)
			for _, c := range []struct{ url, contentType, body string }{
				{edge.Player, "text/html", ""},
				{edge.Health, "text/plain", nginx.HealthyBody + "\n"},
				{edge.HLS, "application/vnd.apple.mpegurl", ""},
				{playlist.Segments[len(playlist.Segments)-1], "video/mp2t", ""},
			} {
				resp, body := get(t, client, c.url)
				what := fmt.Sprintf("%s over %s", c.url, tls.VersionName(v))
				require.Equal(t, http.StatusOK, resp.StatusCode, what)
				assert.Equal(t, 2, resp.ProtoMajor, "%s: HTTP/2", what)
				assert.Equal(t, v, resp.TLS.Version, what)
				assert.Contains(t, resp.Header.Get("Content-Type"), c.contentType, what)
				assert.Equal(t, edge.Name, resp.Header.Get(nginx.EdgeHeader), what)
				assert.Equal(t, "max-age=63072000", resp.Header.Get("Strict-Transport-Security"), what)
				if c.body != "" {
					assert.Equal(t, c.body, body, what)
				}
			}
		}
	})

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		host := strings.TrimPrefix(strings.TrimSuffix(edge.Player, "/"), "https://")
		conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
		}
		require.Error(t, err, "an edge must not speak TLS 1.1")
		conn, err = tls.Dial("tcp", host, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
		require.NoError(t, err, "the same dial with TLS 1.2 allowed must succeed")
		conn.Close()
	})

	t.Run("plain HTTP redirects everything but healthz", func(t *testing.T) {
		client := tlsClient(roots, tls.VersionTLS13)
		for _, https := range []string{edge.Player, edge.HLS, edge.Player + "anything?x=1"} {
			plain := edge.HTTP + strings.TrimPrefix(https, strings.TrimSuffix(edge.Player, "/"))
			resp, _ := get(t, client, plain)
			require.Equal(t, http.StatusMovedPermanently, resp.StatusCode, plain)
			assert.Equal(t, https, resp.Header.Get("Location"), plain)
			assert.Empty(t, resp.Header.Get("Strict-Transport-Security"), "HSTS belongs to the HTTPS server only")
		}
		resp, body := get(t, client, edge.HTTP+nginx.HealthPath)
		require.Equal(t, http.StatusOK, resp.StatusCode, "load balancers probe /healthz over plain HTTP")
		assert.Equal(t, nginx.HealthyBody+"\n", body)
		assert.Equal(t, edge.Name, resp.Header.Get(nginx.EdgeHeader))
	})

	t.Run("CORS answers listed origins only", func(t *testing.T) {
		client := tlsClient(roots, tls.VersionTLS13)
		resp, _ := get(t, client, edge.HLS, "Origin", event)
		assert.Equal(t, event, resp.Header.Get("Access-Control-Allow-Origin"))
		assert.Contains(t, resp.Header.Values("Vary"), "Origin")
		resp, _ = get(t, client, edge.HLS, "Origin", "https://elsewhere.example.org")
		assert.Empty(t, resp.Header.Values("Access-Control-Allow-Origin"), "an unlisted origin gets no CORS header")
		assert.Contains(t, resp.Header.Values("Vary"), "Origin")
	})

	t.Run("two workers serve and health follows the stream", func(t *testing.T) {
		require.Equal(t, 2, workerProcesses(t, l.Info().Edges[0].PID))
		client := tlsClient(roots, tls.VersionTLS13)
		// A new connection each time: the workers share the listening
		// socket, so the kernel hands them to either.
		for range 40 {
			resp, _ := get(t, client, edge.HLS)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			client.CloseIdleConnections()
		}
		resp, body := get(t, client, strings.TrimSuffix(edge.Player, "/")+"/stat")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "rtmp_stat would answer from one worker only")
		assert.Contains(t, body, "per worker")

		l.StopSource()
		eventually(t, "edge reports 503 without a stream", wantStatus(edge.Health, 503))
		l.StartSource()
		eventually(t, "edge reports 200 again", wantStatus(edge.Health, 200))
		eventually(t, "edge plays again", playable(edge.HLS))
	})
}

// workerProcesses counts the nginx workers of the master with pid.
func workerProcesses(t *testing.T, pid int) int {
	t.Helper()
	paths, err := filepath.Glob("/proc/[0-9]*/stat")
	require.NoError(t, err)
	n := 0
	for _, p := range paths {
		stat, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != fmt.Sprint(pid) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
		if strings.Contains(string(cmdline), "worker process") {
			n++
		}
	}
	return n
}

// publishFor publishes a test pattern to url for seconds, like publish.
func publishFor(url string, seconds int) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds+30)*time.Second)
	defer cancel()
	return ffmpegPublish(ctx, url, seconds)
}

// TestRTMPSIngest publishes over RTMPS: the same key and the same address
// allow-list as over RTMP decide.
func TestRTMPSIngest(t *testing.T) {
	l := startLab(t, lab.Options{Edges: 1, Source: lab.SourceNone, TLS: true})
	info := l.Info()
	require.True(t, strings.HasPrefix(info.IngestRTMPS, "rtmps://"), info.IngestRTMPS)
	base := info.IngestRTMPS + "/" + info.Stream

	t.Run("right key from an allowed address plays on the edge", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { done <- publishFor(base+"?key="+info.StreamKey, 12) }()
		eventually(t, "the edge plays what came in over RTMPS", playable(info.Edges[0].HLS))
		require.NoError(t, <-done)
	})
	t.Run("wrong key is refused", func(t *testing.T) {
		require.Error(t, publishFor(base+"?key=not-the-key-0123456789", 3))
	})
	t.Run("missing key is refused", func(t *testing.T) {
		require.Error(t, publishFor(base, 3))
	})
}

func TestRTMPSFromUnlistedEncoderIsRefused(t *testing.T) {
	// The encoder runs on 127.0.0.1; only 127.0.0.99 may publish.
	l := startLab(t, lab.Options{Edges: 1, Source: lab.SourceNone, TLS: true, IngestCIDRs: []string{"127.0.0.99/32"}})
	info := l.Info()
	err := publishFor(info.IngestRTMPS+"/"+info.Stream+"?key="+info.StreamKey, 3)
	require.Error(t, err, "the right key over RTMPS from an address outside ingestCidrs must not publish")
}
