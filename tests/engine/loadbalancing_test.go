package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
)

// lbStack is animecon with Cloudflare Load Balancing on, kept in testdata:
// it is a test of what Cloudflare accepts, not an event anyone runs.
const lbStack = "animecon-lb"

// Type tokens of the load balancer's resources.
const (
	monitorType = "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor"
	poolType    = "cloudflare:index/loadBalancerPool:LoadBalancerPool"
	lbType      = "cloudflare:index/loadBalancer:LoadBalancer"
)

// TestLoadBalancedStackUnderTheEngine deploys the load-balanced variant of
// animecon under the engine. The stand-in refuses, at Check, every argument
// Cloudflare and DigitalOcean would refuse (standin/constraints.go), so this
// proves the monitor, the pools and the load balancer livecdn declares are
// ones a Pro account with Load Balancing accepts: no `proxied` next to
// `ttl`, a monitor interval of at least 60 s, pools probed from named
// regions.
func TestLoadBalancedStackUnderTheEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	e := newEngine(ctx, t)
	testdata, err := filepath.Abs("testdata")
	require.NoError(t, err)
	file := "Pulumi." + lbStack + ".yaml"
	data, err := os.ReadFile(filepath.Join(testdata, file))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(e.project, file), data, 0o644))

	s := e.newStack(ctx, t, lbStack)
	e.fixExamples(ctx, t, s, testdata, lbStack)
	planned, _ := preview(ctx, t, s)
	assertWarnings(t, wantWarnings(t, testdata, lbStack), planned.warnings)
	golden(t, lbStack, planned.render())
	assert.Empty(t, planned.byOp(apitype.OpUpdate), "a first preview only creates")
	for typ, n := range map[string]int{monitorType: 1, poolType: 3, lbType: 1} {
		assert.Len(t, stepsOf(planned, typ), n, "%s", typ)
	}

	done, res, err := up(ctx, s)
	require.NoError(t, err, "up %s:\n%s", lbStack, res.StdErr)
	assert.Equal(t, planned.render(), done.render(), "up did something other than the preview planned")

	again, res2 := preview(ctx, t, s)
	assert.Equal(t, []string{}, changed(res2.ChangeSummary), "a preview right after up plans changes:\n%s", again.render())
}

// stepsOf lists the steps of one resource type.
func stepsOf(p plan, typ string) []step {
	var out []step
	for _, st := range p.steps {
		if st.typ() == typ {
			out = append(out, st)
		}
	}
	return out
}

// TestLoadBalancedStackIsAnimecon keeps the variant in step with the event
// stack it varies: everything but livecdn:dns is animecon's.
func TestLoadBalancedStackIsAnimecon(t *testing.T) {
	want, _, err := config.ReadStackFile(filepath.Join(repoRoot(t), "Pulumi.animecon.yaml"))
	require.NoError(t, err)
	got, _, err := config.ReadStackFile(filepath.Join("testdata", "Pulumi."+lbStack+".yaml"))
	require.NoError(t, err)
	delete(want, config.KeyDNS)
	dns := got[config.KeyDNS]
	delete(got, config.KeyDNS)
	assert.Equal(t, want, got, "only livecdn:dns may differ from Pulumi.animecon.yaml")
	assert.Contains(t, dns, `"loadBalancing":true`)

	s, err := config.LoadStackFile(filepath.Join("testdata", "Pulumi."+lbStack+".yaml"))
	require.NoError(t, err)
	assert.True(t, s.DNS.LoadBalancing)
	assert.Equal(t, config.DefaultCloudflarePlan, s.DNS.Plan)
}
