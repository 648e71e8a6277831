// Package engine_test runs livecdn's program under the real Pulumi engine,
// with a stand-in for the cloud providers (./standin, a test double), to
// prove what mocks cannot: that Pulumi.yaml's schema, the committed stack
// files and the program work together, and which resources a change
// creates, updates or replaces. docs/ENGINE_TEST.md explains it.
package engine_test

import (
	"context"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/components"
)

// Type tokens the assertions name.
const (
	dropletType    = "digitalocean:index/droplet:Droplet"
	firewallType   = "digitalocean:index/firewall:Firewall"
	reservedIPType = "digitalocean:index/reservedIp:ReservedIp"
	assignmentType = "digitalocean:index/reservedIpAssignment:ReservedIpAssignment"
	recordType     = "cloudflare:index/record:Record"
)

// update regenerates the golden plans: UPDATE_GOLDEN=1 go test ./tests/engine/
var update = flag.Bool("update", os.Getenv("UPDATE_GOLDEN") != "", "rewrite testdata/*.golden")

// TestCommittedStacksUnderTheEngine takes each committed stack from a
// preview with its example values to a deployment and back to a preview
// that changes nothing; on the event stack it then previews the two changes
// an operator makes during an event.
func TestCommittedStacksUnderTheEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	e := newEngine(ctx, t)
	root := repoRoot(t)

	for _, name := range []string{"dev", "animecon"} {
		t.Run(name, func(t *testing.T) {
			s := e.newStack(ctx, t, name)

			// The committed file previews as it is, warning about its examples ...
			p, _ := preview(ctx, t, s)
			assert.True(t, containsAny(p.warnings, "example values, which `pulumi up` will refuse"),
				"no warning about the example values; warnings: %q", p.warnings)
			assert.Empty(t, p.byOp(apitype.OpUpdate), "a first preview only creates")

			// ... and `pulumi up` refuses them before creating anything.
			refused, _, err := up(ctx, s)
			require.Error(t, err, "up deployed a stack with example values")
			assert.Contains(t, err.Error(), "still has example values")
			assert.Equal(t, []string{"pulumi:pulumi:Stack livecdn-" + name}, refused.byOp(apitype.OpCreate),
				"up created resources before refusing")

			e.fixExamples(ctx, t, s, root, name)
			planned, _ := preview(ctx, t, s)
			assertWarnings(t, wantWarnings(t, root, name), planned.warnings)
			golden(t, name, planned.render())

			done, res, err := up(ctx, s)
			require.NoError(t, err, "up %s:\n%s", name, res.StdErr)
			assert.Equal(t, planned.render(), done.render(), "up did something other than the preview planned")
			assertOutputs(t, name, res.Outputs)

			// Deterministic user data: the same configuration changes nothing.
			again, res2 := preview(ctx, t, s)
			assert.Equal(t, []string{}, changed(res2.ChangeSummary), "a preview right after up plans changes:\n%s", again.render())

			if name == "animecon" {
				t.Run("an added edge creates only its own resources", func(t *testing.T) { addEdge(ctx, t, e, s) })
				t.Run("new HLS settings replace the edges, not the origin", func(t *testing.T) { changeHLS(ctx, t, e, s, res.Outputs) })
				rollingChanges(ctx, t, e, s)
			}
		})
	}
}

// addEdge raises sgp1 from the two edges the planner gives it to an explicit
// three: the preview creates sgp1-3 (its component, droplet, firewall and any
// record named after it) and leaves every other resource alone.
func addEdge(ctx context.Context, t *testing.T, e *engine, s auto.Stack) {
	const region, edge = "sgp1", "sgp1-3"
	e.set(ctx, t, s, edgeCountPath(t, s, region), auto.ConfigValue{Value: "3"})
	defer func() {
		require.NoError(t, s.RemoveConfigWithOptions(ctx, edgeCountPath(t, s, region), &auto.ConfigOptions{Path: true}))
	}()

	p, _ := preview(ctx, t, s)
	t.Logf("planned changes:\n%s", p.changes())
	records := 0
	for _, st := range p.steps {
		if belongsTo(st, edge) && st.typ() == recordType {
			records++
		}
		if belongsTo(st, edge) {
			assert.Equal(t, apitype.OpCreate, st.op, "%s %s", st.typ(), st.name())
		} else {
			assert.Equal(t, apitype.OpSame, st.op, "%s %s changes when %s is added", st.typ(), st.name(), edge)
		}
	}
	assert.Equal(t, apitype.OpCreate, p.find(t, components.EdgeNodeType, edge).op)
	assert.Equal(t, apitype.OpCreate, p.find(t, dropletType, edge+"-droplet").op)
	assert.Equal(t, apitype.OpCreate, p.find(t, firewallType, edge+"-firewall").op)
	// The event stack has DNS on: the new edge gets its records.
	assert.NotZero(t, records, "no DNS record is created for %s", edge)
}

