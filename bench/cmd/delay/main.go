// Command delay measures the live delay at the edges: how long after the
// encoder sent a frame the edge lists the segment holding it.
//
// Method. The encoder is ffmpeg with -re (the source is paced at real time)
// and -progress, whose reports pair a wall-clock reading with the newest
// stream timestamp muxed; the earliest (wall - stream time) seen is the
// encoder's clock epoch, so a frame with stream time t was sent at epoch+t.
// nginx-rtmp names each segment after the RTMP timestamp of its first frame
// (hls_fragment_naming timestamp; the number is in 90 kHz units, the same
// timeline as the encoder's FLV timestamps, carried unchanged through the
// origin's relay). Every edge playlist is polled every 25 ms and the first
// response listing a segment gives the time it became available. Then, for
// each segment [S, next segment's S):
//
//   - oldest-frame delay = listed - sent(S): the worst any frame waits, and
//     what a player starting at the live edge is behind by at least;
//   - newest-frame delay = listed - sent(next S): the pipeline's own latency
//     (encoder -> origin -> relay -> edge muxer -> playlist -> HTTP).
//
// Uncertainty: the poll interval (the listing is seen up to 25 ms late plus
// one request), and ffmpeg shifting FLV timestamps by the AAC priming delay
// (about 21 ms) relative to its progress clock.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/livecdn/livecdn/bench/internal/measure"
	"github.com/livecdn/livecdn/lab"
)

const pollEvery = 25 * time.Millisecond

type options struct {
	edges    int
	duration time.Duration
	size     string
	summary  string
	command  string
}

// sighting is when a segment was first seen listed, and how precisely: it
// appeared somewhere in the window before seen.
type sighting struct {
	name   string
	stream time.Duration // stream time of its first frame
	seen   time.Time
	window time.Duration
}

