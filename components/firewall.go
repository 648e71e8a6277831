// Package components declares livecdn's machines and DNS as Pulumi
// component resources: the Origin, one EdgeNode per edge, a bring-your-own
// origin configured over ssh, and the GeoDNS records. What the machines run
// comes from the nginx package, through the blueprint package.
package components

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/livecdn/livecdn/blueprint"
)

// inboundRules declares a machine's firewall rules, naming each role's
// DigitalOcean tag where a rule admits machines by role.
func inboundRules(rules []blueprint.Rule, tags map[blueprint.Role]pulumi.StringInput) (digitalocean.FirewallInboundRuleArray, error) {
	out := digitalocean.FirewallInboundRuleArray{}
	for _, r := range rules {
		in := digitalocean.FirewallInboundRuleArgs{Protocol: pulumi.String(r.Protocol)}
		if r.Ports != "" {
			in.PortRange = pulumi.String(r.Ports)
		}
		if len(r.Sources) > 0 {
			in.SourceAddresses = pulumi.ToStringArray(blueprint.CIDRs(r.Sources))
		}
		if len(r.SourceRoles) > 0 {
			sourceTags := pulumi.StringArray{}
			for _, role := range r.SourceRoles {
				tag, ok := tags[role]
				if !ok {
					return nil, fmt.Errorf("firewall rule %s %s: no tag for role %q", r.Protocol, r.Ports, role)
				}
				sourceTags = append(sourceTags, tag)
			}
			in.SourceTags = sourceTags
		}
		out = append(out, in)
	}
	return out, nil
}

// outboundAnywhere allows all outbound traffic: a DigitalOcean firewall with
// no outbound rules blocks apt, the edges' pulls and DNS.
func outboundAnywhere() digitalocean.FirewallOutboundRuleArray {
	anywhere := pulumi.ToStringArray(blueprint.CIDRs(blueprint.Anywhere))
	rules := digitalocean.FirewallOutboundRuleArray{}
	for _, proto := range []string{"tcp", "udp"} {
		rules = append(rules, digitalocean.FirewallOutboundRuleArgs{
			Protocol:             pulumi.String(proto),
			PortRange:            pulumi.String("1-65535"),
			DestinationAddresses: anywhere,
		})
	}
	return append(rules, digitalocean.FirewallOutboundRuleArgs{
		Protocol:             pulumi.String("icmp"),
		DestinationAddresses: anywhere,
	})
}

// intID converts a droplet's string ID to the int that firewalls and
// reserved IP assignments take.
func intID(id pulumi.IDOutput) pulumi.IntOutput {
	return id.ApplyT(func(id pulumi.ID) (int, error) {
		return strconv.Atoi(string(id))
	}).(pulumi.IntOutput)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// machine is what every livecdn droplet is declared with.
type machine struct {
	region, size, image string
	sshKeys, tags       pulumi.StringArrayInput
	userData            pulumi.StringOutput
	// inbound is the firewall's inbound rules; outbound is always open.
	inbound digitalocean.FirewallInboundRuleArray
}

// newMachine declares a Debian droplet (monitoring and IPv6 on) and the
// firewall that guards exactly it, as NAME-droplet and NAME-firewall.
func newMachine(ctx *pulumi.Context, name string, m machine, parent pulumi.ResourceOption) (*digitalocean.Droplet, error) {
	cloud, err := cloudName(ctx, name)
	if err != nil {
		return nil, err
	}
	droplet, err := digitalocean.NewDroplet(ctx, name+"-droplet", &digitalocean.DropletArgs{
		Name:       pulumi.String(cloud),
		Image:      pulumi.String(orDefault(m.image, DefaultImage)),
		Region:     pulumi.String(m.region),
		Size:       pulumi.String(m.size),
		SshKeys:    m.sshKeys,
		Tags:       m.tags,
		UserData:   m.userData,
		Monitoring: pulumi.Bool(true),
		Ipv6:       pulumi.Bool(true),
		// DigitalOcean resizes in place by powering the droplet off: a new
		// size replaces it instead, created before the old one goes.
	}, parent, pulumi.ReplaceOnChanges([]string{"size"}))
	if err != nil {
		return nil, fmt.Errorf("droplet: %w", err)
	}
	if _, err := digitalocean.NewFirewall(ctx, name+"-firewall", &digitalocean.FirewallArgs{
		Name:          pulumi.String(cloud),
		DropletIds:    pulumi.IntArray{intID(droplet.ID())},
		InboundRules:  m.inbound,
		OutboundRules: outboundAnywhere(),
	}, parent); err != nil {
		return nil, fmt.Errorf("firewall: %w", err)
	}
	return droplet, nil
}