// changeHLS lengthens the playlist. The edges render it into their user
// data, so each edge droplet is replaced; the origin, its reserved IP and so
// the ingest address the encoder is set up with stay as they are.
func changeHLS(ctx context.Context, t *testing.T, e *engine, s auto.Stack, before auto.OutputMap) {
	e.set(ctx, t, s, "livecdn:stream.playlistSeconds", auto.ConfigValue{Value: "18"})

	p, _ := preview(ctx, t, s)
	t.Logf("planned changes:\n%s", p.changes())
	oldEdges := before["edges"].Value.(map[string]any)
	edges := 0
	for _, st := range p.steps {
		edgeDroplet := st.typ() == dropletType && st.parentType() == components.EdgeNodeType
		switch {
		case edgeDroplet:
			edges++
			assert.Equal(t, apitype.OpReplace, st.op, "edge droplet %s", st.name())
			assert.Contains(t, st.keys, "userData", "edge droplet %s is replaced for %v", st.name(), st.keys)
		case st.typ() == readyType && st.parentType() == components.EdgeNodeType:
			// A new droplet is checked again before anything takes its address.
			assert.Equal(t, apitype.OpReplace, st.op, "ready check %s", st.name())
		case slices.ContainsFunc(slices.Collect(maps.Keys(oldEdges)), func(edge string) bool { return belongsTo(st, edge) }):
			// An edge's firewall follows its new droplet's ID; records follow its address.
			assert.Contains(t, []apitype.OpType{apitype.OpSame, apitype.OpUpdate}, st.op, "%s %s", st.typ(), st.name())
		default:
			assert.Equal(t, apitype.OpSame, st.op, "%s %s changes with the HLS settings", st.typ(), st.name())
		}
	}
	assert.Equal(t, len(oldEdges), edges, "every edge droplet is replaced")
	for _, r := range []struct{ typ, name string }{
		{dropletType, "origin-droplet"}, {firewallType, "origin-firewall"},
		{reservedIPType, "origin-ip"}, {assignmentType, "origin-ip-assignment"},
	} {
		assert.Equal(t, apitype.OpSame, p.find(t, r.typ, r.name).op, "%s", r.name)
	}

	done, res, err := up(ctx, s)
	require.NoError(t, err, "up:\n%s", res.StdErr)
	assert.Equal(t, p.render(), done.render(), "up did something other than the preview planned")
	assert.Equal(t, len(oldEdges), assertRolling(t, done), "every replaced edge serves before it takes traffic")
	assert.Equal(t, before["ingestUrl"].Value, res.Outputs["ingestUrl"].Value, "the ingest address moved")
	newEdges := res.Outputs["edges"].Value.(map[string]any)
	for name, v := range oldEdges {
		assert.NotEqual(t, v.(map[string]any)["address"], newEdges[name].(map[string]any)["address"],
			"edge %s kept its droplet", name)
	}
}

// belongsTo reports whether a step is one of edge's resources: the edge's
// component, a resource named after the edge (NAME-..., ...-NAME-...), or
// a child of the component. DNS records are found by either.
func belongsTo(st step, edge string) bool {
	named := regexp.MustCompile(`(^|[-_.])` + regexp.QuoteMeta(edge) + `($|[-_.])`)
	return named.MatchString(st.name()) || (st.parentType() == components.EdgeNodeType && st.parent.Name() == edge)
}

// edgeCountPath is the config path of a region's edge count in the stack.
func edgeCountPath(t *testing.T, s auto.Stack, region string) string {
	t.Helper()
	v, err := s.GetConfigWithOptions(context.Background(), "livecdn:edges", nil)
	require.NoError(t, err)
	var groups []struct{ Region string }
	require.NoError(t, json.Unmarshal([]byte(v.Value), &groups))
	for i, g := range groups {
		if g.Region == region {
			return "livecdn:edges[" + strconv.Itoa(i) + "].count"
		}
	}
	t.Fatalf("the stack has no %s edge group", region)
	return ""
}

// assertOutputs checks what the operators read after `pulumi up`: the ingest
// URL on the reserved IP, the stream key kept secret, and every edge's URLs.
func assertOutputs(t *testing.T, stack string, out auto.OutputMap) {
	t.Helper()
	assert.Regexp(t, `^rtmp://203\.0\.113\.\d+:1935/live/`+stack+`$`, out["ingestUrl"].Value, "ingestUrl on the reserved IP")
	assert.True(t, out["streamKey"].Secret, "streamKey must stay secret")
	edges, ok := out["edges"].Value.(map[string]any)
	require.True(t, ok, "edges output: %v", out["edges"].Value)
	require.NotEmpty(t, edges)
	// A stack with a domain serves HTTPS by name (the certificate covers
	// names, not addresses) and takes RTMPS on the ingest name.
	_, https := out["ingestRtmpsUrl"]
	if https {
		assert.Regexp(t, `^rtmps://ingest\.[a-z0-9.-]+:443/live/`+stack+`$`, out["ingestRtmpsUrl"].Value, "ingestRtmpsUrl by name")
	}
	for name, v := range edges {
		e := v.(map[string]any)
		assert.Regexp(t, `^198\.1[89]\.\d+\.\d+$`, e["address"], "edge %s address", name)
		if https {
			assert.Regexp(t, `^https://`+name+`\.[a-z0-9.-]+/`, e["hlsUrl"], "edge %s hlsUrl", name)
		} else {
			assert.Regexp(t, `^http://198\.1[89]\.\d+\.\d+/`, e["hlsUrl"], "edge %s hlsUrl", name)
		}
	}
}

// changed lists the operations other than "same" in a change summary.
func changed(summary map[apitype.OpType]int) []string {
	out := []string{}
	for op, n := range summary {
		if op != apitype.OpSame && n > 0 {
			out = append(out, string(op)+" "+strconv.Itoa(n))
		}
	}
	return out
}

// golden compares got with testdata/NAME.golden, or rewrites the file.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden plan: run UPDATE_GOLDEN=1 go test ./tests/engine/")
	assert.Equal(t, string(want), got,
		"the planned resources of %s changed; if that is intended, run UPDATE_GOLDEN=1 go test ./tests/engine/ and review the diff", name)
}

func containsAny(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