func main() {
	measure.Main("delay", run)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("delay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.edges, "edges", 2, "edges in the lab")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long to publish and watch")
	fs.StringVar(&o.size, "size", "1280x720", "test pattern frame size")
	fs.StringVar(&o.summary, "summary", "", "append the summary rows to this file (used by bench/run.sh)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.edges < 1 || o.duration < 8*time.Second {
		return errors.New("-edges must be at least 1 and -duration at least 8s")
	}
	o.command = measure.Command(fs, "summary")
	if err := lab.CheckTools(true); err != nil {
		return err
	}

	l, err := lab.Start(ctx, lab.Options{Edges: o.edges, Source: lab.SourceNone, ReadyTimeout: 30 * time.Second})
	if err != nil {
		return err
	}
	defer l.Close()
	info := l.Info()
	fmt.Fprintf(stderr, "delay: publishing for %s\n", o.duration)
	pub, err := measure.StartPublisher(fmt.Sprintf("%s/%s?key=%s", info.Ingest, info.Stream, info.StreamKey),
		measure.PublisherOptions{Size: o.size, FragmentSeconds: l.Stream().FragmentSeconds, Log: stderr})
	if err != nil {
		return err
	}
	defer pub.Stop()

	wctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	sightings := make([][]sighting, len(info.Edges))
	var wg sync.WaitGroup
	for i, e := range info.Edges {
		wg.Go(func() { sightings[i] = watch(wctx, e.HLS) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if exited, why := pub.Exited(); exited {
		return fmt.Errorf("encoder stopped early: %w", why)
	}
	if pub.Reports() < 10 {
		return fmt.Errorf("ffmpeg sent only %d progress reports: cannot anchor its clock", pub.Reports())
	}
	return report(stdout, o, info, pub, sightings)
}

// watch polls a media playlist until ctx ends and records when each segment
// first appears in it. Segments already listed in the first playlist seen
// (or seen after a long gap between polls) are kept with their wide window
// and filtered out later.
func watch(ctx context.Context, playlist string) []sighting {
	var out []sighting
	known := map[string]bool{}
	var prevSent time.Time
	for ctx.Err() == nil {
		sent := time.Now()
		p, err := lab.FetchPlaylist(ctx, playlist)
		got := time.Now()
		if err == nil {
			for _, name := range p.Names {
				if known[name] {
					continue
				}
				known[name] = true
				t, ok := measure.SegmentStreamTime(name)
				if !ok {
					continue
				}
				window := time.Duration(1<<63 - 1)
				if !prevSent.IsZero() {
					window = got.Sub(prevSent)
				}
				out = append(out, sighting{name: name, stream: t, seen: got, window: window})
			}
		}
		// A failed poll (404 before the first playlist) still tells us the
		// segment was not listed yet.
		if err == nil || strings.Contains(err.Error(), "404") {
			prevSent = sent
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollEvery):
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].stream < out[j].stream })
	return out
}

// maxWindow is the widest appearance window a sighting may have to count.
const maxWindow = 250 * time.Millisecond

func report(w io.Writer, o options, info lab.Info, pub *measure.Publisher, sightings [][]sighting) error {
	fmt.Fprintln(w, "### Live delay at the edge")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "One lab (%d edges), the lab's ffmpeg test pattern (%s, 2 s GOP, -re) published for %s. Sent time of stream time t = ffmpeg's clock epoch (from -progress) + t; listed time = first 25 ms playlist poll that lists the segment; segment stream times from the timestamp names (90 kHz). Oldest frame = a segment's first frame, newest = its last (the next segment's start). Precision about +-50 ms.\n\n",
		o.edges, o.size, o.duration)
	var allOldest, allNewest []float64
	var rows [][]string
	negative := 0
	for i, segs := range sightings {
		var oldest, newest []float64
		for j, s := range segs {
			if s.window > maxWindow || j+1 >= len(segs) {
				continue // seen late, or its end is unknown
			}
			start, _ := pub.SentAt(s.stream)
			end, _ := pub.SentAt(segs[j+1].stream)
			oldest = append(oldest, s.seen.Sub(start).Seconds())
			newest = append(newest, s.seen.Sub(end).Seconds())
			if s.seen.Before(end) {
				negative++
			}
		}
		if len(oldest) == 0 {
			return fmt.Errorf("%s: no segment seen appearing; lengthen -duration", info.Edges[i].Name)
		}
		allOldest = append(allOldest, oldest...)
		allNewest = append(allNewest, newest...)
		rows = append(rows, []string{info.Edges[i].Name, fmt.Sprint(len(oldest)),
			fmt.Sprintf("%s / %s", measure.Seconds(measure.Median(newest)), measure.Seconds(measure.Max(newest))),
			fmt.Sprintf("%s / %s", measure.Seconds(measure.Median(oldest)), measure.Seconds(measure.Max(oldest))),
		})
	}
	measure.Table(w, []string{"edge", "segments", "newest frame: median / max", "oldest frame: median / max"}, rows)
	fmt.Fprintln(w)
	if negative > 0 {
		fmt.Fprintf(w, "WARNING: %d segments were listed before their last frame was sent: the clock anchoring is off and these figures are not trustworthy.\n\n", negative)
	}
	measured := fmt.Sprintf("oldest frame median %s (max %s); newest frame median %s (max %s); %d segments",
		measure.Seconds(measure.Median(allOldest)), measure.Seconds(measure.Max(allOldest)),
		measure.Seconds(measure.Median(allNewest)), measure.Seconds(measure.Max(allNewest)), len(allOldest))
	fmt.Fprintf(w, "All edges: %s.\n\n", measured)
	fmt.Fprintf(w, "Command: `%s`\n\n", o.command)
	return measure.AppendSummary(o.summary, measure.Row{
		Metric:   "live delay, encoder to edge playlist",
		Goal:     "none in the issue (report)",
		Measured: measured,
		Result:   measure.NoGoal,
		Command:  o.command,
	})
}
