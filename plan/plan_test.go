package plan

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
)

// The animecon ladder: 1080p 5000 + 720p 2800 + 480p 1200 kbps video, 128 kbps audio each.
var ladder = config.Stream{
	Name: "animecon", FragmentSeconds: 2, PlaylistSeconds: 12, AudioKbps: 128, SourceKbps: 6000,
	Renditions: []config.Rendition{
		{Name: "1080p", Width: 1920, Height: 1080, VideoKbps: 5000},
		{Name: "720p", Width: 1280, Height: 720, VideoKbps: 2800},
		{Name: "480p", Width: 854, Height: 480, VideoKbps: 1200},
	},
}

// passthrough has no ladder: viewers and edges both get the 6000 kbps source plus 128 kbps audio.
var passthrough = config.Stream{Name: "dev", FragmentSeconds: 2, PlaylistSeconds: 12, AudioKbps: 128, SourceKbps: 6000}

func threeRegions(size string) []config.EdgeGroup {
	return []config.EdgeGroup{{Region: "ams3", Size: size}, {Region: "nyc3", Size: size}, {Region: "sgp1", Size: size}}
}

var animeconAudience = &config.Audience{
	Viewers:    2000,
	Shares:     []config.Share{{Region: "ams3", Fraction: 0.5}, {Region: "nyc3", Fraction: 0.3}, {Region: "sgp1", Fraction: 0.2}},
	Redundancy: true,
}

func TestPlanAnimeconPremiumEdges(t *testing.T) {
	res, err := Plan(Input{
		Stream: ladder, Origin: config.Origin{Region: "ams3", Size: "c-4"},
		Edges: threeRegions("s-4vcpu-8gb-amd"), Audience: animeconAudience,
	})
	require.NoError(t, err)

	// A viewer pulls the top rendition: 5000 + 128 = 5128 kbps.
	require.Equal(t, 5128, res.ViewerKbps)
	// An edge pulls every rendition: 5128 + 2928 + 1328 = 9384 kbps.
	require.Equal(t, 9384, res.FeedKbps)
	require.Equal(t, 2000, res.Viewers)
	// 10 Gbps * 0.7 = 7,000,000 kbps / 5128 = 1365.05 -> 1365 viewers per edge. Every region fits on one
	// edge (1000, 600, 400 viewers) and redundancy adds one: 2 each, 6 in all.
	require.Equal(t, []Region{
		// Load: 1000 * 5128 / (2 * 10,000,000) = 25.64%. Cost: 2 * $56 / 672 = $0.1667 per hour.
		{Region: "ams3", Size: "s-4vcpu-8gb-amd", NetworkGbps: 10, Viewers: 1000, ViewersPerEdge: 1365, Needed: 2,
			Edges: 2, Capacity: 2730, LoadPercent: 25.6, EgressGbps: 5.128, CostPerHourUSD: 0.1667,
			// 2 of 4 vCPUs at 0.7 CPU s/GB send 2 / 0.7 * 8 = 22.86 Gbps: 4457 viewers, so the NIC limits.
			NetworkViewersPerEdge: 1365, CPUViewersPerEdge: 4457, LimitedBy: LimitNetwork, VCPUs: 4, Workers: 2,
			// 500 viewers per edge * 5128 kbps = 320.5 MB/s * 0.7 CPU s/GB = 0.22 cores.
			TLSCoresPerEdge: 0.22},
		// 600 * 5128 = 3.0768 Gbps, 15.38% of two edges.
		{Region: "nyc3", Size: "s-4vcpu-8gb-amd", NetworkGbps: 10, Viewers: 600, ViewersPerEdge: 1365, Needed: 2,
			Edges: 2, Capacity: 2730, LoadPercent: 15.4, EgressGbps: 3.077, CostPerHourUSD: 0.1667,
			NetworkViewersPerEdge: 1365, CPUViewersPerEdge: 4457, LimitedBy: LimitNetwork, VCPUs: 4, Workers: 2,
			TLSCoresPerEdge: 0.13},
		// 400 * 5128 = 2.0512 Gbps, 10.26% of two edges.
		{Region: "sgp1", Size: "s-4vcpu-8gb-amd", NetworkGbps: 10, Viewers: 400, ViewersPerEdge: 1365, Needed: 2,
			Edges: 2, Capacity: 2730, LoadPercent: 10.3, EgressGbps: 2.051, CostPerHourUSD: 0.1667,
			NetworkViewersPerEdge: 1365, CPUViewersPerEdge: 4457, LimitedBy: LimitNetwork, VCPUs: 4, Workers: 2,
			TLSCoresPerEdge: 0.09},
	}, res.Regions)
	require.Equal(t, 6, res.EdgesTotal)
	require.Equal(t, Origin{
		Size: "c-4",
		// 6 edges * 3 renditions.
		Relays: 18,
		// 6 * 9384 kbps = 56.304 Mbps, 2.8% of c-4's 2 Gbps.
		EgressMbps: 56.3, LoadPercent: 2.8,
		// 0.4 * (2.25 + 1 + 0.4448) pixel-weighted 720p renditions = 1.478 cores.
		TranscodeCores: 1.48,
		CostPerHourUSD: 0.125, // $84 / 672
	}, res.Origin)
	// 2000 * 5128 kbps.
	require.Equal(t, 10.256, res.ViewerEgressGbps)
	require.Equal(t, Cost{
		// 6 * $56 / 672 = $0.50; the sum of the regions' rounded $0.1667 would say $0.5001.
		EdgesPerHourUSD: 0.5,
		// + $84 / 672 = $0.125 for the origin.
		DropletsPerHourUSD: 0.625,
		// (10,256,000 + 56,304) kbps * 1000 / 8 * 3600 s / 2^30 = 4321.8 GiB.
		EgressGiBPerHour: 4321.8,
		// 7 Droplets * 5000 GiB / 672 h = 52.08 GiB.
		AllowanceGiBPerHour: 52.1,
		// (4321.83 - 52.08) * $0.01.
		OveragePerHourUSD: 42.6975,
		PerHourUSD:        43.3225,
	}, res.Cost)
	require.Empty(t, res.Warnings)
}

