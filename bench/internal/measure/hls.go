package measure

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/livecdn/livecdn/lab"
)

// NewHTTPClient is a client that keeps up to conns idle connections per
// host, so that many simulated viewers each keep their own connection as
// browsers do, instead of reconnecting for every request.
func NewHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns * 4,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
	}
}

// FetchPlaylist GETs a playlist with the benchmark's client (its own
// connection pool) and parses it as the lab does; any status but 200 is an
// error.
func FetchPlaylist(ctx context.Context, client *http.Client, rawURL string) (lab.Playlist, error) {
	body, err := Get(ctx, client, rawURL)
	if err != nil {
		return lab.Playlist{}, err
	}
	return lab.ParsePlaylist(rawURL, body)
}

// Get fetches a body; any status but 200 is an error.
func Get(ctx context.Context, client *http.Client, rawURL string) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := fetch(ctx, client, rawURL, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Download fetches a body and discards it, returning its size.
func Download(ctx context.Context, client *http.Client, rawURL string) (int64, error) {
	return fetch(ctx, client, rawURL, io.Discard)
}

func fetch(ctx context.Context, client *http.Client, rawURL string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("GET %s: %s", rawURL, resp.Status)
	}
	return n, nil
}

// SegmentStreamTime reads the stream time of a segment's first frame from a
// name like lab-1081890.ts, as nginx-rtmp writes it with
// hls_fragment_naming timestamp: the RTMP timestamp in 90 kHz units.
func SegmentStreamTime(name string) (time.Duration, bool) {
	name = strings.TrimSuffix(name, ".ts")
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return 0, false
	}
	ticks, err := strconv.ParseInt(name[i+1:], 10, 64)
	if err != nil || ticks < 0 {
		return 0, false
	}
	return time.Duration(ticks) * time.Second / 90000, true
}
