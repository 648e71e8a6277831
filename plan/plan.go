// Package plan sizes a livecdn event: how many edges each region needs for its share of the audience,
// what the origin sends to them, and what an hour of the event costs on DigitalOcean.
//
// It models the network, which is what limits an HLS edge: every viewer pulls the top rendition (the
// worst case; players on slower links pull less) through a NIC that is only loaded to UtilizationTarget.
// Viewers are served over HTTPS, so an edge's CPU caps it too: at TLSCPUSecondsPerGB, no more viewers are
// planned per edge than TLSCPUShare of its vCPUs can encrypt. CPU is otherwise modelled only for the
// origin's transcoding. The plan is a pure function of config types, so the
// Pulumi program (which deploys the planned counts and exports the Result) and `livecdn plan` (which
// prints it) cannot disagree.
package plan

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/livecdn/livecdn/config"
)

// UtilizationTarget is the share of an edge's network cap the planner fills. The rest is headroom for
// bursts (players fetch segments in bursts, not at the average rate), TCP and HTTP overhead on top of
// the media bitrate, and the viewers of an edge that fails until DNS moves them elsewhere.
const UtilizationTarget = 0.7

// TLSCPUSecondsPerGB is the CPU time an edge's nginx spends to send one GB (10^9 bytes) of HLS segments to
// viewers over HTTPS with the TLS block the edges ship. docs/BENCHMARKS.md section 7 measured our edge
// config at 0.59-0.65 CPU s/GB (1 worker, 2 workers, and a second nginx without the RTMP module) in three
// runs, two of `bench/run.sh tls` and one of `go run ./bench/cmd/serve -tls -rounds 3`; the worst, 0.647,
// is rounded up. Plain HTTP measured 0.25-0.35. Measured on a 2-core Xeon with AES-NI and VAES, over
// loopback, TLS 1.3 with TLS_AES_256_GCM_SHA384 in user space (that kernel has no kTLS). It counts nginx's
// user and kernel time (encryption, TCP), not a NIC driver's interrupts, and a droplet vCPU (one
// hyperthread of a shared host) may do less than that machine's core: TLSCPUShare leaves the headroom for
// both.
const TLSCPUSecondsPerGB = 0.7

// TLSCPUShare is the share of an edge's vCPUs the planner lets HTTPS take. The other half is headroom for
// the RTMP pull and HLS muxing, the NIC's interrupts, bursts, and a vCPU slower than the core
// TLSCPUSecondsPerGB was measured on.
const TLSCPUShare = 0.5

// EdgeWorkers is the nginx worker count (nginx.EdgeSpec.Workers) for an edge of size: max(1, vCPUs/2),
// because one worker uses at most one vCPU and the planner counts on TLSCPUShare of them for HTTPS.
// docs/BENCHMARKS.md section 7 measured the same CPU per GB with one and two workers and for a second nginx
// without the RTMP module, so one nginx with these workers is enough: the static pulls and their HLS stay
// in worker 0, the others serve HTTP(S). On the animecon edge (4 vCPUs) that is 2 workers, where one
// worker would have no margin left if a droplet vCPU did half the work of the measured core.
func EdgeWorkers(size config.Size) int {
	return max(1, size.VCPUs/2)
}

// transcodeCoresPer720p is the origin CPU one 1280x720 rendition took when measured with ffmpeg on these
// machines (docs: ~40% of one core). Other renditions are scaled by pixel count, which makes this a
// rough estimate for choosing an origin size, not a promise.
const transcodeCoresPer720p = 0.4

// diskReserveGiB is disk the origin needs for the OS, packages and logs before recordings.
const diskReserveGiB = 5

// recordingWarnHours is a full convention day: a recording that fills the origin's disk sooner is
// worth a warning, because a full disk takes the origin, and so the stream, down.
const recordingWarnHours = 12

// Input is what the planner needs from a stack's Settings.
type Input struct {
	// Stream gives the bitrates: the top rendition (or the source) per viewer, all renditions per edge.
	Stream config.Stream
	// Origin is priced and checked for egress and CPU; a bring-your-own origin costs nothing here.
	Origin config.Origin
	// Edges are the groups to plan; a zero Count is planned from Audience.
	Edges []config.EdgeGroup
	// Audience is nil when every edge group has a Count.
	Audience *config.Audience
}