func TestPlanAnimeconRegularEdges(t *testing.T) {
	res, err := Plan(Input{
		Stream: ladder, Origin: config.Origin{Region: "ams3", Size: "c-4"},
		Edges: threeRegions("s-4vcpu-8gb"), Audience: animeconAudience,
	})
	require.NoError(t, err)
	// 2 Gbps * 0.7 = 1,400,000 kbps / 5128 = 273.01 -> 273 viewers per edge.
	// ams3: ceil(1000/273) = 4, +1 = 5; nyc3: ceil(600/273) = 3, +1 = 4; sgp1: ceil(400/273) = 2, +1 = 3.
	var edges []int
	for _, r := range res.Regions {
		require.Equal(t, 273, r.ViewersPerEdge)
		edges = append(edges, r.Edges)
	}
	require.Equal(t, []int{5, 4, 3}, edges)
	require.Equal(t, 12, res.EdgesTotal)
	// 12 * $48 / 672 + $0.125 = $0.8571 + $0.125: twice the edges cost more than the premium plan's $0.625.
	require.Equal(t, 0.9821, res.Cost.DropletsPerHourUSD)
	require.Less(t, 0.625, res.Cost.DropletsPerHourUSD)
}

func TestPlanExplicitCountBelowNeeded(t *testing.T) {
	res, err := Plan(Input{
		Stream: passthrough, Origin: config.Origin{Region: "ams3", Size: "s-1vcpu-1gb"},
		Edges:    []config.EdgeGroup{{Region: "ams3", Size: "s-1vcpu-1gb", Count: 1}},
		Audience: &config.Audience{Viewers: 500, Shares: []config.Share{{Region: "ams3", Fraction: 1}}},
	})
	require.NoError(t, err)
	r := res.Regions[0]
	// 1,400,000 / 6128 = 228.46 -> 228 per edge; ceil(500/228) = 3 needed, 1 configured and deployed.
	require.Equal(t, 228, r.ViewersPerEdge)
	require.Equal(t, 3, r.Needed)
	require.Equal(t, 1, r.Configured)
	require.Equal(t, 1, r.Edges)
	require.Equal(t, 228, r.Capacity)
	// 500 * 6128 / 2,000,000 = 153.2%: the edge is overloaded, which is what the warning is for.
	require.Equal(t, 153.2, r.LoadPercent)
	require.Equal(t, []string{"ams3: 1 edge configured but 3 needed for 500 viewers at 6128 kbps (228 per s-1vcpu-1gb edge); " +
		"raise the count of the ams3 group in livecdn:edges, or remove it to let the planner decide"}, res.Warnings)
}

