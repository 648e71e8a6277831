package nginx

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCountViewers(t *testing.T) {
	log := strings.Join([]string{
		`203.0.113.7 [2026-11-25T03:59:00+00:00] "GET /hls/show.m3u8" 200 300 0.000 "Old Browser"`,
		`203.0.113.7 [2026-11-25T04:00:00+00:00] "GET /hls/show.m3u8" 200 300 0.000 "Mozilla/5.0 (X11; Linux x86_64)"`,
		`203.0.113.7 [2026-11-25T04:00:02+00:00] "GET /hls/show.m3u8" 200 300 0.000 "Mozilla/5.0 (X11; Linux x86_64)"`,
		`203.0.113.7 [2026-11-25T04:00:02+00:00] "GET /hls/show-180000.ts" 200 250000 0.002 "Mozilla/5.0 (X11; Linux x86_64)"`,
		`203.0.113.7 [2026-11-25T04:00:03+00:00] "GET /hls/show.m3u8" 200 300 0.000 "VLC/3.0"`,
		`198.51.100.2 [2026-11-25T04:00:04+00:00] "GET /hls/show_720p.m3u8" 200 300 0.000 "Safari \x22quoted\x22"`,
		`198.51.100.3 [2026-11-25T04:00:04+00:00] "GET /hls/show.m3u8" 404 0 0.000 "curl/8"`,
		`garbage`,
	}, "\n")
	since := time.Date(2026, 11, 25, 4, 0, 0, 0, time.UTC)
	got, err := CountViewers(strings.NewReader(log), since)
	require.NoError(t, err)
	require.Equal(t, ViewerCount{Viewers: 3, Requests: 6, Malformed: 1}, got)
}

// The parser must follow the log_format the edge template declares.
func TestAccessLogFormatMatchesTheEdgeConfig(t *testing.T) {
	conf, err := RenderEdgeConf(exampleEdge("ams3-1"))
	require.NoError(t, err)
	require.Contains(t, conf, `log_format livecdn_viewers '$remote_addr [$time_iso8601] "$request_method $uri" $status $body_bytes_sent $request_time "$http_user_agent"';`)
}
