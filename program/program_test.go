package program

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/components"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/plan"
)

func TestCommittedStacksDeclareThePlannedMachines(t *testing.T) {
	for _, tc := range []struct {
		stack string
		// edges per region and size, as the planner decides for the stack.
		edges map[string]string
		count map[string]int
	}{
		{"dev", map[string]string{"ams3": "s-1vcpu-1gb"}, map[string]int{"ams3": 1}},
		{"animecon",
			map[string]string{"ams3": "s-4vcpu-8gb-amd", "nyc3": "s-4vcpu-8gb-amd", "sgp1": "s-4vcpu-8gb-amd"},
			map[string]int{"ams3": 2, "nyc3": 2, "sgp1": 2}},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			st := committedStack(t, tc.stack)
			r := deploy(t, st, true)
			require.NoError(t, r.err)
			s, err := config.Load(st.values, st.secretKeys)
			require.NoError(t, err)

			// The origin: droplet, reserved IP wired to it, firewall.
			origin := r.cloud.named(t, dropletType, "origin-droplet")
			assert.Equal(t, s.Origin.Region, origin.Inputs["region"].StringValue())
			assert.Equal(t, s.Origin.Size, origin.Inputs["size"].StringValue())
			assert.Equal(t, components.DefaultImage, origin.Inputs["image"].StringValue())
			assert.True(t, origin.Inputs["monitoring"].BoolValue())
			ip := r.cloud.named(t, reservedIPType, "origin-ip")
			assert.Equal(t, s.Origin.Region, ip.Inputs["region"].StringValue())
			assignment := r.cloud.named(t, assignmentType, "origin-ip-assignment")
			assert.Equal(t, mockReservedIP, assignment.Inputs["ipAddress"].StringValue())
			originID := r.cloud.resourceID(t, dropletType, "origin-droplet")
			assert.Equal(t, float64(originID), assignment.Inputs["dropletId"].NumberValue())

			bp, err := blueprint.New(s)
			require.NoError(t, err)
			cloud := blueprint.Cloud{OriginAddress: netip.MustParseAddr(mockReservedIP), StreamKey: testStreamKey,
				Certificate: st.values[config.KeyTLSCertificate], CertificateKey: st.values[config.KeyTLSKey]}
			wantOrigin, err := bp.Origin.Render(cloud)
			require.NoError(t, err)
			assertSecretString(t, wantOrigin.UserData, origin.Inputs["userData"], "origin user data")

			// The edges: one droplet per planned edge, in its region and size.
			got := map[string]int{}
			for _, d := range r.cloud.ofType(dropletType) {
				if d.Name == "origin-droplet" {
					continue
				}
				region := d.Inputs["region"].StringValue()
				got[region]++
				assert.Equal(t, tc.edges[region], d.Inputs["size"].StringValue(), d.Name)
				name := strings.TrimSuffix(d.Name, "-droplet")
				i := slices.IndexFunc(bp.Edges, func(m blueprint.Machine) bool { return m.Name == name })
				require.GreaterOrEqual(t, i, 0, "%s is one of the blueprint's edges", name)
				want, err := bp.Edges[i].Render(cloud)
				require.NoError(t, err)
				assertSecretString(t, want.UserData, d.Inputs["userData"], d.Name+" user data")
				assert.Contains(t, d.Inputs["userData"].SecretValue().Element.StringValue(),
					"pull rtmp://"+mockReservedIP+":1935/", "edges pull from the reserved IP")
				assert.Equal(t, []string{stackTag(t, tc.stack, "edge")}, stringList(d.Inputs["tags"]), d.Name)
			}
			assert.Equal(t, tc.count, got)

			// Firewalls: one per droplet, nothing sensitive open to the world.
			firewalls := r.cloud.ofType(firewallType)
			assert.Len(t, firewalls, len(r.cloud.ofType(dropletType)))
			for _, fw := range firewalls {
				checkFirewall(t, fw, s)
			}
			originFW := r.cloud.named(t, firewallType, "origin-firewall")
			assert.Contains(t, ruleSources(originFW, "tcp", "1935"), "tag:"+stackTag(t, tc.stack, "edge"), "edges reach RTMP by tag")

			// Outputs.
			p, err := plan.Plan(plan.InputFrom(s))
			require.NoError(t, err)
			assert.Equal(t, "rtmp://"+mockReservedIP+":1935/live/"+s.Stream.Name, r.outputs["ingestUrl"])
			assert.Equal(t, testStreamKey, r.outputs["streamKey"])
			assert.True(t, r.secret["streamKey"], "the stream key output is secret")
			assert.False(t, r.secret["ingestUrl"], "the ingest URL carries no secret")
			assert.Equal(t, p.Cost.PerHourUSD, r.outputs["costPerHourUsd"])
			assert.Len(t, r.outputs["edges"], p.EdgesTotal)
			assert.EqualValues(t, p.EdgesTotal, r.outputs["plan"].(map[string]any)["edgesTotal"])
			if s.DNS.Enabled {
				assert.Equal(t, "https://"+s.Domain+"/hls/"+s.Stream.Name+".m3u8", r.outputs["playbackUrl"])
				assert.Equal(t, "rtmps://ingest."+s.Domain+":443/live/"+s.Stream.Name, r.outputs["ingestRtmpsUrl"])
			} else {
				assert.Regexp(t, `^http://198\.51\.100\.\d+/hls/`+s.Stream.Name+`\.m3u8$`, r.outputs["playbackUrl"])
			}
		})
	}
}

