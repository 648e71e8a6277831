// Command sessions checks that viewers never reach the origin: with 0, 50,
// 200 and 500 concurrent HLS viewers on the edges, the origin's rtmp_stat
// must show exactly one relay session per edge and rendition, each edge must
// show exactly one pull per rendition, and the origin must accept no new RTMP
// connection while the viewers come and go.
//
// A viewer behaves like hls.js: it opens the master playlist once, picks a
// variant, downloads the newest three segments and then every new one, and
// reloads the playlist after a target duration (half that when nothing
// changed). Each load level lasts a fixed time and every viewer is bounded in
// requests; rtmp_stat is sampled every 500 ms meanwhile.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livecdn/livecdn/bench/internal/measure"
	"github.com/livecdn/livecdn/lab"
	"github.com/livecdn/livecdn/nginx"
)

const (
	sampleEvery = 500 * time.Millisecond
	// maxRequests bounds each viewer, whatever the level's duration.
	maxRequests = 1000
)

type options struct {
	edges      int
	viewers    []int
	level      time.Duration
	renditions bool
	summary    string
	command    string
}

// levelResult is what one load level did and what rtmp_stat showed.
type levelResult struct {
	viewers  int
	requests int64
	errors   int64
	bytes    int64
	elapsed  time.Duration
	samples  int
	// originMin/Max are the fewest and most relay sessions seen on the
	// origin for any one rendition; edgeMin/Max the same for pulls on any
	// one edge.
	originMin, originMax int
	edgeMin, edgeMax     int
	newConns             int
	firstErr             error
}

