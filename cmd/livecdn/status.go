package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/lab"
	"github.com/livecdn/livecdn/nginx"
	"github.com/livecdn/livecdn/status"
)

// clearScreen moves the cursor home and clears the terminal: --watch
// redraws one screen rather than scrolling, without a curses dependency.
const clearScreen = "\x1b[H\x1b[2J"

// runStatus shows a CDN's state: one screen (or one JSON document) per
// refresh, from the machines' admin-only endpoints (docs/STATUS.md).
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: livecdn status --stack NAME [--dir DIR] [--watch] [--json]")
		fmt.Fprintln(stderr, "       livecdn status --lab FILE [--watch] [--json]")
		fmt.Fprintln(stderr, "\nShows every edge's health, viewers, egress, CPU, segment age and relays, the origin's")
		fmt.Fprintln(stderr, "publisher, bitrate, relays and recording, and the totals next to the plan. A stack's")
		fmt.Fprintln(stderr, "addresses come from `pulumi stack output`; run it from an address in adminCidrs.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	sf := addStackFlags(fs, "show")
	labFile := fs.String("lab", "", "show a lab instead: `FILE` holds the JSON line `livecdn lab` printed")
	watch := fs.Bool("watch", false, "refresh until interrupted")
	interval := fs.Duration("interval", 5*time.Second, "time between refreshes with --watch")
	asJSON := fs.Bool("json", false, "print one JSON document per refresh instead of the screen")
	timeout := fs.Duration("timeout", 3*time.Second, "how long each machine may take to answer")
	reload := fs.Duration("reload", 30*time.Second, "with --watch --stack, how often to read the stack's outputs again (a `pulumi up` replaces machines)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *interval < time.Second:
		return fmt.Errorf("--interval %s: refresh at most once a second, e.g. --interval 5s", *interval)
	case *timeout <= 0 || *timeout >= *interval && *watch:
		return fmt.Errorf("--timeout %s: use a positive duration below --interval (%s), e.g. --timeout 3s", *timeout, *interval)
	case *reload < *interval:
		return fmt.Errorf("--reload %s: read the outputs at most once per refresh (--interval %s), e.g. --reload 30s", *reload, *interval)
	case *labFile != "" && *sf.stack != "":
		return errors.New("--lab and --stack: give one, --stack for a deployed stack or --lab for a lab")
	case *labFile == "" && *sf.stack == "" && fs.NArg() == 0:
		return errors.New("--stack NAME or --lab FILE is required, e.g. --stack animecon, or --lab lab.json with the line `livecdn lab` printed")
	}

	var targets status.Targets
	// readTargets reads a stack's outputs again; nil for a lab.
	var readTargets func() (status.Targets, error)
	var err error
	if *labFile != "" {
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		targets, err = labTargets(*labFile)
	} else {
		var name string
		var s *config.Settings
		if name, s, err = sf.load(fs); err != nil {
			return err
		}
		readTargets = func() (status.Targets, error) { return deployedTargets(ctx, name, *sf.stack, *sf.dir, s) }
		targets, err = readTargets()
	}
	if err != nil {
		return err
	}

	c := status.NewCollector(targets, *timeout)
	screen := status.Screen{Color: isTerminal(stdout)}
	read := time.Now()
	var readErr error
	for {
		if readTargets != nil && time.Since(read) >= *reload {
			// Rolling changes replace edges mid-event: follow them. What
			// cannot be read again leaves the last outputs on screen, saying so.
			read = time.Now()
			if t, err := readTargets(); err != nil {
				readErr = err
			} else {
				c.SetTargets(t)
				readErr = nil
			}
		}
		r := c.Collect(ctx)
		if ctx.Err() != nil {
			return nil // interrupted mid-refresh
		}
		if readErr != nil {
			r.Problems = append(r.Problems, "showing the outputs read before: "+readErr.Error())
		}
		if *asJSON {
			line, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
				return err
			}
		} else {
			if *watch {
				fmt.Fprint(stdout, clearScreen)
			}
			if err := screen.Render(stdout, r); err != nil {
				return err
			}
		}
		if !*watch {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*interval):
		}
	}
}