func TestPlanWithoutAudience(t *testing.T) {
	res, err := Plan(Input{
		Stream: passthrough, Origin: config.Origin{Region: "ams3", Size: "s-1vcpu-1gb"},
		Edges: []config.EdgeGroup{{Region: "ams3", Size: "s-1vcpu-1gb", Count: 2}, {Region: "sgp1", Size: "s-1vcpu-1gb-amd", Count: 1}},
	})
	require.NoError(t, err)
	// No audience: counts as configured, capacity from them: 228 per regular edge; the premium edge's NIC
	// would take 7e6/6128 = 1142 but its one vCPU encrypts for 932.
	require.Equal(t, Region{Region: "ams3", Size: "s-1vcpu-1gb", NetworkGbps: 2, ViewersPerEdge: 228, Configured: 2,
		Edges: 2, Capacity: 456, CostPerHourUSD: 0.0179, NetworkViewersPerEdge: 228, CPUViewersPerEdge: 932,
		LimitedBy: LimitNetwork, VCPUs: 1, Workers: 1}, res.Regions[0])
	require.Equal(t, 932, res.Regions[1].Capacity)
	require.Equal(t, LimitCPU, res.Regions[1].LimitedBy)
	require.Zero(t, res.Viewers)
	require.Zero(t, res.ViewerEgressGbps)
	// Only origin-to-edge egress is known: 3 edges * 6128 kbps = 18,384 kbps = 7.70 GiB per hour, against
	// an allowance of 4 Droplets * 1000 GiB / 672 h = 5.95 GiB: (7.70 - 5.95) * $0.01 of overage.
	require.Equal(t, 7.7, res.Cost.EgressGiBPerHour)
	require.Equal(t, 6.0, res.Cost.AllowanceGiBPerHour)
	require.Equal(t, 0.0175, res.Cost.OveragePerHourUSD)
	require.Equal(t, []string{"sgp1: s-1vcpu-1gb-amd edges are limited by CPU, not network: HTTPS at 0.70 CPU s/GB on 0.5 " +
		"of 1 vCPU sends 5.71 Gbps, less than 70% of 10 Gbps; 932 viewers per edge instead of 1142. A size with more " +
		"vCPUs per Gbps serves more",
		"no livecdn:audience: edge counts are as configured, and viewer egress and its cost are not estimated"},
		res.Warnings)
}

func TestPlanSortsRegions(t *testing.T) {
	edges := threeRegions("c-2")
	slices.Reverse(edges)
	res, err := Plan(Input{Stream: passthrough, Origin: config.Origin{Size: "c-2"}, Edges: edges, Audience: animeconAudience})
	require.NoError(t, err)
	require.Equal(t, []string{"ams3", "nyc3", "sgp1"}, []string{res.Regions[0].Region, res.Regions[1].Region, res.Regions[2].Region})
	require.Equal(t, "nyc3", edges[1].Region, "the input is left alone")
}

func TestPlanRedundancyShortfall(t *testing.T) {
	res, err := Plan(Input{
		Stream: passthrough, Origin: config.Origin{Size: "c-2"},
		Edges:    []config.EdgeGroup{{Region: "ams3", Size: "s-1vcpu-1gb", Count: 1}},
		Audience: &config.Audience{Viewers: 100, Shares: []config.Share{{Region: "ams3", Fraction: 1}}, Redundancy: true},
	})
	require.NoError(t, err)
	// 100 viewers fit one edge (228), but redundancy asks for a second.
	require.Equal(t, 2, res.Regions[0].Needed)
	require.Contains(t, res.Warnings[0], "(228 per s-1vcpu-1gb edge, plus 1 for redundancy)")
}

func TestPlanSharesRoundUp(t *testing.T) {
	res, err := Plan(Input{
		Stream: passthrough, Origin: config.Origin{Region: "ams3", Size: "s-1vcpu-1gb"},
		Edges: threeRegions("s-1vcpu-1gb"),
		Audience: &config.Audience{Viewers: 1000, Shares: []config.Share{
			{Region: "ams3", Fraction: 0.333}, {Region: "nyc3", Fraction: 0.333}, {Region: "sgp1", Fraction: 0.334},
		}},
	})
	require.NoError(t, err)
	// 1000 * 0.333 is 333.00000000000006 in floating point: still 333 viewers, not 334.
	require.Equal(t, []int{333, 333, 334}, []int{res.Regions[0].Viewers, res.Regions[1].Viewers, res.Regions[2].Viewers})
	// ceil(333/228) = 2 edges each.
	require.Equal(t, 6, res.EdgesTotal)
}

