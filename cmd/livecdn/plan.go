package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/livecdn/livecdn/acme"
	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/plan"
)

// runPlan is `livecdn plan`: it reads a stack file (no network) and prints how many edges each region
// gets, what the origin and edges send, what the event costs, and which certificate it serves, so a team
// can size and budget an event before `pulumi up`. Only a stored certificate is decrypted, through the
// Pulumi CLI; plan refuses a stack whose certificate cannot serve it.
func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := addStackFlags(fs, "plan")
	asJSON := fs.Bool("json", false, "print the plan as JSON (the same shape the Pulumi program exports)")
	hours := fs.Float64("hours", 10, "event length in hours, for the total cost")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: livecdn plan --stack NAME [--dir DIR] [--hours H] [--json]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Plans edges, egress and cost for a stack from its Pulumi.NAME.yaml.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hours <= 0 {
		return fmt.Errorf("--hours must be positive, got %g", *hours)
	}
	name, settings, err := stack.load(fs)
	if err != nil {
		return err
	}
	res, err := plan.Plan(plan.InputFrom(settings))
	if err != nil {
		return fmt.Errorf("stack %s: %w", name, err)
	}
	todo := settings.ReadyToDeploy()
	tlsLine, refuse, err := certificateStatus(ctx, name, pulumiConfig{stack: *stack.stack, dir: *stack.dir}, settings)
	if err != nil {
		return fmt.Errorf("stack %s: %w", name, err)
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		fmt.Fprintf(stderr, "tls: %s\n", tlsLine)
		if todo != nil {
			fmt.Fprintf(stderr, "before pulumi up -s %s:\n%s\n", name, indent(todo.Error()))
		}
		return refuse
	}
	if err := printPlan(stdout, name, settings, res, *hours, tlsLine, todo); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return refuse
}

// certificateStatus says which certificate the stack serves, for the plan's TLS line, and refuses a
// stored certificate that cannot serve the stack (blueprint's CheckCertificate, the check pulumi up
// makes). A certificate the CLI cannot decrypt here is reported, not refused: plan needs no passphrase.
func certificateStatus(ctx context.Context, name string, pc pulumiConfig, s *config.Settings) (line string, refuse, err error) {
	if !s.HTTPS() {
		return fmt.Sprintf("none: without %s the stack serves plain HTTP, which a page on an HTTPS site cannot "+
			"embed (browsers block mixed content)", config.KeyDomain), nil, nil
	}
	names := strings.Join(acme.Names(s.Domain), " and ")
	if !s.TLS.Certificate.IsSet() {
		return fmt.Sprintf("no certificate stored yet for %s: livecdn cert --stack %s orders one", names, name), nil, nil
	}
	chain, err := pc.reveal(ctx, config.KeyTLSCertificate, s.TLS.Certificate)
	if err != nil {
		return fmt.Sprintf("a certificate is stored for %s but cannot be decrypted here, so it is not checked: %v", names, err), nil, nil
	}
	st, err := blueprint.New(s)
	if err != nil {
		return "", nil, err
	}
	cert, problem := checkCertificate(st, name, chain, time.Now())
	line = fmt.Sprintf("%s from %s, valid until %s", strings.Join(cert.Names, ", "), cert.Issuer,
		cert.NotAfter.UTC().Format(time.RFC3339))
	if problem != nil {
		return line + ": REFUSED", fmt.Errorf("stack %s: %w", name, problem), nil
	}
	return line, nil, nil
}

