package program

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
)

// changes compares two runs: which resources the second adds, removes and
// declares with different inputs.
func changes(t *testing.T, before, after run) (added, removed, changed []string) {
	t.Helper()
	require.NoError(t, before.err)
	require.NoError(t, after.err)
	for key, b := range before.cloud.resources {
		a, ok := after.cloud.resources[key]
		switch {
		case !ok:
			removed = append(removed, b.Name)
		case !a.Inputs.DeepEquals(b.Inputs):
			changed = append(changed, b.Name)
		}
	}
	for key, a := range after.cloud.resources {
		if _, ok := before.cloud.resources[key]; !ok {
			added = append(added, a.Name)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	slices.Sort(changed)
	return added, removed, changed
}

// animeconWith is the animecon stack with its real addresses and explicit
// edge counts, so a test can change one region.
func animeconWith(t *testing.T, edges string) stack {
	return committedStack(t, "animecon").
		with(config.KeyAudience, `{}`).
		with(config.KeyEdges, edges)
}

const threeRegions = `[{"region":"ams3","size":"s-4vcpu-8gb-amd","count":2},` +
	`{"region":"nyc3","size":"s-4vcpu-8gb-amd","count":2},{"region":"sgp1","size":"s-4vcpu-8gb-amd","count":1}]`

// edgeResources are the resources one edge brings: its machine and, with
// DNS, its own records (edge, region and round-robin names; A and AAAA).
func edgeResources(edge string, roundRobin bool) []string {
	out := []string{edge, edge + "-droplet", edge + "-firewall", edge + "-ready"}
	for _, suffix := range []string{"", "-region", "-viewers"} {
		if suffix == "-viewers" && !roundRobin {
			continue
		}
		out = append(out, "dns-"+edge+suffix, "dns-"+edge+suffix+"-ipv6")
	}
	slices.Sort(out)
	return out
}

const loadBalanced = `{"enabled":true,"zoneId":"0123456789abcdef0123456789abcdef",` +
	`"accountId":"fedcba9876543210fedcba9876543210","loadBalancing":true}`

func TestAddingAnEdgeChangesNothingElse(t *testing.T) {
	more := strings.Replace(threeRegions, `"sgp1","size":"s-4vcpu-8gb-amd","count":1`, `"sgp1","size":"s-4vcpu-8gb-amd","count":2`, 1)
	t.Run("round-robin DNS", func(t *testing.T) {
		added, removed, changed := changes(t, deploy(t, animeconWith(t, threeRegions), true), deploy(t, animeconWith(t, more), true))
		require.Equal(t, edgeResources("sgp1-2", true), added)
		require.Empty(t, removed)
		require.Empty(t, changed, "an added edge must not touch the origin, the other edges or their records")
	})
	t.Run("load balancing", func(t *testing.T) {
		before := deploy(t, animeconWith(t, threeRegions).with(config.KeyDNS, loadBalanced), true)
		after := deploy(t, animeconWith(t, more).with(config.KeyDNS, loadBalanced), true)
		added, removed, changed := changes(t, before, after)
		require.Equal(t, edgeResources("sgp1-2", false), added)
		require.Empty(t, removed)
		require.Equal(t, []string{"dns-pool-sgp1"}, changed, "only the edge's own pool learns about it")
	})
}

func TestRemovingAnEdgeChangesNothingElse(t *testing.T) {
	before := deploy(t, animeconWith(t, threeRegions), true)
	after := deploy(t, animeconWith(t, strings.Replace(threeRegions, `"ams3","size":"s-4vcpu-8gb-amd","count":2`, `"ams3","size":"s-4vcpu-8gb-amd","count":1`, 1)), true)
	added, removed, changed := changes(t, before, after)
	require.Empty(t, added)
	require.Equal(t, edgeResources("ams3-2", true), removed)
	require.Empty(t, changed)
}

// A new size replaces the region's droplets (DigitalOcean would power them
// off to resize them in place): each new droplet gets a new address, and its
// records take it once the droplet serves (its ready check). Nothing outside
// the region changes.
func TestResizingARegionReplacesOnlyItsEdges(t *testing.T) {
	before := deploy(t, animeconWith(t, threeRegions), true)
	after := deploy(t, animeconWith(t, strings.Replace(threeRegions, `"nyc3","size":"s-4vcpu-8gb-amd"`, `"nyc3","size":"s-8vcpu-16gb-amd"`, 1)), true)
	added, removed, changed := changes(t, before, after)
	require.Empty(t, added)
	require.Empty(t, removed)
	var want []string
	for _, edge := range []string{"nyc3-1", "nyc3-2"} {
		want = append(want, slices.DeleteFunc(edgeResources(edge, true), func(n string) bool { return n == edge })...)
	}
	slices.Sort(want)
	require.Equal(t, want, changed)
	droplet := after.cloud.named(t, dropletType, "nyc3-1-droplet")
	require.Equal(t, "s-8vcpu-16gb-amd", droplet.Inputs["size"].StringValue())
	require.NotEqual(t, before.cloud.resourceID(t, dropletType, "nyc3-1-droplet"), after.cloud.resourceID(t, dropletType, "nyc3-1-droplet"))
}

func TestReplacingTheOriginLeavesTheEdgesAlone(t *testing.T) {
	base := animeconWith(t, threeRegions)
	before := deploy(t, base, true)
	// Recording changes only the origin's user data, which replaces its
	// droplet: a new ID and address, which the firewall and the reserved IP
	// assignment follow. The reserved IP stays, so no edge and no record changes.
	stream := base.values[config.KeyStream]
	require.Contains(t, stream, `"record":true`)
	after := deploy(t, base.with(config.KeyStream, strings.Replace(stream, `"record":true`, `"record":false`, 1)), true)
	added, removed, changed := changes(t, before, after)
	require.Empty(t, added)
	require.Empty(t, removed)
	require.Equal(t, []string{"origin-droplet", "origin-firewall", "origin-ip-assignment", "origin-ready"}, changed)
	require.Equal(t, before.cloud.named(t, reservedIPType, "origin-ip").Inputs, after.cloud.named(t, reservedIPType, "origin-ip").Inputs)
	require.NotEqual(t, before.cloud.resourceID(t, dropletType, "origin-droplet"), after.cloud.resourceID(t, dropletType, "origin-droplet"))
}