func TestPlanOverageNeverNegative(t *testing.T) {
	// 100 + 32 kbps to one viewer and to one edge: 264 kbps is 0.11 GiB an hour, against an allowance of
	// 2 Droplets * 1000 GiB / 672 h = 2.98 GiB.
	tiny := config.Stream{Name: "t", FragmentSeconds: 2, PlaylistSeconds: 12, AudioKbps: 32, SourceKbps: 100}
	res, err := Plan(Input{
		Stream: tiny, Origin: config.Origin{Region: "ams3", Size: "s-1vcpu-1gb"},
		Edges:    []config.EdgeGroup{{Region: "ams3", Size: "s-1vcpu-1gb"}},
		Audience: &config.Audience{Viewers: 1, Shares: []config.Share{{Region: "ams3", Fraction: 1}}},
	})
	require.NoError(t, err)
	require.Equal(t, 0.1, res.Cost.EgressGiBPerHour)
	require.Zero(t, res.Cost.OveragePerHourUSD)
	require.Equal(t, res.Cost.DropletsPerHourUSD, res.Cost.PerHourUSD)
}

func TestPlanOriginWarnings(t *testing.T) {
	recorded := ladder
	recorded.Record = true
	res, err := Plan(Input{
		Stream: recorded, Origin: config.Origin{Region: "ams3", Size: "s-1vcpu-1gb"},
		Edges:    []config.EdgeGroup{{Region: "ams3", Size: "s-1vcpu-1gb", Count: 1}},
		Audience: &config.Audience{Viewers: 10, Shares: []config.Share{{Region: "ams3", Fraction: 1}}},
	})
	require.NoError(t, err)
	// 6128 kbps of source is 2.568 GiB an hour; (25 - 5) GiB / 2.568 = 7.8 hours.
	require.Equal(t, 2.57, res.Origin.RecordingGiBPerHour)
	require.Equal(t, 7.8, res.Origin.RecordingHours)
	require.Equal(t, []string{
		// 1.478 cores / 0.7 = 2.1 -> at least 3 vCPUs.
		"origin: the ladder needs about 1.5 cores to transcode (estimated from 0.4 core per 720p rendition) " +
			"but s-1vcpu-1gb has 1 vCPU; choose a size with at least 3",
		"origin: the recording fills s-1vcpu-1gb's 25 GiB disk after 7.8 hours; choose a size with more disk " +
			"or copy recordings off during the event",
	}, res.Warnings)
}

func TestPlanBringYourOwnOrigin(t *testing.T) {
	res, err := Plan(Input{
		Stream:   passthrough,
		Origin:   config.Origin{BYO: &config.BYOOrigin{User: "root", Port: 22}},
		Edges:    []config.EdgeGroup{{Region: "ams3", Size: "s-1vcpu-1gb", Count: 2}},
		Audience: &config.Audience{Viewers: 100, Shares: []config.Share{{Region: "ams3", Fraction: 1}}},
	})
	require.NoError(t, err)
	require.Equal(t, Origin{BYO: true, Relays: 2, EgressMbps: 12.3}, res.Origin)
	// Only the two edges are DigitalOcean's: 2 * $6 / 672, and only viewer egress is billed:
	// 100 * 6128 kbps = 612,800 kbps = 256.8 GiB an hour.
	require.Equal(t, 0.0179, res.Cost.DropletsPerHourUSD)
	require.Equal(t, 256.8, res.Cost.EgressGiBPerHour)
	require.Equal(t, []string{"origin: the bring-your-own origin sends 12.3 Mbps to the edges on top of receiving " +
		"the encoder: check that its uplink carries both"}, res.Warnings)
}

