package lab

import (
	"context"
	"fmt"

	"github.com/livecdn/livecdn/nginx"
)

// Stat is nginx-rtmp's rtmp_stat page as nginx.RTMPStat reads it: who
// publishes and who plays each stream. Edges appear as players; HLS viewers
// never appear, which is the point.
type Stat = nginx.RTMPStat

// FetchStat reads an rtmp_stat page.
func FetchStat(ctx context.Context, statURL string) (Stat, error) {
	body, err := Get(ctx, statURL)
	if err != nil {
		return Stat{}, err
	}
	s, err := ParseStat(body)
	if err != nil {
		return Stat{}, fmt.Errorf("%s: %w", statURL, err)
	}
	return s, nil
}

// ParseStat parses an rtmp_stat page.
func ParseStat(body []byte) (Stat, error) { return nginx.ParseRTMPStat(body) }