// InputFrom takes the planner's input from validated Settings.
func InputFrom(s *config.Settings) Input {
	return Input{Stream: s.Stream, Origin: s.Origin, Edges: s.Edges, Audience: s.Audience}
}

// Result is the plan, as plain data with JSON tags so the Pulumi program can export it as a stack
// output and `livecdn plan --json` can print it.
type Result struct {
	// ViewerKbps is what one viewer pulls: the top rendition (or the source) plus audio.
	ViewerKbps int `json:"viewerKbps"`
	// FeedKbps is what one edge pulls from the origin: every rendition plus its audio.
	FeedKbps int `json:"feedKbps"`
	// Viewers is the planned audience across regions (0 without an audience).
	Viewers int `json:"viewers"`
	// Regions holds one entry per edge group, sorted by region.
	Regions []Region `json:"regions"`
	// EdgesTotal is the number of edge Droplets to deploy.
	EdgesTotal int `json:"edgesTotal"`
	// Origin is the origin's share of the load.
	Origin Origin `json:"origin"`
	// ViewerEgressGbps is what all edges send to viewers at the planned audience.
	ViewerEgressGbps float64 `json:"viewerEgressGbps"`
	// Cost is what an hour of the event costs.
	Cost Cost `json:"cost"`
	// TLSCPUSecondsPerGB is the edge CPU cost of HTTPS the plan assumed (see the constant).
	TLSCPUSecondsPerGB float64 `json:"tlsCpuSecondsPerGB"`
	// Warnings are things a person should look at; they do not stop a deployment.
	Warnings []string `json:"warnings"`
}

// What limits how many viewers an edge serves (Region.LimitedBy).
const (
	// LimitNetwork: UtilizationTarget of the NIC is reached first.
	LimitNetwork = "network"
	// LimitCPU: TLSCPUShare of the vCPUs cannot encrypt UtilizationTarget of the NIC.
	LimitCPU = "cpu"
)

// Region is the plan for the edges of one region.
type Region struct {
	// Region is the DigitalOcean region.
	Region string `json:"region"`
	// Size is the edges' DigitalOcean size.
	Size string `json:"size"`
	// NetworkGbps is one edge's network cap.
	NetworkGbps float64 `json:"networkGbps"`
	// Viewers is the region's share of the audience, rounded up.
	Viewers int `json:"viewers"`
	// ViewersPerEdge is how many viewers one edge serves: the lower of NetworkViewersPerEdge and
	// CPUViewersPerEdge.
	ViewersPerEdge int `json:"viewersPerEdge"`
	// NetworkViewersPerEdge is how many viewers fit in UtilizationTarget of one edge's NIC.
	NetworkViewersPerEdge int `json:"networkViewersPerEdge"`
	// CPUViewersPerEdge is how many viewers TLSCPUShare of one edge's vCPUs can serve over HTTPS at
	// TLSCPUSecondsPerGB.
	CPUViewersPerEdge int `json:"cpuViewersPerEdge"`
	// LimitedBy says which cap gave ViewersPerEdge: LimitNetwork or LimitCPU.
	LimitedBy string `json:"limitedBy"`
	// VCPUs is one edge's vCPU count.
	VCPUs int `json:"vcpus"`
	// Workers is the nginx worker processes an edge of this size runs (EdgeWorkers).
	Workers int `json:"workers"`
	// TLSCoresPerEdge is the CPU each edge spends on HTTPS at the planned audience; 0 without an audience.
	TLSCoresPerEdge float64 `json:"tlsCoresPerEdge"`
	// Needed is the edges the audience needs (at least 1, plus 1 with redundancy); 0 without an audience.
	Needed int `json:"needed"`
	// Configured is the count the stack sets; 0 when the planner decides.
	Configured int `json:"configured"`
	// Edges is what will be deployed: Configured if set, else Needed.
	Edges int `json:"edges"`
	// Capacity is the viewers Edges serve at UtilizationTarget.
	Capacity int `json:"capacity"`
	// LoadPercent is each edge's network load at the planned audience, in percent of its cap.
	LoadPercent float64 `json:"loadPercent"`
	// EgressGbps is what the region's edges send to viewers.
	EgressGbps float64 `json:"egressGbps"`
	// CostPerHourUSD is the region's Droplets.
	CostPerHourUSD float64 `json:"costPerHourUsd"`
}