// checkFirewall asserts the rules every livecdn firewall must have.
func checkFirewall(t *testing.T, fw declared, s *config.Settings) {
	t.Helper()
	for _, port := range []string{"22", "1935", "8080", "9100", "9113"} {
		for _, src := range ruleSources(fw, "tcp", port) {
			assert.NotContains(t, []string{"0.0.0.0/0", "::/0"}, src, "%s opens port %s to the world", fw.Name, port)
		}
	}
	admins := blueprint.CIDRs(s.AdminCIDRs)
	assert.ElementsMatch(t, admins, ruleSources(fw, "tcp", "22"), "%s: ssh from the admins only", fw.Name)
	// Every droplet, origin and edge, runs the node exporter status reads.
	assert.ElementsMatch(t, admins, ruleSources(fw, "tcp", "9100"), "%s: the node exporter to the admins only", fw.Name)
	outbound := fw.Inputs["outboundRules"].ArrayValue()
	protocols := map[string]bool{}
	for _, rule := range outbound {
		protocols[rule.ObjectValue()["protocol"].StringValue()] = true
		assert.ElementsMatch(t, []string{"0.0.0.0/0", "::/0"}, stringList(rule.ObjectValue()["destinationAddresses"]))
	}
	assert.Equal(t, map[string]bool{"tcp": true, "udp": true, "icmp": true}, protocols, "%s allows outbound traffic", fw.Name)
	assert.Len(t, fw.Inputs["dropletIds"].ArrayValue(), 1, "%s guards exactly its droplet", fw.Name)
}

// ruleSources lists the sources of a firewall's inbound rules for a port:
// addresses as they are, tags as "tag:NAME".
func ruleSources(fw declared, protocol, port string) []string {
	var out []string
	for _, rule := range fw.Inputs["inboundRules"].ArrayValue() {
		r := rule.ObjectValue()
		if r["protocol"].StringValue() != protocol || !r["portRange"].IsString() || r["portRange"].StringValue() != port {
			continue
		}
		out = append(out, stringList(r["sourceAddresses"])...)
		for _, tag := range stringList(r["sourceTags"]) {
			out = append(out, "tag:"+tag)
		}
	}
	return out
}

func stringList(v resource.PropertyValue) []string {
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, item := range v.ArrayValue() {
		out = append(out, item.StringValue())
	}
	return out
}

// assertSecretString checks that an input is a secret holding want.
func assertSecretString(t *testing.T, want string, got resource.PropertyValue, what string) {
	t.Helper()
	require.True(t, got.IsSecret(), "%s must be secret", what)
	require.Equal(t, want, got.SecretValue().Element.StringValue(), "%s must be the renderer's output", what)
}

// stackTag is Tag for a stack name, outside a Pulumi context: the mocks
// run in Pulumi's default organization and the livecdn project.
func stackTag(t *testing.T, stackName, role string) string {
	t.Helper()
	tag, err := components.CloudName("organization", "livecdn", stackName, role)
	require.NoError(t, err)
	return tag
}
