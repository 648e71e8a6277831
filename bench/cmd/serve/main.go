// Command serve measures how well an edge serves HLS: livecdn's rendered
// edge nginx.conf against Debian's stock nginx.conf, both serving the same
// segments and playlist (cut by a real lab edge) with the same nginx binary
// and one worker each, over loopback.
//
// Phase 1 (throughput) drives both servers with wrk, back to back in every
// round and in alternating order, and reads the nginx worker's CPU time from
// /proc/PID/stat around each run: requests/s, MB/s and CPU seconds per GB.
// On a shared machine these move with the neighbours' load, so phase 2
// (cost) counts instead of timing: each config runs under valgrind's
// callgrind and the user-space instructions per request are compared, for
// stock, ours, and ours with one directive changed at a time, which says
// which directive costs what.
//
// One worker is not a benchmark choice: nginx-rtmp runs static pulls only in
// worker 0, so livecdn's edge must run `worker_processes 1`.
//
// With -tls it measures HTTPS instead (tls.go): the edges' TLS block added to
// our rendered config and to stock, against plain HTTP, with one and two
// workers, kTLS where the kernel has it, and a second nginx without the RTMP
// module serving the same HLS directory; on synthetic 1.5 MB segments and a
// 1 KB playlist, with keep-alive and with a new connection per request.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/livecdn/livecdn/bench/internal/measure"
	"github.com/livecdn/livecdn/lab"
)

//go:embed stock.conf.tmpl
var stockConfText string

var stockConf = template.Must(template.New("stock").Option("missingkey=error").Parse(stockConfText))

// mimeTypes is Debian's mime.types, which the stock config includes.
const mimeTypes = "/etc/nginx/mime.types"

type options struct {
	duration    time.Duration
	rounds      int
	connections int
	segments    int
	cost        string
	requests    int
	summary     string
	command     string
	tls         bool
}

func main() {
	measure.Main("serve", run)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "length of each wrk run")
	fs.IntVar(&o.rounds, "rounds", 2, "throughput rounds per workload; the servers swap order every round")
	fs.IntVar(&o.connections, "connections", 64, "wrk connections (one wrk thread)")
	fs.IntVar(&o.segments, "segments", 3, "segments to capture from the lab edge")
	fs.StringVar(&o.cost, "cost", "ablate", "instruction counts under valgrind: off, compare (ours and stock) or ablate (also ours minus one directive at a time)")
	fs.IntVar(&o.requests, "requests", 1000, "requests per workload and config when counting instructions (a multiple of 8)")
	fs.BoolVar(&o.tls, "tls", false, "instead of ours vs stock over HTTP, measure HTTPS: HTTP vs HTTPS (and kTLS where the kernel has it), 1 vs 2 workers, ours vs stock with the edges' TLS block, and a second nginx without RTMP, on 1.5 MB segments and a 1 KB playlist")
	fs.StringVar(&o.summary, "summary", "", "append the summary rows to this file (used by bench/run.sh)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.rounds < 1 || o.duration < time.Second || o.connections < 1 || o.segments < 1 {
		return errors.New("-rounds, -connections and -segments must be positive and -duration at least 1s")
	}
	if o.cost != "off" && o.cost != "compare" && o.cost != "ablate" {
		return fmt.Errorf("-cost: %q: use off, compare or ablate", o.cost)
	}
	if o.requests < loadConns || o.requests%loadConns != 0 {
		return fmt.Errorf("-requests: %d: use a positive multiple of %d", o.requests, loadConns)
	}
	o.command = measure.Command(fs, "summary")
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk is missing: install it with `apt-get install wrk`")
	}
	if err := lab.CheckTools(true); err != nil {
		return err
	}

	work, err := os.MkdirTemp("", "livecdn-bench-serve-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// nginx started as root runs its workers as nobody: they must reach the files.
	if err := os.Chmod(work, 0o755); err != nil {
		return err
	}
	if o.tls {
		return tlsBench(ctx, stdout, stderr, o, work)
	}
	fmt.Fprintln(stderr, "serve: capturing segments from a lab edge")
	set, err := captureSegments(ctx, filepath.Join(work, "hls"), o.segments)
	if err != nil {
		return err
	}
	workloads := []workload{
		{name: "segments", desc: fmt.Sprintf("%d .ts files round-robin (mean %.0f KB)", len(set.segments), set.meanSegmentBytes()/1e3), files: set.segments},
		{name: "playlist", desc: fmt.Sprintf("the media playlist (%d B)", set.playlistBytes), files: []string{set.playlist}},
	}

	if err := throughput(ctx, stdout, stderr, o, work, set, workloads); err != nil {
		return err
	}
	if o.cost == "off" {
		return nil
	}
	if _, err := exec.LookPath("valgrind"); err != nil {
		fmt.Fprintln(stdout, "Instruction counts skipped: valgrind is missing (`apt-get install valgrind`).")
		fmt.Fprintln(stdout)
		return nil
	}
	return cost(ctx, stdout, stderr, o, work, set, workloads)
}