// Origin is the plan for the origin.
type Origin struct {
	// Size is the Droplet size; empty for a bring-your-own origin.
	Size string `json:"size"`
	// BYO is true for a bring-your-own origin, whose cost and capacity are unknown here.
	BYO bool `json:"byo"`
	// Relays is the number of streams the origin sends: one per rendition per edge (static pulls).
	Relays int `json:"relays"`
	// EgressMbps is what the origin sends to the edges.
	EgressMbps float64 `json:"egressMbps"`
	// LoadPercent is that egress in percent of the Droplet's network cap; 0 for a bring-your-own origin.
	LoadPercent float64 `json:"loadPercent"`
	// TranscodeCores estimates the CPU the ladder takes; 0 without renditions.
	TranscodeCores float64 `json:"transcodeCores"`
	// RecordingGiBPerHour is the disk the recording fills per hour; 0 when not recording.
	RecordingGiBPerHour float64 `json:"recordingGiBPerHour"`
	// RecordingHours is how long the recording fits on the Droplet's disk; 0 when not recording or BYO.
	RecordingHours float64 `json:"recordingHours"`
	// CostPerHourUSD is the origin Droplet; 0 for a bring-your-own origin.
	CostPerHourUSD float64 `json:"costPerHourUsd"`
}

// Cost is the hourly cost of the event while it runs.
type Cost struct {
	// EdgesPerHourUSD is the edge Droplets at list price.
	EdgesPerHourUSD float64 `json:"edgesPerHourUsd"`
	// DropletsPerHourUSD is the origin and edge Droplets at list price.
	DropletsPerHourUSD float64 `json:"dropletsPerHourUsd"`
	// EgressGiBPerHour is viewer egress plus origin-to-edge egress (DigitalOcean bills both).
	EgressGiBPerHour float64 `json:"egressGiBPerHour"`
	// AllowanceGiBPerHour is the transfer allowance these Droplets accrue per hour. Allowance pooled from
	// the team's other Droplets is not counted: the estimate errs high.
	AllowanceGiBPerHour float64 `json:"allowanceGiBPerHour"`
	// OveragePerHourUSD is egress past the allowance at config.EgressUSDPerGiB; never negative.
	OveragePerHourUSD float64 `json:"overagePerHourUsd"`
	// PerHourUSD is the total.
	PerHourUSD float64 `json:"perHourUsd"`
}

