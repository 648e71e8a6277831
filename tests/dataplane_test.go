package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/lab"
	"github.com/livecdn/livecdn/nginx"
)

// publish runs ffmpeg publishing a short test pattern to url and reports
// whether the origin accepted it: ffmpeg exits non-zero when nginx-rtmp
// refuses the publish or drops it.
func publish(t *testing.T, url string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return ffmpegPublish(ctx, url, 3)
}

// ffmpegPublish publishes seconds of a test pattern to url (rtmp:// or
// rtmps://, whose certificate ffmpeg does not check).
func ffmpegPublish(ctx context.Context, url string, seconds int) error {
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-f", "flv", url).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func TestPublishNeedsKeyAndAllowedEncoder(t *testing.T) {
	t.Parallel()
	l := startLab(t, lab.Options{Edges: 1, Source: lab.SourceNone})
	info := l.Info()
	base := info.Ingest + "/" + info.Stream

	t.Run("right key publishes and reaches the edge", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { done <- publish(t, base+"?key="+info.StreamKey) }()
		eventually(t, "origin lists the publisher", func(ctx context.Context) error {
			stat, err := lab.FetchStat(ctx, info.OriginStat)
			if err != nil {
				return err
			}
			if !stat.Publishing(nginx.IngestApp, info.Stream) {
				return fmt.Errorf("%s/%s is not publishing", nginx.IngestApp, info.Stream)
			}
			return nil
		})
		require.NoError(t, <-done)
	})
	t.Run("wrong key is refused", func(t *testing.T) {
		require.Error(t, publish(t, base+"?key=not-the-key-0123456789"))
	})
	t.Run("missing key is refused", func(t *testing.T) {
		require.Error(t, publish(t, base))
	})
}

func TestPublishFromUnlistedEncoderIsRefused(t *testing.T) {
	t.Parallel()
	// The encoder runs on 127.0.0.1; only 127.0.0.99 may publish.
	l := startLab(t, lab.Options{Edges: 1, Source: lab.SourceNone, IngestCIDRs: []string{"127.0.0.99/32"}})
	info := l.Info()
	err := publish(t, info.Ingest+"/"+info.Stream+"?key="+info.StreamKey)
	require.Error(t, err, "the right key from an address outside ingestCidrs must not publish")
}

// TestSingleQuality exercises a two-edge CDN without a ladder: playback,
// fan-out, aligned segments, health and self-healing. Subtests share one lab
// and run in order.
func TestSingleQuality(t *testing.T) {
	l := startLab(t, lab.Options{Edges: 2})
	info := l.Info()
	hls := func() []string {
		var urls []string
		for _, e := range info.Edges {
			urls = append(urls, e.HLS)
		}
		return urls
	}()

	t.Run("every edge plays the source resolution", func(t *testing.T) {
		for _, e := range info.Edges {
			assert.Equal(t, "640x360", videoSize(t, e.HLS), e.Name)
			codecs := []string{}
			for _, s := range ffprobe(t, e.HLS) {
				codecs = append(codecs, s.CodecName)
			}
			assert.ElementsMatch(t, []string{"h264", "aac"}, codecs, e.Name)
		}
	})

	t.Run("edges cut identical segment names", func(t *testing.T) {
		eventually(t, "both edges list the same segments", func(ctx context.Context) error {
			a, err := lab.FetchPlaylist(ctx, info.Edges[0].HLS)
			if err != nil {
				return err
			}
			b, err := lab.FetchPlaylist(ctx, info.Edges[1].HLS)
			if err != nil {
				return err
			}
			return sameSegments(a.Names, b.Names)
		})
	})

	t.Run("many viewers, one relay per edge", func(t *testing.T) {
		stop := make(chan struct{})
		ok, failed := viewers(hls, 100, stop)
		defer close(stop)
		ctx := context.Background()
		for range 10 {
			time.Sleep(500 * time.Millisecond)
			stat, err := lab.FetchStat(ctx, info.OriginStat)
			require.NoError(t, err)
			require.Equal(t, len(info.Edges), stat.Players(nginx.IngestApp, info.Stream),
				"origin play sessions with 100 HLS viewers")
		}
		require.Positive(t, ok(), "viewers fetched playlists and segments")
		require.Zero(t, failed(), "viewer fetches that failed")

		// The edges' access logs (flushed every 5 s) count every viewer: the
		// 100 players, and the lab's readiness probe on each edge.
		want := 100 + len(info.Edges)
		eventually(t, "access logs count every viewer", func(context.Context) error {
			total := 0
			for _, e := range info.Edges {
				f, err := os.Open(filepath.Join(l.Dir(), e.Name, "log", "access.log"))
				if err != nil {
					return err
				}
				count, err := nginx.CountViewers(f, time.Now().Add(-time.Minute))
				f.Close()
				if err != nil {
					return err
				}
				if count.Malformed > 0 {
					return fmt.Errorf("%s: %d malformed log lines", e.Name, count.Malformed)
				}
				total += count.Viewers
			}
			if total != want {
				return fmt.Errorf("counted %d viewers, want %d", total, want)
			}
			return nil
		})
	})

	t.Run("health follows the stream", func(t *testing.T) {
		l.StopSource()
		for _, e := range info.Edges {
			eventually(t, e.Name+" reports 503 without a stream", wantStatus(e.Health, 503))
		}
		// The pulls retry every second while the origin has no stream; no
		// retry may make an edge look healthy. Sample past several retries
		// and past hls_cleanup's first chance to remove the old playlist.
		ctx := context.Background()
		for range 40 {
			for _, e := range info.Edges {
				require.Equal(t, 503, lab.Status(ctx, e.Health), "%s while the encoder is off", e.Name)
			}
			time.Sleep(200 * time.Millisecond)
		}
		l.StartSource()
		for _, e := range info.Edges {
			eventually(t, e.Name+" reports 200 again", wantStatus(e.Health, 200))
			eventually(t, e.Name+" plays again", playable(e.HLS))
		}
	})

	t.Run("a killed edge restarts and the other keeps serving", func(t *testing.T) {
		before := l.Info().Edges[0].PID
		require.NoError(t, l.KillEdge(0))
		// The survivor serves fresh media while the first edge is down.
		eventually(t, "edge-2 serves new segments", newSegments(info.Edges[1].HLS))
		eventually(t, "edge-1 is back", func(ctx context.Context) error {
			if pid := l.Info().Edges[0].PID; pid == 0 || pid == before {
				return fmt.Errorf("edge-1 pid %d (was %d)", pid, before)
			}
			return wantStatus(info.Edges[0].Health, 200)(ctx)
		})
		eventually(t, "edge-1 plays again", playable(info.Edges[0].HLS))
	})

	t.Run("a killed origin heals", func(t *testing.T) {
		require.NoError(t, l.KillOrigin())
		for _, e := range info.Edges {
			eventually(t, e.Name+" serves new segments after the origin restart", newSegments(e.HLS))
		}
		eventually(t, "origin has one relay per edge again", relays(info.OriginStat, nginx.IngestApp, info.Stream, len(info.Edges)))
	})

	t.Run("a killed encoder heals", func(t *testing.T) {
		require.NoError(t, l.KillSource())
		for _, e := range info.Edges {
			eventually(t, e.Name+" serves new segments after the encoder restart", newSegments(e.HLS))
		}
	})
}

