package program

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/nginx"
)

const (
	recordType  = "cloudflare:index/record:Record"
	monitorType = "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor"
	poolType    = "cloudflare:index/loadBalancerPool:LoadBalancerPool"
	lbType      = "cloudflare:index/loadBalancer:LoadBalancer"
)

// records maps "TYPE host" to the contents of its records, sorted.
func records(t *testing.T, c *cloud) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, r := range c.ofType(recordType) {
		in := r.Inputs
		assert.False(t, in["proxied"].BoolValue(), "%s must be DNS-only: video may not go through Cloudflare's proxy", r.Name)
		key := in["type"].StringValue() + " " + in["name"].StringValue()
		out[key] = append(out[key], in["content"].StringValue())
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

func TestRoundRobinDNSNamesEveryEdgeRegionAndTheOrigin(t *testing.T) {
	st := committedStack(t, "animecon")
	r := deploy(t, st, true)
	require.NoError(t, r.err)
	s, err := config.Load(st.values, st.secretKeys)
	require.NoError(t, err)

	var edges []string
	for _, d := range r.cloud.ofType(dropletType) {
		if d.Name != "origin-droplet" {
			edges = append(edges, strings.TrimSuffix(d.Name, "-droplet"))
		}
	}
	require.Len(t, edges, 6)
	got := records(t, r.cloud)
	require.Equal(t, []string{mockReservedIP}, got["A ingest."+s.Domain])
	// Every edge under its own name, its region's name and the viewers' name.
	var all4, all6 []string
	regions := map[string][]string{}
	for _, edge := range edges {
		a := got["A "+edge+"."+s.Domain]
		aaaa := got["AAAA "+edge+"."+s.Domain]
		require.Len(t, a, 1, edge)
		require.Len(t, aaaa, 1, edge)
		all4, all6 = append(all4, a[0]), append(all6, aaaa[0])
		region := edge[:strings.LastIndex(edge, "-")]
		regions[region] = append(regions[region], a[0])
	}
	for region, ips := range regions {
		slices.Sort(ips)
		require.Equal(t, ips, got["A "+region+"."+s.Domain], region)
	}
	slices.Sort(all4)
	slices.Sort(all6)
	require.Equal(t, all4, got["A "+s.Domain], "the viewers' name is a round-robin over every edge")
	require.Equal(t, all6, got["AAAA "+s.Domain])
	for _, rec := range r.cloud.ofType(recordType) {
		require.EqualValues(t, s.DNS.TTL, rec.Inputs["ttl"].NumberValue(), rec.Name)
		require.Equal(t, s.DNS.ZoneID, rec.Inputs["zoneId"].StringValue(), rec.Name)
	}
	require.Empty(t, r.cloud.ofType(lbType), "no load balancer without load balancing")
	require.Empty(t, r.cloud.ofType(poolType))
	require.Equal(t, "ingest."+s.Domain, r.outputs["ingestHostname"])
}

func TestLoadBalancingSteersEveryRegionToTheNearestPool(t *testing.T) {
	st := committedStack(t, "animecon").with(config.KeyDNS, loadBalanced)
	r := deploy(t, st, true)
	require.NoError(t, r.err)
	s, err := config.Load(st.values, st.secretKeys)
	require.NoError(t, err)

	monitors := r.cloud.ofType(monitorType)
	require.Len(t, monitors, 1)
	m := monitors[0].Inputs
	assert.Equal(t, "/healthz", m["path"].StringValue())
	assert.Equal(t, "GET", m["method"].StringValue())
	assert.Equal(t, s.DNS.AccountID, m["accountId"].StringValue())
	// Only livecdn's /healthz counts as healthy: exactly 200 and its body,
	// never Debian's stock nginx answering while cloud-init runs.
	assert.Equal(t, "200", m["expectedCodes"].StringValue())
	assert.Equal(t, nginx.HealthyBody, m["expectedBody"].StringValue())
	// Pro's minimum interval, the default; probes fit well within it.
	assert.EqualValues(t, config.DefaultMonitorInterval, m["interval"].NumberValue())
	assert.Less(t, (m["retries"].NumberValue()+1)*m["timeout"].NumberValue(), m["interval"].NumberValue())

	// One pool per region, holding that region's edges, checked by the monitor.
	poolRegion := map[string]string{} // pool ID -> region
	for _, region := range []string{"ams3", "nyc3", "sgp1"} {
		pool := r.cloud.named(t, poolType, "dns-pool-"+region)
		poolRegion[pool.ID] = region
		assert.Equal(t, monitors[0].ID, pool.Inputs["monitor"].StringValue())
		var names []string
		for _, o := range pool.Inputs["origins"].ArrayValue() {
			names = append(names, o.ObjectValue()["name"].StringValue())
		}
		assert.Equal(t, []string{region + "-1", region + "-2"}, names)
		// Probed from the Cloudflare region its edges are in, never from
		// every data centre (Enterprise only).
		cf, _ := config.LookupRegion(region)
		assert.Equal(t, []string{cf.CloudflareRegion}, stringList(pool.Inputs["checkRegions"]), region)
		assert.Equal(t, stackTag(t, "animecon", region), pool.Inputs["name"].StringValue())
	}
	require.Len(t, r.cloud.ofType(poolType), 3)

	lbs := r.cloud.ofType(lbType)
	require.Len(t, lbs, 1)
	lb := lbs[0].Inputs
	assert.Equal(t, s.Domain, lb["name"].StringValue())
	assert.Equal(t, "geo", lb["steeringPolicy"].StringValue())
	// DNS-only by Cloudflare's default: `proxied` conflicts with `ttl`.
	assert.NotContains(t, lb, resource.PropertyKey("proxied"))
	assert.True(t, lb["ttl"].IsNumber())
	want, err := blueprint.GeoSteering([]string{"ams3", "nyc3", "sgp1"})
	require.NoError(t, err)
	steered := map[string][]string{}
	for _, rp := range lb["regionPools"].ArrayValue() {
		var order []string
		for _, id := range rp.ObjectValue()["poolIds"].ArrayValue() {
			order = append(order, poolRegion[id.StringValue()])
		}
		steered[rp.ObjectValue()["region"].StringValue()] = order
	}
	require.Len(t, steered, len(blueprint.CloudflareRegions), "every Cloudflare region is steered")
	for _, w := range want {
		assert.Equal(t, w.Regions, steered[w.Cloudflare], w.Cloudflare)
	}
	assert.Equal(t, []string{"ams3", "sgp1", "nyc3"}, steered["ME"], "Dubai is nearer Amsterdam, then Singapore")
	assert.Equal(t, []string{"sgp1", "ams3", "nyc3"}, steered["SEAS"])

	// The load balancer answers for the viewers' name: no round-robin records.
	got := records(t, r.cloud)
	assert.Empty(t, got["A "+s.Domain])
	assert.NotEmpty(t, got["A ams3."+s.Domain])
}

func TestNoDNSWithoutIt(t *testing.T) {
	r := deploy(t, committedStack(t, "dev"), true)
	require.NoError(t, r.err)
	for _, typ := range []string{recordType, monitorType, poolType, lbType} {
		require.Empty(t, r.cloud.ofType(typ), typ)
	}
}
