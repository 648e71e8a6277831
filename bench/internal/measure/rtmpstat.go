package measure

import (
	"context"
	"fmt"
	"net/http"

	"github.com/livecdn/livecdn/lab"
)

// FetchRTMPStat reads an rtmp_stat page with the benchmark's client and
// parses it as the lab does.
func FetchRTMPStat(ctx context.Context, client *http.Client, url string) (lab.Stat, error) {
	body, err := Get(ctx, client, url)
	if err != nil {
		return lab.Stat{}, fmt.Errorf("rtmp_stat: %w", err)
	}
	return lab.ParseStat(body)
}