// Plan sizes the edges and prices the event. It returns an error for input it cannot plan (an unknown
// size, an edge group without a count and no audience) and when the planned edges exceed
// config.MaxEdgesPerRegion or config.MaxEdges, with the size that would fit; softer findings, such as an
// explicit count below what the audience needs, are Warnings.
func Plan(in Input) (Result, error) {
	res := Result{
		ViewerKbps:         viewerKbps(in.Stream),
		FeedKbps:           feedKbps(in.Stream),
		TLSCPUSecondsPerGB: TLSCPUSecondsPerGB,
		Warnings:           []string{},
	}
	switch {
	case len(in.Edges) == 0:
		return Result{}, errors.New("plan: no edge groups")
	case res.ViewerKbps <= 0:
		return Result{}, fmt.Errorf("plan: a viewer's bitrate is %d kbps; the stream has no bitrates", res.ViewerKbps)
	}

	// Regions come out sorted whatever order the input has, so outputs do not churn.
	groups := slices.SortedFunc(slices.Values(in.Edges), func(a, b config.EdgeGroup) int {
		return cmp.Compare(a.Region, b.Region)
	})
	var errs []error
	var viewerEgressKbps, edgesUSD, allowanceGiB float64
	for _, g := range groups {
		r, warnings, err := planRegion(g, in.Audience, res.ViewerKbps)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		res.Regions = append(res.Regions, r)
		res.Warnings = append(res.Warnings, warnings...)
		res.EdgesTotal += r.Edges
		res.Viewers += r.Viewers
		viewerEgressKbps += float64(r.Viewers * res.ViewerKbps)
		size, _ := config.LookupSize(r.Size)
		edgesUSD += float64(r.Edges) * size.PriceHourlyUSD()
		allowanceGiB += float64(r.Edges) * size.TransferGiBPerHour()
	}
	if res.EdgesTotal > config.MaxEdges {
		errs = append(errs, fmt.Errorf("plan: %d edges in total, more than %d: choose larger sizes "+
			"(premium -amd sizes carry 10 Gbps) or set lower counts", res.EdgesTotal, config.MaxEdges))
	}
	if err := errors.Join(errs...); err != nil {
		return Result{}, err
	}

	origin, warnings, err := planOrigin(in.Origin, in.Stream, res.EdgesTotal, res.FeedKbps)
	if err != nil {
		return Result{}, err
	}
	res.Origin = origin
	res.Warnings = append(res.Warnings, warnings...)
	egressKbps, dropletsUSD := viewerEgressKbps, edgesUSD
	if !origin.BYO {
		// A bring-your-own origin's uplink is not DigitalOcean's to bill.
		size, _ := config.LookupSize(origin.Size)
		dropletsUSD += size.PriceHourlyUSD()
		allowanceGiB += size.TransferGiBPerHour()
		egressKbps += float64(res.EdgesTotal * res.FeedKbps)
	}
	egressGiB := gibPerHour(egressKbps)
	overageUSD := max(0, egressGiB-allowanceGiB) * config.EgressUSDPerGiB
	res.ViewerEgressGbps = round(viewerEgressKbps/1e6, 3)
	res.Cost = Cost{
		EdgesPerHourUSD:     round(edgesUSD, 4),
		DropletsPerHourUSD:  round(dropletsUSD, 4),
		EgressGiBPerHour:    round(egressGiB, 1),
		AllowanceGiBPerHour: round(allowanceGiB, 1),
		OveragePerHourUSD:   round(overageUSD, 4),
		PerHourUSD:          round(dropletsUSD+overageUSD, 4),
	}
	if in.Audience == nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("no %s: edge counts are as configured, and viewer "+
			"egress and its cost are not estimated", config.KeyAudience))
	}
	return res, nil
}

