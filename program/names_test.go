package program

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
)

// TestCloudNamesBelongToTheStack checks every name DigitalOcean and
// Cloudflare show: the stack's own (components.CloudName), so two stacks of
// the same name in other projects or organizations never share a tag that
// a firewall admits by, and distinct among the resources of one type.
func TestCloudNamesBelongToTheStack(t *testing.T) {
	r := deploy(t, committedStack(t, "animecon").with(config.KeyDNS, loadBalanced), true)
	require.NoError(t, r.err)
	check := func(typ, suffix string) {
		seen := map[string]string{}
		for _, d := range r.cloud.ofType(typ) {
			logical := strings.TrimSuffix(d.Name, suffix)
			logical = strings.TrimPrefix(logical, "dns-pool-")
			got := d.Inputs["name"].StringValue()
			assert.Equal(t, stackTag(t, "animecon", logical), got, "%s %s", typ, d.Name)
			prev, dup := seen[got]
			assert.False(t, dup, "%s is the name of both %s and %s", got, prev, d.Name)
			seen[got] = d.Name
		}
		require.NotEmpty(t, seen, typ)
	}
	check(dropletType, "-droplet")
	check(firewallType, "-firewall")
	check(tagType, "-tag")
	check(poolType, "")
}