func main() {
	measure.Main("sessions", run)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("sessions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	levels := fs.String("viewers", "0,50,200,500", "comma-separated concurrent viewer counts, one load level each")
	fs.IntVar(&o.edges, "edges", 2, "edges in the lab")
	fs.DurationVar(&o.level, "level", 5*time.Second, "duration of each load level")
	fs.BoolVar(&o.renditions, "renditions", true, "run the origin's ABR ladder (edges pull one stream per rendition)")
	fs.StringVar(&o.summary, "summary", "", "append the summary rows to this file (used by bench/run.sh)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, f := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 2000 {
			return fmt.Errorf("-viewers: %q: use counts from 0 to 2000", f)
		}
		o.viewers = append(o.viewers, n)
	}
	if o.edges < 1 || o.level < 2*time.Second {
		return errors.New("-edges must be at least 1 and -level at least 2s")
	}
	o.command = measure.Command(fs, "summary")
	if err := lab.CheckTools(true); err != nil {
		return err
	}

	l, err := lab.Start(ctx, lab.Options{Edges: o.edges, Renditions: o.renditions, ReadyTimeout: 60 * time.Second})
	if err != nil {
		return err
	}
	defer l.Close()
	info := l.Info()
	s := l.Stream()
	// The application the edges pull from and the streams they pull.
	app, streams := nginx.IngestApp, []string{s.Name}
	if len(s.Renditions) > 0 {
		app, streams = nginx.LadderApp, nil
		for _, r := range s.Renditions {
			streams = append(streams, s.StreamName(r))
		}
	}
	edgeStats := make([]string, len(info.Edges))
	for i, e := range info.Edges {
		edgeStats[i] = strings.TrimSuffix(e.Player, "/") + "/stat"
	}
	maxViewers := 0
	for _, n := range o.viewers {
		maxViewers = max(maxViewers, n)
	}
	client := measure.NewHTTPClient(maxViewers + 8)
	probe := &prober{client: client, originStat: info.OriginStat, edgeStats: edgeStats, app: app, streams: streams, edges: len(info.Edges)}

	var results []levelResult
	for _, n := range o.viewers {
		fmt.Fprintf(stderr, "sessions: %d viewers for %s\n", n, o.level)
		r, err := runLevel(ctx, o, info, client, probe, n)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	return report(stdout, o, streams, results)
}

// prober samples the origin's and the edges' rtmp_stat.
type prober struct {
	client     *http.Client
	originStat string
	edgeStats  []string
	app        string
	streams    []string
	edges      int
}

// sample returns the relay sessions per stream on the origin, the pulls per
// stream on each edge, and the origin's accepted-connection counter.
func (p *prober) sample(ctx context.Context) (origin []int, edges [][]int, accepted int, err error) {
	st, err := measure.FetchRTMPStat(ctx, p.client, p.originStat)
	if err != nil {
		return nil, nil, 0, err
	}
	for _, s := range p.streams {
		origin = append(origin, st.Players(p.app, s))
	}
	for _, url := range p.edgeStats {
		est, err := measure.FetchRTMPStat(ctx, p.client, url)
		if err != nil {
			return nil, nil, 0, err
		}
		var pulls []int
		for _, s := range p.streams {
			pulls = append(pulls, est.Publishers(nginx.EdgeApp, s))
		}
		edges = append(edges, pulls)
	}
	return origin, edges, st.Accepted, nil
}

func runLevel(ctx context.Context, o options, info lab.Info, client *http.Client, probe *prober, viewers int) (levelResult, error) {
	res := levelResult{viewers: viewers, originMin: 1 << 30, edgeMin: 1 << 30}
	_, _, before, err := probe.sample(ctx)
	if err != nil {
		return res, err
	}
	lctx, cancel := context.WithTimeout(ctx, o.level)
	defer cancel()

	var requests, errs, bytes atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	// Viewers arrive over the first third of the level (at most 2 s), as a
	// crowd does when the stream is announced, not all in one instant.
	spread := min(o.level/3, 2*time.Second)
	for i := range viewers {
		v := viewer{
			client: client,
			master: info.Edges[i%len(info.Edges)].HLS,
			pick:   i / len(info.Edges),
			delay:  spread * time.Duration(i) / time.Duration(max(viewers, 1)),
		}
		wg.Go(func() {
			r, e, b, err := v.watch(lctx)
			requests.Add(r)
			errs.Add(e)
			bytes.Add(b)
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		})
	}
	// Sample rtmp_stat until the level ends.
	for lctx.Err() == nil {
		origin, edges, _, err := probe.sample(lctx)
		if err != nil {
			if lctx.Err() != nil {
				break
			}
			return res, err
		}
		res.samples++
		for _, n := range origin {
			res.originMin, res.originMax = min(res.originMin, n), max(res.originMax, n)
		}
		for _, e := range edges {
			for _, n := range e {
				res.edgeMin, res.edgeMax = min(res.edgeMin, n), max(res.edgeMax, n)
			}
		}
		select {
		case <-lctx.Done():
		case <-time.After(sampleEvery):
		}
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	_, _, after, err := probe.sample(ctx)
	if err != nil {
		return res, err
	}
	res.newConns = after - before
	res.requests, res.errors, res.bytes = requests.Load(), errs.Load(), bytes.Load()
	if e, ok := firstErr.Load().(error); ok {
		res.firstErr = e
	}
	return res, nil
}

// viewer is one simulated hls.js player.
type viewer struct {
	client *http.Client
	master string
	pick   int
	delay  time.Duration
}

// watch plays until ctx ends or the viewer has made maxRequests requests,
// and returns its requests, failed requests and bytes received. Requests cut
// short by the end of the level are not failures.
func (v viewer) watch(ctx context.Context) (requests, failed, bytes int64, firstErr error) {
	fail := func(err error) {
		if ctx.Err() != nil {
			return
		}
		failed++
		if firstErr == nil {
			firstErr = err
		}
	}
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	if !sleep(v.delay) {
		return
	}
	media := v.master
	requests++
	master, err := measure.FetchPlaylist(ctx, v.client, v.master)
	if err != nil {
		fail(err)
		return
	}
	if len(master.Variants) > 0 {
		media = master.Variants[v.pick%len(master.Variants)]
	}
	seen := map[string]bool{}
	first := true
	for ctx.Err() == nil && requests < maxRequests {
		requests++
		p, err := measure.FetchPlaylist(ctx, v.client, media)
		if err != nil {
			fail(err)
			if !sleep(time.Second) {
				return
			}
			continue
		}
		segs := p.Segments
		if first {
			segs = segs[max(0, len(segs)-3):]
			first = false
		}
		changed := false
		for _, s := range segs {
			if seen[s] || requests >= maxRequests {
				continue
			}
			seen[s] = true
			changed = true
			requests++
			n, err := measure.Download(ctx, v.client, s)
			bytes += n
			if err != nil {
				fail(err)
			}
		}
		wait := 2 * time.Second // the lab's target duration
		if !changed {
			wait /= 2
		}
		if !sleep(wait) {
			return
		}
	}
	return
}

func report(w io.Writer, o options, streams []string, results []levelResult) error {
	want := o.edges
	fmt.Fprintln(w, "### Origin sessions vs HLS viewers")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "One lab: %d edges, renditions %v (edges pull %s). Each level runs %s of hls.js-like viewers spread over the edges (master playlist once, newest 3 segments, then every new segment; playlist reload every target duration); rtmp_stat on the origin and on every edge sampled every %s. Want: exactly %d relay session(s) per rendition on the origin, exactly 1 pull per rendition on each edge, no new RTMP connection at the origin.\n\n",
		o.edges, o.renditions, strings.Join(streams, ", "), o.level, sampleEvery, want)
	var rows [][]string
	allPass := true
	var worst []string
	for _, r := range results {
		pass := r.samples > 0 && r.originMin == want && r.originMax == want && r.edgeMin == 1 && r.edgeMax == 1 && r.newConns == 0
		allPass = allPass && pass
		secs := r.elapsed.Seconds()
		errText := fmt.Sprint(r.errors)
		if r.firstErr != nil {
			errText += fmt.Sprintf(" (first: %v)", r.firstErr)
		}
		rows = append(rows, []string{
			fmt.Sprint(r.viewers),
			fmt.Sprintf("%d (%.0f/s)", r.requests, float64(r.requests)/secs),
			fmt.Sprintf("%.1f", float64(r.bytes)/1e6/secs),
			errText,
			fmt.Sprint(r.samples),
			fmt.Sprintf("%d-%d", r.originMin, r.originMax),
			fmt.Sprintf("%d-%d", r.edgeMin, r.edgeMax),
			fmt.Sprint(r.newConns),
			measure.Verdict(pass),
		})
		worst = append(worst, fmt.Sprintf("%d viewers: %d-%d", r.viewers, r.originMin, r.originMax))
	}
	measure.Table(w, []string{"viewers", "HTTP requests", "MB/s", "failed requests", "stat samples", "origin relays per rendition (min-max)", "pulls per rendition per edge (min-max)", "new origin connections", "result"}, rows)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Command: `%s`\n\n", o.command)
	return measure.AppendSummary(o.summary, measure.Row{
		Metric:   "origin relay sessions per rendition under HLS load",
		Goal:     fmt.Sprintf("exactly 1 per edge and rendition (%d edges)", o.edges),
		Measured: "origin relays per rendition " + strings.Join(worst, "; ") + "; see details for pulls per edge",
		Result:   measure.Verdict(allPass),
		Command:  o.command,
	})
}
