package program

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
)

// TestNothingPointsAtAMachineBeforeItServes: every DNS record, pool origin
// and the reserved IP assignment take a machine's address only from its
// ready check, so the engine declares them after the check passed.
func TestNothingPointsAtAMachineBeforeItServes(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   stack
	}{
		{"round-robin DNS", animeconWith(t, threeRegions)},
		{"load balancing", animeconWith(t, threeRegions).with(config.KeyDNS, loadBalanced)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, tc.st, true)
			require.NoError(t, r.err)
			at := func(name string) int {
				i := slices.Index(r.cloud.order, name)
				require.GreaterOrEqual(t, i, 0, "%s was declared", name)
				return i
			}
			require.Less(t, at("origin-droplet"), at("origin-ready"))
			require.Less(t, at("origin-ready"), at("origin-ip-assignment"), "the reserved IP moves to a serving origin only")
			checked := 0
			for _, edge := range []string{"ams3-1", "ams3-2", "nyc3-1", "nyc3-2", "sgp1-1"} {
				ready, region := at(edge+"-ready"), edge[:len(edge)-2]
				require.Less(t, at(edge+"-droplet"), ready)
				for _, name := range r.cloud.order {
					switch name {
					case "dns-" + edge, "dns-" + edge + "-region", "dns-" + edge + "-viewers", "dns-pool-" + region:
						require.Less(t, ready, at(name), "%s waits for %s's ready check", name, edge)
						checked++
					}
				}
			}
			require.Positive(t, checked)
		})
	}
}