func planRegion(g config.EdgeGroup, a *config.Audience, perViewerKbps int) (Region, []string, error) {
	size, ok := config.LookupSize(g.Size)
	if !ok {
		return Region{}, nil, fmt.Errorf("plan: region %s: unknown size %q", g.Region, g.Size)
	}
	c := edgeCapacity(size, perViewerKbps)
	perEdge := c.viewers()
	if perEdge < 1 {
		return Region{}, nil, fmt.Errorf("plan: region %s: one viewer at %d kbps is more than a %s edge carries "+
			"(%s-bound)", g.Region, perViewerKbps, g.Size, c.limitedBy())
	}
	r := Region{
		Region:                g.Region,
		Size:                  g.Size,
		NetworkGbps:           size.NetworkGbps,
		ViewersPerEdge:        perEdge,
		NetworkViewersPerEdge: c.network,
		CPUViewersPerEdge:     c.cpu,
		LimitedBy:             c.limitedBy(),
		VCPUs:                 size.VCPUs,
		Workers:               EdgeWorkers(size),
		Configured:            g.Count,
	}
	var warnings []string
	if r.LimitedBy == LimitCPU {
		warnings = append(warnings, fmt.Sprintf("%s: %s edges are limited by CPU, not network: HTTPS at %.2f CPU s/GB "+
			"on %g of %d vCPU sends %.2f Gbps, less than %.0f%% of %g Gbps; %d viewers per edge instead of %d. "+
			"A size with more vCPUs per Gbps serves more", g.Region, g.Size, TLSCPUSecondsPerGB,
			TLSCPUShare*float64(size.VCPUs), size.VCPUs, tlsGbps(size), 100*UtilizationTarget, size.NetworkGbps,
			c.cpu, c.network))
	}
	if a != nil {
		r.Viewers = int(math.Ceil(float64(a.Viewers)*a.ShareOf(g.Region) - 1e-9))
		r.Needed = max(1, ceilDiv(r.Viewers, perEdge))
		if a.Redundancy {
			r.Needed++
		}
	}
	switch {
	case g.Count > 0:
		r.Edges = g.Count
		if g.Count < r.Needed {
			warnings = append(warnings, fmt.Sprintf("%s: %d %s configured but %d needed for %d viewers at %d kbps "+
				"(%d per %s edge%s); raise the count of the %s group in %s, or remove it to let the planner decide",
				g.Region, g.Count, plural(g.Count, "edge", "edges"), r.Needed, r.Viewers, perViewerKbps, perEdge,
				g.Size, redundancyNote(a), g.Region, config.KeyEdges))
		}
	case a != nil:
		r.Edges = r.Needed
	default:
		return Region{}, nil, fmt.Errorf("plan: region %s: no count and no %s to plan one from", g.Region, config.KeyAudience)
	}
	if r.Edges > config.MaxEdgesPerRegion {
		return Region{}, nil, fmt.Errorf("plan: region %s needs %d edges of %s, more than %d per region: %s",
			g.Region, r.Edges, g.Size, config.MaxEdgesPerRegion, largerSize(r.Viewers, perViewerKbps, a))
	}
	r.Capacity = r.Edges * perEdge
	r.EgressGbps = round(float64(r.Viewers*perViewerKbps)/1e6, 3)
	r.TLSCoresPerEdge = round(float64(r.Viewers*perViewerKbps)/float64(r.Edges)*1e3/8/1e9*TLSCPUSecondsPerGB, 2)
	r.LoadPercent = round(100*float64(r.Viewers*perViewerKbps)/(float64(r.Edges)*size.NetworkGbps*1e6), 1)
	r.CostPerHourUSD = round(float64(r.Edges)*size.PriceHourlyUSD(), 4)
	return r, warnings, nil
}

func planOrigin(o config.Origin, st config.Stream, edges, feed int) (Origin, []string, error) {
	res := Origin{
		Size:           o.Size,
		BYO:            o.BYO != nil,
		Relays:         edges * max(1, len(st.Renditions)),
		EgressMbps:     round(float64(edges*feed)/1000, 1),
		TranscodeCores: round(transcodeCores(st), 2),
	}
	var warnings []string
	recordingGiB := 0.0
	if st.Record {
		recordingGiB = gibPerHour(float64(st.SourceKbps + st.AudioKbps))
		res.RecordingGiBPerHour = round(recordingGiB, 2)
	}
	if res.BYO {
		warnings = append(warnings, fmt.Sprintf("origin: the bring-your-own origin sends %.1f Mbps to the edges "+
			"on top of receiving the encoder: check that its uplink carries both", res.EgressMbps))
		if res.TranscodeCores > 0 {
			warnings = append(warnings, fmt.Sprintf("origin: the ladder needs about %.1f cores to transcode: "+
				"check that the bring-your-own origin has them to spare", res.TranscodeCores))
		}
		return res, warnings, nil
	}
	size, ok := config.LookupSize(o.Size)
	if !ok {
		return Origin{}, nil, fmt.Errorf("plan: origin: unknown size %q", o.Size)
	}
	res.CostPerHourUSD = round(size.PriceHourlyUSD(), 4)
	res.LoadPercent = round(100*float64(edges*feed)/(size.NetworkGbps*1e6), 1)
	if res.LoadPercent > 100*UtilizationTarget {
		warnings = append(warnings, fmt.Sprintf("origin: %.1f Mbps to the edges is %.0f%% of %s's %g Gbps; "+
			"choose a premium -amd size for 10 Gbps", res.EgressMbps, res.LoadPercent, o.Size, size.NetworkGbps))
	}
	if res.TranscodeCores > float64(size.VCPUs)*UtilizationTarget {
		warnings = append(warnings, fmt.Sprintf("origin: the ladder needs about %.1f cores to transcode "+
			"(estimated from 0.4 core per 720p rendition) but %s has %d vCPU; choose a size with at least %d",
			res.TranscodeCores, o.Size, size.VCPUs, int(math.Ceil(res.TranscodeCores/UtilizationTarget))))
	}
	if recordingGiB > 0 {
		res.RecordingHours = round(float64(size.DiskGiB-diskReserveGiB)/recordingGiB, 1)
		if res.RecordingHours < recordingWarnHours {
			warnings = append(warnings, fmt.Sprintf("origin: the recording fills %s's %d GiB disk after %.1f hours; "+
				"choose a size with more disk or copy recordings off during the event",
				o.Size, size.DiskGiB, res.RecordingHours))
		}
	}
	return res, warnings, nil
}

