// Command startup measures how long viewers wait after the encoder starts:
// from the moment the encoder process starts publishing to the origin until
// each edge serves a playable playlist (it lists a segment and that segment
// downloads), over several cold runs.
//
// Every run starts a fresh lab with no source, so the edges' static pulls are
// already retrying (every pull_reconnect) as they would be on the droplets
// before the convention's encoder goes live; then this program starts the
// same ffmpeg test pattern the lab uses and polls the origin's rtmp_stat and
// every edge's playlist every 25 ms.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/livecdn/livecdn/bench/internal/measure"
	"github.com/livecdn/livecdn/lab"
	"github.com/livecdn/livecdn/nginx"
)

const pollEvery = 25 * time.Millisecond

type options struct {
	runs, edges int
	size        string
	timeout     time.Duration
	summary     string
	command     string
}

// runResult is one cold start: how long after the encoder started the
// origin accepted the publish and each edge became playable.
type runResult struct {
	origin time.Duration
	edges  []time.Duration
	// firstSegment is the stream time at which each edge's first segment
	// starts: how much of the stream the edge missed while its pull joined.
	firstSegment []time.Duration
}

func (r runResult) slowest() time.Duration {
	var m time.Duration
	for _, e := range r.edges {
		m = max(m, e)
	}
	return m
}

func main() {
	measure.Main("startup", run)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.runs, "runs", 5, "cold starts to measure")
	fs.IntVar(&o.edges, "edges", 2, "edges per lab")
	fs.StringVar(&o.size, "size", "1280x720", "test pattern frame size")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up on a run after this long")
	fs.StringVar(&o.summary, "summary", "", "append the summary rows to this file (used by bench/run.sh)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.runs < 1 || o.edges < 1 {
		return errors.New("-runs and -edges must be at least 1")
	}
	o.command = measure.Command(fs, "summary")
	if err := lab.CheckTools(true); err != nil {
		return err
	}

	var results []runResult
	var fragment int
	for i := range o.runs {
		fmt.Fprintf(stderr, "startup: run %d of %d\n", i+1, o.runs)
		r, frag, err := coldStart(ctx, o, stderr)
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		fragment = frag
		results = append(results, r)
	}
	return report(stdout, o, fragment, results)
}

// coldStart runs one lab from scratch and times the first publish.
func coldStart(ctx context.Context, o options, stderr io.Writer) (runResult, int, error) {
	l, err := lab.Start(ctx, lab.Options{Edges: o.edges, Source: lab.SourceNone, ReadyTimeout: o.timeout})
	if err != nil {
		return runResult{}, 0, err
	}
	defer l.Close()
	info := l.Info()
	frag := l.Stream().FragmentSeconds

	rctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	res := runResult{edges: make([]time.Duration, len(info.Edges)), firstSegment: make([]time.Duration, len(info.Edges))}

	start := time.Now()
	pub, err := measure.StartPublisher(fmt.Sprintf("%s/%s?key=%s", info.Ingest, info.Stream, info.StreamKey),
		measure.PublisherOptions{Size: o.size, FragmentSeconds: frag, Log: stderr})
	if err != nil {
		return runResult{}, 0, err
	}
	defer pub.Stop()

	var wg sync.WaitGroup
	errs := make([]error, len(info.Edges)+1)
	wg.Go(func() {
		res.origin, errs[0] = waitFor(rctx, start, pub, func() error {
			st, err := measure.FetchRTMPStat(rctx, client, info.OriginStat)
			if err != nil {
				return err
			}
			if st.Publishers(nginx.IngestApp, info.Stream) != 1 {
				return errors.New("origin: no publisher yet")
			}
			return nil
		})
	})
	for i, e := range info.Edges {
		wg.Go(func() {
			res.edges[i], errs[i+1] = waitFor(rctx, start, pub, func() error { return lab.CheckPlayable(rctx, e.HLS) })
			if errs[i+1] != nil {
				errs[i+1] = fmt.Errorf("%s: %w", e.Name, errs[i+1])
				return
			}
			res.firstSegment[i] = -1
			if p, err := lab.FetchPlaylist(rctx, e.HLS); err == nil && len(p.Names) > 0 {
				if t, ok := measure.SegmentStreamTime(p.Names[0]); ok {
					res.firstSegment[i] = t
				}
			}
		})
	}
	wg.Wait()
	return res, frag, errors.Join(errs...)
}

// waitFor polls probe until it succeeds and returns the time since start.
func waitFor(ctx context.Context, start time.Time, pub *measure.Publisher, probe func() error) (time.Duration, error) {
	for {
		err := probe()
		if err == nil {
			return time.Since(start), nil
		}
		if exited, why := pub.Exited(); exited {
			return 0, fmt.Errorf("encoder stopped: %w", why)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("not ready after %s (last: %v)", time.Since(start).Round(time.Millisecond), err)
		case <-time.After(pollEvery):
		}
	}
}

func report(w io.Writer, o options, fragment int, results []runResult) error {
	goal := time.Duration(2*fragment+1) * time.Second
	fmt.Fprintln(w, "### Publish to first playable edge playlist")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Fresh lab per run (%d edges, static pulls already retrying), then the lab's ffmpeg test pattern (%s, 2 s GOP) starts at t=0; the origin's rtmp_stat and each edge's playlist are polled every %s. Playable = the playlist lists a segment and the newest one downloads (lab.CheckPlayable). Fragment %d s, goal <= 2 x fragment + 1 s = %s.\n\n",
		o.edges, o.size, pollEvery, fragment, goal)
	header := []string{"run", "origin accepts publish"}
	for i := range o.edges {
		header = append(header, fmt.Sprintf("edge-%d playable", i+1))
	}
	header = append(header, "slowest edge", "first segment starts at (stream time)")
	var rows [][]string
	var slowest, origin []float64
	for i, r := range results {
		row := []string{fmt.Sprint(i + 1), measure.Seconds(r.origin.Seconds())}
		for _, e := range r.edges {
			row = append(row, measure.Seconds(e.Seconds()))
		}
		var firsts []string
		for _, t := range r.firstSegment {
			firsts = append(firsts, measure.Seconds(t.Seconds()))
		}
		row = append(row, measure.Seconds(r.slowest().Seconds()), strings.Join(firsts, ", "))
		rows = append(rows, row)
		slowest = append(slowest, r.slowest().Seconds())
		origin = append(origin, r.origin.Seconds())
	}
	measure.Table(w, header, rows)
	fmt.Fprintln(w)
	worst := measure.Max(slowest)
	pass := worst <= goal.Seconds()
	measured := fmt.Sprintf("median %s, worst %s (slowest edge; %d runs)", measure.Seconds(measure.Median(slowest)), measure.Seconds(worst), len(results))
	fmt.Fprintf(w, "Encoder start to origin accepting the publish: median %s. Encoder start to every edge playable: %s. Result: %s.\n\n",
		measure.Seconds(measure.Median(origin)), measured, measure.Verdict(pass))
	fmt.Fprintf(w, "Command: `%s`\n\n", o.command)
	return measure.AppendSummary(o.summary, measure.Row{
		Metric:   "publish to first playable edge playlist",
		Goal:     fmt.Sprintf("<= 2 x fragment + 1 s = %s", measure.Seconds(goal.Seconds())),
		Measured: measured,
		Result:   measure.Verdict(pass),
		Command:  o.command,
	})
}
