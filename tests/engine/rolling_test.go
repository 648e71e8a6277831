package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/components"
)

// readyType is the machines' ready checks (components/ready.go).
const readyType = "command:local:Command"

// at is the position of the first event of the resource of type typ named
// name: done says whether its start or its finish, op which step; -1 if
// there is none.
func (p plan) at(done bool, op apitype.OpType, typ, name string) int {
	for i, e := range p.events {
		if e.done == done && e.op == op && string(e.urn.Type()) == typ && e.urn.Name() == name {
			return i
		}
	}
	return -1
}

// assertRolling checks the order of an `up` from the engine's own event
// stream: for every machine it replaced or created, nothing took the new
// droplet's address (no DNS record, load-balancer pool or the reserved IP
// assignment started its step) before the machine's ready check finished,
// and the old droplet was deleted only after that. It returns how many
// machines were checked.
func assertRolling(t *testing.T, p plan) int {
	t.Helper()
	machines := 0
	for _, e := range p.events {
		if !e.done || string(e.urn.Type()) != "digitalocean:index/droplet:Droplet" ||
			(e.op != apitype.OpCreate && e.op != apitype.OpCreateReplacement) {
			continue
		}
		machine := strings.TrimSuffix(e.urn.Name(), "-droplet")
		machines++
		ready := p.at(true, apitype.OpReplace, readyType, machine+"-ready")
		if ready < 0 {
			ready = p.at(true, apitype.OpCreate, readyType, machine+"-ready")
		}
		require.Positive(t, ready, "%s: its ready check never finished", machine)
		for i, later := range p.events {
			if later.done {
				continue
			}
			name, typ := later.urn.Name(), string(later.urn.Type())
			points := (typ == recordType && (strings.HasPrefix(name, "dns-"+machine+"-") || name == "dns-"+machine)) ||
				(typ == assignmentType && machine == "origin") ||
				(typ == "cloudflare:index/loadBalancerPool:LoadBalancerPool" && strings.HasPrefix(machine, strings.TrimPrefix(name, "dns-pool-")+"-"))
			if points && later.op != apitype.OpSame && later.op != apitype.OpDelete {
				assert.Less(t, ready, i, "%s %s %s began before %s served", later.op, typ, name, machine)
			}
		}
		if old := p.at(false, apitype.OpDeleteReplaced, "digitalocean:index/droplet:Droplet", machine+"-droplet"); old >= 0 {
			assert.Less(t, ready, old, "the old %s droplet was deleted before its replacement served", machine)
		}
	}
	return machines
}

// changeAndRoll applies a change with `pulumi up` and checks its order.
func changeAndRoll(ctx context.Context, t *testing.T, e *engine, s auto.Stack, path, value string, wantMachines int) plan {
	t.Helper()
	e.set(ctx, t, s, path, auto.ConfigValue{Value: value})
	done, res, err := up(ctx, s)
	require.NoError(t, err, "up:\n%s", res.StdErr)
	t.Logf("changes:\n%s", done.changes())
	assert.Equal(t, wantMachines, assertRolling(t, done), "machines created or replaced by %s = %s", path, value)
	return done
}

// rollingChanges makes, on the deployed event stack, the changes an
// operator makes during an event, and checks each from the engine's event
// stream: nothing points at a new droplet before it serves, old droplets
// go only after their replacements serve, a size change replaces.
func rollingChanges(ctx context.Context, t *testing.T, e *engine, s auto.Stack) {
	t.Run("adminCidrs replaces every machine, each serving before it takes traffic", func(t *testing.T) {
		// The edges' and the origin's nginx.conf list the admins.
		changeAndRoll(ctx, t, e, s, "livecdn:adminCidrs[0]", "100.64.9.0/28", 7)
	})
	t.Run("a size change replaces the region's edges, never resizes them", func(t *testing.T) {
		p := changeAndRoll(ctx, t, e, s, edgeSizePath(t, s, "nyc3"), "s-8vcpu-16gb-amd", 2)
		for _, edge := range []string{"nyc3-1", "nyc3-2"} {
			st := p.find(t, dropletType, edge+"-droplet")
			assert.Equal(t, apitype.OpReplace, st.op, "%s is replaced", edge)
			assert.Contains(t, st.keys, "size")
		}
		assert.Equal(t, apitype.OpSame, p.find(t, dropletType, "ams3-1-droplet").op)
	})
	t.Run("an added edge serves before its records exist", func(t *testing.T) {
		changeAndRoll(ctx, t, e, s, edgeCountPath(t, s, "sgp1"), "3", 1)
	})
	t.Run("a removed edge takes only its own resources along", func(t *testing.T) {
		p := changeAndRoll(ctx, t, e, s, edgeCountPath(t, s, "sgp1"), "2", 0)
		for _, st := range p.steps {
			if st.op != apitype.OpSame {
				assert.True(t, belongsTo(st, "sgp1-3"), "%s %s %s", st.op, st.typ(), st.name())
				assert.Equal(t, apitype.OpDelete, st.op, "%s %s", st.typ(), st.name())
			}
		}
		assert.Equal(t, apitype.OpDelete, p.find(t, components.EdgeNodeType, "sgp1-3").op)
	})
}

// edgeSizePath is the config path of a region's edge size in the stack.
func edgeSizePath(t *testing.T, s auto.Stack, region string) string {
	t.Helper()
	return strings.TrimSuffix(edgeCountPath(t, s, region), ".count") + ".size"
}
