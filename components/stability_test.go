package components

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

func TestAddingAnEdgeChangesNothingElse(t *testing.T) {
	before := deploy(t, animeconWith(t, threeRegions), true)
	after := deploy(t, animeconWith(t, strings.Replace(threeRegions, `"sgp1","size":"s-4vcpu-8gb-amd","count":1`, `"sgp1","size":"s-4vcpu-8gb-amd","count":2`, 1)), true)
	added, removed, changed := changes(t, before, after)
	require.Equal(t, []string{"sgp1-2", "sgp1-2-droplet", "sgp1-2-firewall"}, added)
	require.Empty(t, removed)
	require.Empty(t, changed, "an added edge must not touch the origin or the other edges")
}

func TestRemovingAnEdgeChangesNothingElse(t *testing.T) {
	before := deploy(t, animeconWith(t, threeRegions), true)
	after := deploy(t, animeconWith(t, strings.Replace(threeRegions, `"ams3","size":"s-4vcpu-8gb-amd","count":2`, `"ams3","size":"s-4vcpu-8gb-amd","count":1`, 1)), true)
	added, removed, changed := changes(t, before, after)
	require.Empty(t, added)
	require.Equal(t, []string{"ams3-2", "ams3-2-droplet", "ams3-2-firewall"}, removed)
	require.Empty(t, changed)
}

func TestResizingARegionChangesOnlyItsEdges(t *testing.T) {
	before := deploy(t, animeconWith(t, threeRegions), true)
	after := deploy(t, animeconWith(t, strings.Replace(threeRegions, `"nyc3","size":"s-4vcpu-8gb-amd"`, `"nyc3","size":"s-8vcpu-16gb-amd"`, 1)), true)
	added, removed, changed := changes(t, before, after)
	require.Empty(t, added)
	require.Empty(t, removed)
	for _, name := range changed {
		require.True(t, strings.HasPrefix(name, "nyc3-"), "%s changed with nyc3's size", name)
	}
	require.Contains(t, changed, "nyc3-1-droplet")
	require.Contains(t, changed, "nyc3-2-droplet")
	droplet := after.cloud.named(t, dropletType, "nyc3-1-droplet")
	require.Equal(t, "s-8vcpu-16gb-amd", droplet.Inputs["size"].StringValue())
}

func TestReplacingTheOriginLeavesTheEdgesAlone(t *testing.T) {
	base := animeconWith(t, threeRegions)
	before := deploy(t, base, true)
	after := deploy(t, base.with(config.KeyOrigin, `{"region":"ams3","size":"c-8"}`), true)
	added, removed, changed := changes(t, before, after)
	require.Empty(t, added)
	require.Empty(t, removed)
	// The droplet gets a new size (and, in this mock, a new ID, as after a
	// replacement); what points at it follows. The reserved IP stays, so
	// nothing on an edge changes.
	require.Equal(t, []string{"origin-droplet", "origin-firewall", "origin-ip-assignment"}, changed)
	require.Equal(t, before.cloud.named(t, reservedIPType, "origin-ip").Inputs, after.cloud.named(t, reservedIPType, "origin-ip").Inputs)
	require.NotEqual(t, before.cloud.resourceID(t, dropletType, "origin-droplet"), after.cloud.resourceID(t, dropletType, "origin-droplet"))
}
