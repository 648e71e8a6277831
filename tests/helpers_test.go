// Package tests holds livecdn's end-to-end tests: real nginx-rtmp and ffmpeg,
// on loopback only, through the lab.
package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/lab"
)

// healTimeout bounds how long a test waits for something to recover. It is a
// deadline against hangs, not a performance claim: docs/BENCHMARKS.md has
// the measured figures.
const healTimeout = 45 * time.Second

// startLab runs a lab for the test and stops it at cleanup. Sources are
// small so several labs fit on a 2-core machine.
func startLab(t *testing.T, opts lab.Options) *lab.Lab {
	t.Helper()
	require.NoError(t, lab.CheckTools(true))
	if opts.SourceSize == "" {
		opts.SourceSize = "640x360"
	}
	opts.Log = testLog{t}
	l, err := lab.Start(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	return l
}

// testLog sends the supervisor's messages to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// eventually polls check until it succeeds or healTimeout passes.
func eventually(t *testing.T, what string, check func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), healTimeout)
	defer cancel()
	began := time.Now()
	var last error
	for {
		if last = check(ctx); last == nil {
			t.Logf("%s: after %v", what, time.Since(began).Round(10*time.Millisecond))
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %v: %v", what, healTimeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// fetchAs GETs url with a user agent, as a particular player would.
func fetchAs(ctx context.Context, url, agent string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", agent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

func wantStatus(url string, want int) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if got := lab.Status(ctx, url); got != want {
			return fmt.Errorf("GET %s = %d, want %d", url, got, want)
		}
		return nil
	}
}

// probedStream is what ffprobe reports of one elementary stream.
type probedStream struct {
	CodecType string `json:"codec_type"`
	CodecName string `json:"codec_name"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
}

// ffprobe opens a playlist as a player would and lists its streams.
func ffprobe(t *testing.T, url string) []probedStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error",
		"-show_entries", "stream=codec_type,codec_name,width,height", "-of", "json", url).Output()
	require.NoError(t, err, "ffprobe %s", url)
	var probe struct {
		Streams []probedStream `json:"streams"`
	}
	require.NoError(t, json.Unmarshal(out, &probe))
	return probe.Streams
}

// videoSize is the resolution of the first video stream ffprobe finds.
func videoSize(t *testing.T, url string) string {
	t.Helper()
	for _, s := range ffprobe(t, url) {
		if s.CodecType == "video" {
			require.Equal(t, "h264", s.CodecName)
			return fmt.Sprintf("%dx%d", s.Width, s.Height)
		}
	}
	t.Fatalf("%s: no video stream", url)
	return ""
}

// viewers fetches playlists and their newest segments from every edge as
// n concurrent players would, each with its own user agent, until stop is
// closed. It returns how many rounds succeeded and failed.
func viewers(urls []string, n int, stop <-chan struct{}) (ok, failed func() int) {
	var mu sync.Mutex
	var good, bad int
	for i := range n {
		url := urls[i%len(urls)]
		agent := fmt.Sprintf("livecdn-test-viewer/%d", i)
		go func() {
			ctx := context.Background()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := fetchAs(ctx, url, agent)
				if err == nil {
					err = lab.CheckPlayable(ctx, url)
				}
				mu.Lock()
				if err == nil {
					good++
				} else {
					bad++
				}
				mu.Unlock()
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
	}
	count := func(p *int) func() int {
		return func() int { mu.Lock(); defer mu.Unlock(); return *p }
	}
	return count(&good), count(&bad)
}
