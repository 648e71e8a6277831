package config

import "slices"

// What Cloudflare allows, by plan, for the DNS records and the load balancer livecdn declares. The figures
// come from Cloudflare's documentation and API schema (read 2026-11); each constant names its page. They
// live here, in one place, because two layers check them: Validate, which tells an operator what to set,
// and the engine test's stand-in for Cloudflare (tests/engine/standin), which refuses what the real API
// would refuse.

// Cloudflare plan names, as a stack writes them in livecdn:dns.plan.
const (
	PlanFree       = "free"
	PlanPro        = "pro"
	PlanBusiness   = "business"
	PlanEnterprise = "enterprise"
)

// CloudflarePlan is what one Cloudflare plan allows a load balancer.
type CloudflarePlan struct {
	// Name is the plan as livecdn:dns.plan spells it.
	Name string
	// LoadBalancing says whether livecdn deploys Cloudflare Load Balancing on this plan. Cloudflare sells
	// Load Balancing as a paid add-on and documents monitor limits for Pro, Business and Enterprise only,
	// so livecdn refuses it on Free rather than guess.
	LoadBalancing bool
	// MinMonitorInterval is the shortest interval, in seconds, between two probes of a monitor: "Minimum
	// time in seconds is 60 (Pro), 15 (Business), and 10 (Enterprise)" (cloudflare-docs
	// src/content/partials/load-balancing/monitor-settings-advanced.mdx, shown on
	// https://developers.cloudflare.com/load-balancing/monitors/create-monitor/). 0 on Free: none known.
	MinMonitorInterval int
	// ProbeFromEveryDataCenter says whether a pool may be probed from every Cloudflare data centre (an
	// empty check_regions, or ALL_REGIONS): Enterprise only ("All Data Centers (Enterprise only)",
	// cloudflare-docs src/content/partials/load-balancing/monitor-health-check-regions-options.mdx; the
	// API's check_regions enum says "ALL_REGIONS: all regions (ENTERPRISE customers only)";
	// terraform-provider-cloudflare v4.52 internal/sdkv2provider/schema_cloudflare_load_balancer_pool.go
	// lines 62-70: "Empty means every Cloudflare data center (the default), but requires an Enterprise plan").
	ProbeFromEveryDataCenter bool
}

var cloudflarePlans = []CloudflarePlan{
	{Name: PlanFree},
	{Name: PlanPro, LoadBalancing: true, MinMonitorInterval: 60},
	{Name: PlanBusiness, LoadBalancing: true, MinMonitorInterval: 15},
	{Name: PlanEnterprise, LoadBalancing: true, MinMonitorInterval: 10, ProbeFromEveryDataCenter: true},
}

// LookupCloudflarePlan returns the plan with the given name; ok is false for a name Cloudflare does not use.
func LookupCloudflarePlan(name string) (CloudflarePlan, bool) {
	i := slices.IndexFunc(cloudflarePlans, func(p CloudflarePlan) bool { return p.Name == name })
	if i < 0 {
		return CloudflarePlan{}, false
	}
	return cloudflarePlans[i], true
}

func cloudflarePlanNames() []string {
	var out []string
	for _, p := range cloudflarePlans {
		out = append(out, p.Name)
	}
	return out
}

// Limits Cloudflare sets whatever the plan.
const (
	// MaxMonitorInterval is the longest interval between probes: "3600s (max)" on every plan
	// (cloudflare-docs src/content/docs/load-balancing/reference/limitations.mdx).
	MaxMonitorInterval = 3600
	// MinRecordTTL is the shortest TTL of a DNS record outside Enterprise (which allows 30), and
	// MaxRecordTTL the longest; 1 means "automatic" (Cloudflare API, DNS records: "Value must be between 60
	// and 86400, with the minimum reduced to 30 for Enterprise zones",
	// https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/create/).
	MinRecordTTL = 60
	MaxRecordTTL = 86400
	// AllRegions is the check_regions code for "all regions", which only Enterprise may use (see
	// CloudflarePlan.ProbeFromEveryDataCenter).
	AllRegions = "ALL_REGIONS"
)

// cloudflareRegionCodes are Cloudflare Load Balancing's 13 regions, the codes region_pools and
// check_regions take ("Region code" table of https://developers.cloudflare.com/load-balancing/reference/region-mapping-api/;
// the API's load-balancing_region_code enum).
var cloudflareRegionCodes = []string{
	"WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS",
}

// CloudflareRegionCodes returns Cloudflare's Load Balancing region codes, without AllRegions.
func CloudflareRegionCodes() []string { return slices.Clone(cloudflareRegionCodes) }

// Defaults of livecdn:dns's load-balancing fields; Pulumi.yaml declares the same.
const (
	// DefaultCloudflarePlan is the cheapest plan livecdn deploys load balancing on, so the defaults below
	// are valid on every plan that has it.
	DefaultCloudflarePlan = PlanPro
	// DefaultMonitorInterval is Pro's minimum (and Cloudflare's own default): an edge that loses the stream
	// leaves the answers after two failed probes, about two minutes; the player fails over by itself sooner.
	DefaultMonitorInterval = 60
)

// PoolCheckRegions returns the Cloudflare regions the pool of one edge region (a DigitalOcean slug) is
// probed from. Without livecdn:dns.checkRegions each pool is probed from the Cloudflare region its edges
// are in: three probes per interval from nearby data centres measure the edge rather than a long-haul
// path, cost the least on a plan that charges per region, and adding a region changes no other pool.
// An empty result means every data centre (an explicit `checkRegions: []`, Enterprise only); so does
// nil for a region livecdn does not know, which Validate refuses and the engine test's stand-in would
// refuse as Enterprise-only.
func (d DNS) PoolCheckRegions(edgeRegion string) []string {
	if d.CheckRegions != nil {
		return slices.Clone(d.CheckRegions)
	}
	if r, ok := LookupRegion(edgeRegion); ok {
		return []string{r.CloudflareRegion}
	}
	return nil
}