func throughput(ctx context.Context, stdout, stderr io.Writer, o options, work string, set fileSet, workloads []workload) error {
	stem := strings.TrimSuffix(set.playlist, ".m3u8")
	oursConf, err := renderOurs("ours (livecdn edge)", filepath.Join(work, "ours"), set.dir, stem, "127.0.0.2", nil, 0)
	if err != nil {
		return err
	}
	stockConf, err := renderStock("stock (Debian default)", filepath.Join(work, "stock"), set.dir, "127.0.0.3")
	if err != nil {
		return err
	}
	ours, err := startServer(ctx, oursConf)
	if err != nil {
		return err
	}
	defer ours.stop()
	stock, err := startServer(ctx, stockConf)
	if err != nil {
		return err
	}
	defer stock.stop()
	servers := []*server{ours, stock}
	for _, s := range servers {
		if err := s.checkServes(ctx, set); err != nil {
			return err
		}
	}
	results := map[string]map[string][]wrkRun{}
	for _, w := range workloads {
		results[w.name] = map[string][]wrkRun{}
		for round := range o.rounds {
			order := servers
			if round%2 == 1 {
				order = []*server{stock, ours}
			}
			for _, s := range order {
				fmt.Fprintf(stderr, "serve: %s, round %d, %s\n", w.name, round+1, s.name)
				r, err := s.bench(ctx, work, w, o)
				if err != nil {
					return err
				}
				results[w.name][s.name] = append(results[w.name][s.name], r)
			}
		}
	}
	return report(stdout, o, set, servers, workloads, results)
}

func cost(ctx context.Context, stdout, stderr io.Writer, o options, work string, set fileSet, workloads []workload) error {
	stem := strings.TrimSuffix(set.playlist, ".m3u8")
	type row struct {
		name, about string
		config      config
		counts      map[string]float64
	}
	dir := func(i int) string { return filepath.Join(work, fmt.Sprintf("cost-%d", i)) }
	stock, err := renderStock("stock (Debian default)", dir(0), set.dir, "127.0.0.3")
	if err != nil {
		return err
	}
	ours, err := renderOurs("ours (livecdn edge)", dir(1), set.dir, stem, "127.0.0.2", nil, 0)
	if err != nil {
		return err
	}
	rows := []*row{{name: stock.name, about: "Debian's nginx.conf and default site (see stock.conf.tmpl)", config: stock}, {name: ours.name, about: "as rendered", config: ours}}
	if o.cost == "ablate" {
		for i, a := range append(append([]ablation(nil), ablations...), suggested) {
			c, err := renderOurs(a.name, dir(i+2), set.dir, stem, "127.0.0.2", nil, 0)
			if err != nil {
				return err
			}
			r := &row{name: a.name, about: a.about, config: c}
			var ok bool
			if r.config.text, ok = a.edit(c.text, set.dir); !ok {
				r.about = "not applicable: the rendered config no longer has what this changes"
			}
			rows = append(rows, r)
		}
	}
	// Counting is deterministic, so two configs can be counted at once.
	var wg sync.WaitGroup
	slots := make(chan struct{}, 2)
	errs := make([]error, len(rows))
	for i, r := range rows {
		if strings.HasPrefix(r.about, "not applicable") {
			continue
		}
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			fmt.Fprintf(stderr, "serve: counting instructions: %s\n", r.name)
			r.counts, errs[i] = instructionsPerRequest(ctx, r.config, workloads, o.requests)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	fmt.Fprintln(stdout, "### Edge HLS serving: user-space instructions per request (callgrind)")
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "Each config runs as one nginx process under `valgrind --tool=callgrind`; after a warm-up the counters are zeroed, %d requests are made over %d keep-alive connections, and the counters dumped. Deterministic: unaffected by the machine's other load. Kernel work (syscalls, TCP, sendfile) is not counted.\n\n", o.requests, loadConns)
	header := []string{"config"}
	for _, w := range workloads {
		header = append(header, w.name+" instr/request", "vs ours")
	}
	header = append(header, "what changed")
	oursCounts := rows[1].counts
	var table [][]string
	for _, r := range rows {
		line := []string{r.name}
		for _, w := range workloads {
			if r.counts == nil {
				line = append(line, "-", "-")
				continue
			}
			line = append(line, fmt.Sprintf("%.0f", r.counts[w.name]),
				fmt.Sprintf("%+.0f (%+.1f%%)", r.counts[w.name]-oursCounts[w.name], 100*(r.counts[w.name]/oursCounts[w.name]-1)))
		}
		table = append(table, append(line, r.about))
	}
	measure.Table(stdout, header, table)
	fmt.Fprintln(stdout)
	var summary []measure.Row
	for _, w := range workloads {
		s, u := rows[0].counts[w.name], oursCounts[w.name]
		measured := fmt.Sprintf("ours %.0f, stock %.0f (ours/stock %.2f)", u, s, u/s)
		if last := rows[len(rows)-1]; last.name == suggested.name && last.counts != nil {
			measured += fmt.Sprintf("; ours with the suggested changes %.0f (%.2f)", last.counts[w.name], last.counts[w.name]/s)
		}
		fmt.Fprintf(stdout, "%s: %s.\n", w.name, measured)
		summary = append(summary, measure.Row{
			Metric:   fmt.Sprintf("edge user-space instructions per request, %s", w.name),
			Goal:     "none (explains the throughput result)",
			Measured: measured,
			Result:   measure.NoGoal,
			Command:  o.command,
		})
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "Command: `%s`\n\n", o.command)
	return measure.AppendSummary(o.summary, summary...)
}

