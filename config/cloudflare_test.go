package config_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
)

// TestCloudflareRegionsAgree keeps the region codes livecdn validates (config) and steers by (blueprint's
// geo steering) the same 13, and every DigitalOcean region's pool probed from one of them.
func TestCloudflareRegionsAgree(t *testing.T) {
	var steered []string
	for _, r := range blueprint.CloudflareRegions {
		steered = append(steered, r.Code)
	}
	require.ElementsMatch(t, config.CloudflareRegionCodes(), steered)
	for _, r := range config.Regions() {
		require.Contains(t, config.CloudflareRegionCodes(), r.CloudflareRegion, r.Slug)
	}
}

// TestCloudflarePlansOrderTheirLimits checks the plan table reads as Cloudflare documents it: each paid
// plan allows a shorter monitor interval than the one below it, and only Enterprise probes everywhere.
func TestCloudflarePlansOrderTheirLimits(t *testing.T) {
	var mins []int
	for _, name := range []string{config.PlanPro, config.PlanBusiness, config.PlanEnterprise} {
		p, ok := config.LookupCloudflarePlan(name)
		require.True(t, ok, name)
		require.True(t, p.LoadBalancing, name)
		require.Equal(t, name == config.PlanEnterprise, p.ProbeFromEveryDataCenter, name)
		mins = append(mins, p.MinMonitorInterval)
	}
	require.Equal(t, []int{60, 15, 10}, mins)
	require.True(t, slices.IsSortedFunc(mins, func(a, b int) int { return b - a }))
	free, ok := config.LookupCloudflarePlan(config.PlanFree)
	require.True(t, ok)
	require.False(t, free.LoadBalancing)
	_, ok = config.LookupCloudflarePlan("premium")
	require.False(t, ok)
	def, _ := config.LookupCloudflarePlan(config.DefaultCloudflarePlan)
	require.GreaterOrEqual(t, config.DefaultMonitorInterval, def.MinMonitorInterval, "the default interval is valid on the default plan")
}