// printPlan writes the plan for people: a table per region, then the origin, egress, cost, warnings and
// what `pulumi up` still needs.
func printPlan(w io.Writer, stack string, s *config.Settings, res plan.Result, hours float64, tlsLine string, todo error) error {
	ew := &errWriter{w: w}
	ew.printf("Plan for stack %s (%s)\n\n", stack, s.EventName)
	ew.printf("Each viewer pulls %d kbps (%s); each edge pulls %d kbps from the origin (%s).\n\n",
		res.ViewerKbps, viewerSource(s.Stream), res.FeedKbps, feedSource(s.Stream))

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tVIEWERS\tSIZE\tNIC\tVCPU\tVIEWERS/EDGE\tLIMIT\tNEEDED\tCONFIGURED\tEDGES\tLOAD/EDGE\tTLS CPU/EDGE\tEGRESS\tUSD/HOUR")
	for _, r := range res.Regions {
		configured := "auto"
		if r.Configured > 0 {
			configured = fmt.Sprint(r.Configured)
		}
		needed, load, cores := "-", "-", "-"
		if s.Audience != nil {
			needed, load = fmt.Sprint(r.Needed), fmt.Sprintf("%.1f%%", r.LoadPercent)
			cores = fmt.Sprintf("%.2f of %d", r.TLSCoresPerEdge, r.VCPUs)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%g Gbps\t%d\t%d\t%s\t%s\t%s\t%d\t%s\t%s\t%.2f Gbps\t%.4f\n", r.Region, r.Viewers,
			r.Size, r.NetworkGbps, r.VCPUs, r.ViewersPerEdge, r.LimitedBy, needed, configured, r.Edges, load, cores,
			r.EgressGbps, r.CostPerHourUSD)
	}
	fmt.Fprintf(tw, "total\t%d\t\t\t\t\t\t\t\t%d\t\t\t%.2f Gbps\t%.4f\n", res.Viewers, res.EdgesTotal,
		res.ViewerEgressGbps, res.Cost.EdgesPerHourUSD)
	if err := tw.Flush(); err != nil {
		return err
	}
	ew.printf("\nLoad is each edge's share of its network cap; the planner fills at most %.0f%%. HTTPS costs an edge\n"+
		"%.2f CPU s per GB sent (docs/BENCHMARKS.md section 7); the planner lets it take at most %.0f%% of the vCPUs\n"+
		"(LIMIT says whether the network or the CPU caps viewers per edge).\n\n",
		100*plan.UtilizationTarget, res.TLSCPUSecondsPerGB, 100*plan.TLSCPUShare)

	o := res.Origin
	if o.BYO {
		ew.printf("Origin:  bring-your-own at %s: %s, %.1f Mbps to the edges\n",
			s.Origin.BYO.Address, count(o.Relays, "relay"), o.EgressMbps)
	} else {
		ew.printf("Origin:  %s in %s: %s, %.1f Mbps to the edges (%.1f%% of its network), $%.4f/hour\n",
			o.Size, s.Origin.Region, count(o.Relays, "relay"), o.EgressMbps, o.LoadPercent, o.CostPerHourUSD)
	}
	if o.TranscodeCores > 0 {
		ew.printf("         about %.1f cores to transcode the ladder\n", o.TranscodeCores)
	}
	if o.RecordingGiBPerHour > 0 {
		ew.printf("         recording %.2f GiB/hour", o.RecordingGiBPerHour)
		if o.RecordingHours > 0 {
			ew.printf(", the disk is full after %.1f hours", o.RecordingHours)
		}
		ew.printf("\n")
	}
	ew.printf("Egress:  %.2f Gbps to viewers, %.1f GiB/hour billed in all, %.1f GiB/hour of allowance accrued\n",
		res.ViewerEgressGbps, res.Cost.EgressGiBPerHour, res.Cost.AllowanceGiBPerHour)
	ew.printf("Cost:    $%.2f/hour = $%.4f Droplets + $%.2f egress overage\n",
		res.Cost.PerHourUSD, res.Cost.DropletsPerHourUSD, res.Cost.OveragePerHourUSD)
	ew.printf("         $%.2f for a %g-hour event (list prices; overage assumes every viewer on the top quality)\n",
		res.Cost.PerHourUSD*hours, hours)
	ew.printf("TLS:     %s\n", tlsLine)

	warnings := res.Warnings
	if !s.DNS.Enabled && res.EdgesTotal > 1 {
		warnings = append(warnings, "dns is off: the player page plays from the edge that served it and cannot fail over "+
			"to another (failover goes between DNS names); set livecdn:dns.enabled to true with a domain")
	}
	if o.RecordingHours > 0 && o.RecordingHours < hours {
		warnings = append(warnings, fmt.Sprintf("origin: the recording fills the disk after %.1f hours, "+
			"before the %g-hour event ends", o.RecordingHours, hours))
	}
	if len(warnings) > 0 {
		ew.printf("\nWarnings:\n")
		for _, warning := range warnings {
			ew.printf("  - %s\n", warning)
		}
	}
	if todo != nil {
		ew.printf("\nBefore pulumi up -s %s:\n%s\n", stack, indent(todo.Error()))
	}
	return ew.err
}

// viewerSource names what a viewer pulls: the top rendition, or the source.
func viewerSource(st config.Stream) string {
	if len(st.Renditions) == 0 {
		return fmt.Sprintf("the %d kbps source + %d kbps audio", st.SourceKbps, st.AudioKbps)
	}
	top := st.Renditions[0]
	return fmt.Sprintf("%s: %d kbps video + %d kbps audio, the top quality", top.Name, top.VideoKbps, st.AudioKbps)
}

// feedSource names what an edge pulls: every rendition, or the source.
func feedSource(st config.Stream) string {
	if len(st.Renditions) == 0 {
		return "the source"
	}
	var names []string
	for _, r := range st.Renditions {
		names = append(names, r.Name)
	}
	return "every rendition: " + strings.Join(names, ", ")
}

// count renders "1 relay" or "18 relays".
func count(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// indent turns the lines of a joined error into a bulleted list.
func indent(lines string) string {
	return "  - " + strings.ReplaceAll(lines, "\n", "\n  - ")
}

// errWriter keeps the first write error so printPlan can check it once instead of after every line.
type errWriter struct {
	w   io.Writer
	err error
}

// Write passes p on until a write fails, then fails every later write the same way.
func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