func TestPlanErrors(t *testing.T) {
	one := func(viewers int, size string) Input {
		return Input{
			Stream: passthrough, Origin: config.Origin{Region: "ams3", Size: "s-1vcpu-1gb"},
			Edges:    []config.EdgeGroup{{Region: "ams3", Size: size}},
			Audience: &config.Audience{Viewers: viewers, Shares: []config.Share{{Region: "ams3", Fraction: 1}}},
		}
	}
	tests := []struct {
		name string
		in   Input
		want string
	}{
		// ceil(10000/228) = 44 regular edges. The cheapest premium size's NIC takes 1142 but its one vCPU
		// encrypts for only 932 (see TestEdgeCapacity): 11 of them.
		{"region above the cap", one(10000, "s-1vcpu-1gb"),
			"plan: region ams3 needs 44 edges of s-1vcpu-1gb, more than 20 per region: choose a size with more network, " +
				"e.g. s-1vcpu-1gb-amd (10 Gbps, 1 vCPU, 932 viewers each)"},
		{"unknown size", one(10, "s-2vcpu-3gb"), `plan: region ams3: unknown size "s-2vcpu-3gb"`},
		{"no count and no audience", Input{Stream: passthrough, Origin: config.Origin{Size: "c-2"},
			Edges: []config.EdgeGroup{{Region: "ams3", Size: "c-2"}}}, "plan: region ams3: no count and no livecdn:audience"},
		{"no edges", Input{Stream: passthrough}, "plan: no edge groups"},
		{"no bitrate", Input{Edges: []config.EdgeGroup{{Region: "ams3", Size: "c-2", Count: 1}}}, "the stream has no bitrates"},
		{"too many edges in all", Input{Stream: passthrough, Origin: config.Origin{Size: "c-2"}, Edges: []config.EdgeGroup{
			{Region: "ams3", Size: "c-2", Count: 20}, {Region: "nyc3", Size: "c-2", Count: 20}, {Region: "sgp1", Size: "c-2", Count: 11}}},
			"plan: 51 edges in total, more than 50"},
		{"unknown origin size", Input{Stream: passthrough, Origin: config.Origin{Size: "huge"},
			Edges: []config.EdgeGroup{{Region: "ams3", Size: "c-2", Count: 1}}}, `plan: origin: unknown size "huge"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(tt.in)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestPlanCommittedStacks plans both committed stacks end to end and checks the figures their comments
// promise.
func TestPlanCommittedStacks(t *testing.T) {
	s, err := config.LoadStackFile("../Pulumi.animecon.yaml")
	require.NoError(t, err)
	res, err := Plan(InputFrom(s))
	require.NoError(t, err)
	require.Equal(t, 6, res.EdgesTotal, "2 premium edges per region with redundancy")
	require.GreaterOrEqual(t, res.Regions[0].Capacity+res.Regions[1].Capacity+res.Regions[2].Capacity, 2000)
	require.Equal(t, 17.5, res.Origin.RecordingHours, "the comment in Pulumi.animecon.yaml says about 17 hours")
	require.Empty(t, res.Warnings)

	s, err = config.LoadStackFile("../Pulumi.dev.yaml")
	require.NoError(t, err)
	res, err = Plan(InputFrom(s))
	require.NoError(t, err)
	require.Equal(t, 1, res.EdgesTotal)
	// Two s-1vcpu-1gb: 2 * $6 / 672.
	require.Equal(t, 0.0179, res.Cost.DropletsPerHourUSD)
}

// TestResultJSON pins the field names the Pulumi program exports as stack outputs.
func TestResultJSON(t *testing.T) {
	res, err := Plan(Input{
		Stream: passthrough, Origin: config.Origin{Region: "ams3", Size: "s-1vcpu-1gb"},
		Edges: []config.EdgeGroup{{Region: "ams3", Size: "s-1vcpu-1gb", Count: 1}},
	})
	require.NoError(t, err)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	require.ElementsMatch(t, []string{"viewerKbps", "feedKbps", "viewers", "regions", "edgesTotal", "origin",
		"viewerEgressGbps", "cost", "tlsCpuSecondsPerGB", "warnings"}, keys(m))
	require.ElementsMatch(t, []string{"region", "size", "networkGbps", "viewers", "viewersPerEdge", "needed",
		"configured", "edges", "capacity", "loadPercent", "egressGbps", "costPerHourUsd", "networkViewersPerEdge",
		"cpuViewersPerEdge", "limitedBy", "vcpus", "workers", "tlsCoresPerEdge"},
		keys(m["regions"].([]any)[0].(map[string]any)))
	require.ElementsMatch(t, []string{"edgesPerHourUsd", "dropletsPerHourUsd", "egressGiBPerHour", "allowanceGiBPerHour",
		"overagePerHourUsd", "perHourUsd"}, keys(m["cost"].(map[string]any)))
}

// TestEdgeCapacity checks that viewers per edge never exceed what TLSCPUShare of the vCPUs can encrypt at
// TLSCPUSecondsPerGB: the 1-vCPU premium sizes have a 10 Gbps NIC but half a vCPU for HTTPS sends only
// 0.5 / 0.7 * 8 = 5.71 Gbps, less than the 7 Gbps the NIC would take.
func TestEdgeCapacity(t *testing.T) {
	tests := []struct {
		size                 string
		stream               config.Stream
		network, cpu, viewer int
		limitedBy            string
	}{
		// 7,000,000 / 6128 = 1142 by the NIC; 5,714,286 / 6128 = 932 by the CPU.
		{"s-1vcpu-1gb-amd", passthrough, 1142, 932, 932, LimitCPU},
		{"s-1vcpu-2gb-amd", ladder, 1365, 1114, 1114, LimitCPU},
		// 2 vCPUs: 1 / 0.7 * 8 = 11.43 Gbps, above 7: the NIC limits.
		{"s-2vcpu-4gb-amd", ladder, 1365, 2228, 1365, LimitNetwork},
		{"s-4vcpu-8gb-amd", ladder, 1365, 4457, 1365, LimitNetwork},
		// Regular sizes: 1.4 Gbps of NIC against 5.71 Gbps of half a vCPU.
		{"s-1vcpu-1gb", passthrough, 228, 932, 228, LimitNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.size, func(t *testing.T) {
			res, err := Plan(Input{
				Stream: tt.stream, Origin: config.Origin{Region: "ams3", Size: "c-4"},
				Edges:    []config.EdgeGroup{{Region: "ams3", Size: tt.size}},
				Audience: &config.Audience{Viewers: 4000, Shares: []config.Share{{Region: "ams3", Fraction: 1}}},
			})
			require.NoError(t, err)
			r := res.Regions[0]
			require.Equal(t, tt.network, r.NetworkViewersPerEdge)
			require.Equal(t, tt.cpu, r.CPUViewersPerEdge)
			require.Equal(t, tt.viewer, r.ViewersPerEdge)
			require.Equal(t, tt.limitedBy, r.LimitedBy)
			require.Equal(t, ceilDiv(4000, tt.viewer), r.Needed, "edges are planned from the lower cap")
			// The CPU the planned viewers take stays within TLSCPUShare of the vCPUs.
			require.LessOrEqual(t, r.TLSCoresPerEdge, TLSCPUShare*float64(r.VCPUs))
			cpuWarned := slices.ContainsFunc(res.Warnings, func(w string) bool {
				return strings.Contains(w, "limited by CPU")
			})
			require.Equal(t, tt.limitedBy == LimitCPU, cpuWarned, "warnings: %q", res.Warnings)
		})
	}
}

func TestPlanCPULimitWarning(t *testing.T) {
	res, err := Plan(Input{
		Stream: passthrough, Origin: config.Origin{Region: "ams3", Size: "c-4"},
		Edges: []config.EdgeGroup{{Region: "ams3", Size: "s-1vcpu-1gb-amd", Count: 1}},
	})
	require.NoError(t, err)
	require.Contains(t, res.Warnings, "ams3: s-1vcpu-1gb-amd edges are limited by CPU, not network: HTTPS at 0.70 CPU s/GB "+
		"on 0.5 of 1 vCPU sends 5.71 Gbps, less than 70% of 10 Gbps; 932 viewers per edge instead of 1142. "+
		"A size with more vCPUs per Gbps serves more")
	require.Equal(t, 0.7, res.TLSCPUSecondsPerGB)
}

func TestEdgeWorkers(t *testing.T) {
	for _, tt := range []struct {
		size string
		want int
	}{{"s-1vcpu-1gb", 1}, {"s-2vcpu-4gb-amd", 1}, {"s-4vcpu-8gb-amd", 2}, {"s-8vcpu-16gb-amd", 4}} {
		size, ok := config.LookupSize(tt.size)
		require.True(t, ok, tt.size)
		require.Equal(t, tt.want, EdgeWorkers(size), tt.size)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