// TestRenditions runs the ABR ladder: the origin transcodes, each edge pulls
// each rendition once and serves a master playlist.
func TestRenditions(t *testing.T) {
	l := startLab(t, lab.Options{Edges: 2, Renditions: true})
	info := l.Info()
	stream := l.Stream()

	for _, e := range info.Edges {
		ctx := context.Background()
		master, err := lab.FetchPlaylist(ctx, e.HLS)
		require.NoError(t, err)
		require.Len(t, master.Variants, len(stream.Renditions), "%s master playlist", e.Name)
		var sizes []string
		for _, v := range master.Variants {
			sizes = append(sizes, videoSize(t, v))
		}
		assert.Equal(t, []string{"640x360", "426x240"}, sizes, e.Name)
	}

	stat, err := lab.FetchStat(context.Background(), info.OriginStat)
	require.NoError(t, err)
	for _, r := range stream.Renditions {
		name := stream.StreamName(r)
		assert.True(t, stat.Publishing(nginx.LadderApp, name), "transcoder publishes %s", name)
		assert.Equal(t, len(info.Edges), stat.Players(nginx.LadderApp, name), "relays of %s", name)
	}
	assert.Equal(t, 1, stat.Players(nginx.IngestApp, stream.Name), "only the transcoder plays the source")
}

// sameSegments checks that two edges name the media they both list alike:
// every segment of one that falls inside the other's window is in it too.
func sameSegments(a, b []string) error {
	if len(a) < 3 || len(b) < 3 {
		return fmt.Errorf("too few segments yet: %d and %d", len(a), len(b))
	}
	ta, tb := timestamps(a), timestamps(b)
	if ta == nil || tb == nil {
		return fmt.Errorf("segment names are not timestamps: %v %v", a, b)
	}
	lo, hi := max(ta[0], tb[0]), min(ta[len(ta)-1], tb[len(tb)-1])
	common := 0
	for _, ts := range ta {
		if ts < lo || ts > hi {
			continue
		}
		if !slices.Contains(tb, ts) {
			return fmt.Errorf("segment at tick %d is on one edge only: %v vs %v", ts, a, b)
		}
		common++
	}
	if common < 2 {
		return fmt.Errorf("only %d segments in common: %v vs %v", common, a, b)
	}
	return nil
}

// timestamps parses "lab-180450.ts" names into their stream timestamps
// (MPEG-TS 90 kHz ticks with hls_fragment_naming timestamp).
func timestamps(names []string) []int64 {
	out := make([]int64, 0, len(names))
	for _, n := range names {
		i := strings.LastIndex(n, "-")
		ts, err := strconv.ParseInt(strings.TrimSuffix(n[i+1:], ".ts"), 10, 64)
		if i < 0 || err != nil {
			return nil
		}
		out = append(out, ts)
	}
	return out
}

func playable(url string) func(ctx context.Context) error {
	return func(ctx context.Context) error { return lab.CheckPlayable(ctx, url) }
}

// newSegments succeeds once the playlist has added two segments since the
// first look and the newest downloads: media is flowing again. One is not
// enough, because a dropped relay makes nginx-rtmp close its open fragment.
func newSegments(url string) func(ctx context.Context) error {
	var ends []string
	return func(ctx context.Context) error {
		p, err := lab.FetchPlaylist(ctx, url)
		if err != nil {
			return err
		}
		if end := p.End(); end != "" && (len(ends) == 0 || ends[len(ends)-1] != end) {
			ends = append(ends, end)
		}
		if len(ends) < 3 {
			return fmt.Errorf("playlist ends seen so far: %v", ends)
		}
		_, err = lab.Get(ctx, p.Segments[len(p.Segments)-1])
		return err
	}
}

func relays(statURL, app, stream string, want int) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		stat, err := lab.FetchStat(ctx, statURL)
		if err != nil {
			return err
		}
		if got := stat.Players(app, stream); got != want {
			return fmt.Errorf("%s/%s has %d players, want %d", app, stream, got, want)
		}
		return nil
	}
}