// viewerKbps is the worst case for one viewer: the top rendition, or the source without a ladder.
func viewerKbps(st config.Stream) int {
	if len(st.Renditions) == 0 {
		return st.SourceKbps + st.AudioKbps
	}
	return st.Renditions[0].VideoKbps + st.AudioKbps
}

// feedKbps is what one edge pulls: each rendition with its own audio, or the source.
func feedKbps(st config.Stream) int {
	if len(st.Renditions) == 0 {
		return st.SourceKbps + st.AudioKbps
	}
	total := 0
	for _, r := range st.Renditions {
		total += r.VideoKbps + st.AudioKbps
	}
	return total
}

func transcodeCores(st config.Stream) float64 {
	total := 0.0
	for _, r := range st.Renditions {
		total += transcodeCoresPer720p * float64(r.Width*r.Height) / (1280 * 720)
	}
	return total
}

// capacity is how many viewers one edge serves by each limit.
type capacity struct{ network, cpu int }

func (c capacity) viewers() int { return min(c.network, c.cpu) }

// limitedBy names the cap that applies; the network wins a tie.
func (c capacity) limitedBy() string {
	if c.cpu < c.network {
		return LimitCPU
	}
	return LimitNetwork
}

// edgeCapacity is how many viewers at perViewerKbps fit in UtilizationTarget of the size's network cap,
// and how many TLSCPUShare of its vCPUs can send over HTTPS.
func edgeCapacity(size config.Size, perViewerKbps int) capacity {
	return capacity{
		network: int(size.NetworkGbps * 1e6 * UtilizationTarget / float64(perViewerKbps)),
		cpu:     int(tlsGbps(size) * 1e6 / float64(perViewerKbps)),
	}
}

// tlsGbps is what TLSCPUShare of the size's vCPUs can send over HTTPS: cores / (CPU s per GB) GB/s.
func tlsGbps(size config.Size) float64 {
	return TLSCPUShare * float64(size.VCPUs) / TLSCPUSecondsPerGB * 8
}

// largerSize suggests the cheapest size whose edges would fit the region within the per-region cap.
func largerSize(viewers, perViewerKbps int, a *config.Audience) string {
	extra := 0
	if a != nil && a.Redundancy {
		extra = 1
	}
	for _, s := range config.Sizes() {
		perEdge := edgeCapacity(s, perViewerKbps).viewers()
		if perEdge >= 1 && max(1, ceilDiv(viewers, perEdge))+extra <= config.MaxEdgesPerRegion {
			return fmt.Sprintf("choose a size with more network, e.g. %s (%g Gbps, %d vCPU, %d viewers each)",
				s.Slug, s.NetworkGbps, s.VCPUs, perEdge)
		}
	}
	return "no listed size fits: lower the bitrate or split the audience across more regions"
}

// gibPerHour converts a rate in kbps to GiB sent per hour.
func gibPerHour(kbps float64) float64 { return kbps * 1000 / 8 * 3600 / (1 << 30) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func redundancyNote(a *config.Audience) string {
	if a != nil && a.Redundancy {
		return ", plus 1 for redundancy"
	}
	return ""
}