// labTargets reads the JSON line `livecdn lab` printed.
func labTargets(file string) (status.Targets, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return status.Targets{}, fmt.Errorf("--lab %s: %w (save the line `livecdn lab` prints: livecdn lab > lab.json)", file, err)
	}
	var info lab.Info
	if err := json.Unmarshal(data, &info); err != nil {
		return status.Targets{}, fmt.Errorf("--lab %s: not the JSON line `livecdn lab` prints: %w", file, err)
	}
	if info.OriginStat == "" || len(info.Edges) == 0 {
		return status.Targets{}, fmt.Errorf("--lab %s: no originStat or edges: save the line `livecdn lab` prints", file)
	}
	t := status.Targets{
		Name:   "lab",
		Stream: lab.LabStream(info.Stream, info.Renditions),
		Origin: status.OriginTarget{StatURL: info.OriginStat},
	}
	if info.Recordings != nil { // a lab started with --record
		t.Origin.RecordingsURL = info.Recordings.Status
	}
	for _, e := range info.Edges {
		if e.Status == "" {
			return status.Targets{}, fmt.Errorf("--lab %s: edge %s has no status URL: the lab predates `livecdn status`; restart it", file, e.Name)
		}
		t.Edges = append(t.Edges, status.EdgeTarget{
			Name:             e.Name,
			HealthURL:        e.HTTP + nginx.HealthPath,
			StatusURL:        e.Status,
			NginxExporterURL: e.NginxExporter,
		})
	}
	return t, nil
}

// stackOutputs are the stack outputs status reads (program.Deploy).
type stackOutputs struct {
	IngestURL string `json:"ingestUrl"`
	// Recordings is there when the stack records.
	Recordings *struct {
		StatusURL string `json:"statusUrl"`
	} `json:"recordings"`
	Edges map[string]struct {
		Region  string `json:"region"`
		Address string `json:"address"`
	} `json:"edges"`
}

// deployedTargets reads the stack's outputs through the Pulumi CLI and pairs
// them with the plan from its stack file.
func deployedTargets(ctx context.Context, name, stack, dir string, s *config.Settings) (status.Targets, error) {
	out, err := pulumiConfig{stack: stack, dir: dir}.run(ctx, nil, "stack", "output", "--json", "-s", stack)
	if err != nil {
		return status.Targets{}, err
	}
	st, err := blueprint.New(s)
	if err != nil {
		return status.Targets{}, fmt.Errorf("stack %s: %w", name, err)
	}
	return stackTargets(name, st, []byte(out))
}

// stackTargets turns `pulumi stack output --json` into targets: the
// machines by address (the status document and exporters are reached by
// address), the edges' capacity from the plan, NIC caps from the sizes. A
// bring-your-own origin runs no node exporter: its load is not known.
func stackTargets(name string, st *blueprint.Stack, outputJSON []byte) (status.Targets, error) {
	var out stackOutputs
	if err := json.Unmarshal(outputJSON, &out); err != nil {
		return status.Targets{}, fmt.Errorf("stack %s outputs: %w", name, err)
	}
	u, err := url.Parse(out.IngestURL)
	if err != nil || u.Hostname() == "" {
		return status.Targets{}, fmt.Errorf("stack %s: output ingestUrl %q has no origin address: has `pulumi up` run?", name, out.IngestURL)
	}
	t := status.Targets{
		Name:           name,
		Stream:         blueprint.Stream(st.Settings.Stream),
		PlannedViewers: st.Plan.Viewers,
		Origin:         status.OriginTarget{StatURL: blueprint.StatURL(u.Hostname())},
	}
	if out.Recordings != nil {
		t.Origin.RecordingsURL = out.Recordings.StatusURL
	}
	if !st.Origin.BYO {
		size, _ := config.LookupSize(st.Origin.Size)
		t.Origin.NodeExporterURL = blueprint.NodeExporterURL(u.Hostname())
		t.Origin.NICGbps = size.NetworkGbps
	}
	perEdge := map[string]int{}
	for _, r := range st.Plan.Regions {
		perEdge[r.Region] = r.ViewersPerEdge
	}
	known := map[string]bool{}
	for _, m := range st.Edges {
		known[m.Name] = true
		o, ok := out.Edges[m.Name]
		if !ok {
			return status.Targets{}, fmt.Errorf("stack %s: edge %s is in the stack file but not in the stack's outputs: run `pulumi up -s %s` first", name, m.Name, name)
		}
		a, err := netip.ParseAddr(o.Address)
		if err != nil {
			return status.Targets{}, fmt.Errorf("stack %s: edge %s: output address %q is not an IP address", name, m.Name, o.Address)
		}
		host := a.String()
		size, _ := config.LookupSize(m.Size)
		t.Edges = append(t.Edges, status.EdgeTarget{
			Name:             m.Name,
			Region:           m.Region,
			HealthURL:        blueprint.EdgeHealthURL(host),
			StatusURL:        blueprint.EdgeStatusURL(host),
			NodeExporterURL:  blueprint.NodeExporterURL(host),
			NginxExporterURL: blueprint.NginxExporterURL(host),
			NICGbps:          size.NetworkGbps,
			CapacityViewers:  perEdge[m.Region],
		})
	}
	var extra []string
	for e := range out.Edges {
		if !known[e] {
			extra = append(extra, e)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return status.Targets{}, fmt.Errorf("stack %s: edges %s are deployed but no longer in the stack file: run `pulumi up -s %s` to match them", name, strings.Join(extra, ", "), name)
	}
	return t, nil
}

// isTerminal reports a terminal, which gets colour.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