// fileSet is what both servers serve.
type fileSet struct {
	dir           string
	segments      []string // file names
	segmentBytes  []int64
	playlist      string
	playlistBytes int64
}

func (f fileSet) meanSegmentBytes() float64 {
	var sum int64
	for _, b := range f.segmentBytes {
		sum += b
	}
	return float64(sum) / float64(len(f.segmentBytes))
}

// captureSegments runs a one-edge lab until its playlist lists n segments
// and downloads the playlist and those segments into dir, over HTTP as a
// player would, with their mtimes an hour ahead (writeAhead).
func captureSegments(ctx context.Context, dir string, n int) (fileSet, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fileSet{}, err
	}
	l, err := lab.Start(ctx, lab.Options{Edges: 1, ReadyTimeout: 30 * time.Second})
	if err != nil {
		return fileSet{}, err
	}
	defer l.Close()
	edge := l.Info().Edges[0]
	deadline := time.Now().Add(time.Duration(n+3) * time.Duration(l.Stream().FragmentSeconds) * time.Second)
	var body []byte
	var listed lab.Playlist
	for {
		body, err = lab.Get(ctx, edge.HLS)
		if err == nil {
			if listed, err = lab.ParsePlaylist(edge.HLS, body); err == nil && len(listed.Segments) >= n {
				break
			}
		}
		if time.Now().After(deadline) {
			return fileSet{}, fmt.Errorf("lab edge listed %d segments, want %d (last error: %v)", len(listed.Segments), n, err)
		}
		select {
		case <-ctx.Done():
			return fileSet{}, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	set := fileSet{dir: dir, playlist: path.Base(edge.HLS), playlistBytes: int64(len(body))}
	files := map[string][]byte{set.playlist: body}
	for i, u := range listed.Segments {
		seg, err := lab.Get(ctx, u)
		if err != nil {
			return fileSet{}, err
		}
		files[listed.Names[i]] = seg
		set.segments = append(set.segments, listed.Names[i])
		set.segmentBytes = append(set.segmentBytes, int64(len(seg)))
	}
	return set, writeAhead(dir, files)
}

// writeAhead writes files into dir with their mtimes an hour ahead: our
// edge config keeps hls_cleanup on, which deletes playlists older than
// hls_playlist_length and segments older than twice that, and would
// otherwise remove them in the middle of a benchmark.
func writeAhead(dir string, files map[string][]byte) error {
	future := time.Now().Add(time.Hour)
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		if err := os.Chtimes(p, future, future); err != nil {
			return err
		}
	}
	return nil
}
