// Package components declares livecdn's machines and DNS as Pulumi
// component resources: the Origin, one EdgeNode per edge, a bring-your-own
// origin configured over ssh, and the GeoDNS records. What the machines run
// comes from the nginx package, through the blueprint package.
package components

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// anywhere is every IPv4 and IPv6 address.
var anywhere = []string{"0.0.0.0/0", "::/0"}

func tcpFrom(ports string, cidrs []string) digitalocean.FirewallInboundRuleArgs {
	return digitalocean.FirewallInboundRuleArgs{
		Protocol:        pulumi.String("tcp"),
		PortRange:       pulumi.String(ports),
		SourceAddresses: pulumi.ToStringArray(cidrs),
	}
}

// icmpFromAnywhere keeps ping and path-MTU discovery working.
func icmpFromAnywhere() digitalocean.FirewallInboundRuleArgs {
	return digitalocean.FirewallInboundRuleArgs{
		Protocol:        pulumi.String("icmp"),
		SourceAddresses: pulumi.ToStringArray(anywhere),
	}
}

// outboundAnywhere allows all outbound traffic: a DigitalOcean firewall with
// no outbound rules blocks apt, the edges' pulls and DNS.
func outboundAnywhere() digitalocean.FirewallOutboundRuleArray {
	rules := digitalocean.FirewallOutboundRuleArray{}
	for _, proto := range []string{"tcp", "udp"} {
		rules = append(rules, digitalocean.FirewallOutboundRuleArgs{
			Protocol:             pulumi.String(proto),
			PortRange:            pulumi.String("1-65535"),
			DestinationAddresses: pulumi.ToStringArray(anywhere),
		})
	}
	return append(rules, digitalocean.FirewallOutboundRuleArgs{
		Protocol:             pulumi.String("icmp"),
		DestinationAddresses: pulumi.ToStringArray(anywhere),
	})
}

// intID converts a droplet's string ID to the int that firewalls and
// reserved IP assignments take.
func intID(id pulumi.IDOutput) pulumi.IntOutput {
	return id.ApplyT(func(id pulumi.ID) (int, error) {
		return strconv.Atoi(string(id))
	}).(pulumi.IntOutput)
}

func portString(port int) string { return strconv.Itoa(port) }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

var notHostname = regexp.MustCompile(`[^a-z0-9-]+`)

// dropletName is the name DigitalOcean shows, livecdn-STACK-NAME: unique per
// stack and a valid hostname whatever the stack is called.
func dropletName(ctx *pulumi.Context, name string) string {
	return "livecdn-" + strings.Trim(notHostname.ReplaceAllString(strings.ToLower(ctx.Stack()+"-"+name), "-"), "-")
}

// Tag names the DigitalOcean tag for a role ("origin", "edge") in this stack.
func Tag(ctx *pulumi.Context, role string) string {
	return dropletName(ctx, role)
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
	droplet, err := digitalocean.NewDroplet(ctx, name+"-droplet", &digitalocean.DropletArgs{
		Name:       pulumi.String(dropletName(ctx, name)),
		Image:      pulumi.String(orDefault(m.image, DefaultImage)),
		Region:     pulumi.String(m.region),
		Size:       pulumi.String(m.size),
		SshKeys:    m.sshKeys,
		Tags:       m.tags,
		UserData:   m.userData,
		Monitoring: pulumi.Bool(true),
		Ipv6:       pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("droplet: %w", err)
	}
	if _, err := digitalocean.NewFirewall(ctx, name+"-firewall", &digitalocean.FirewallArgs{
		Name:          pulumi.String(dropletName(ctx, name)),
		DropletIds:    pulumi.IntArray{intID(droplet.ID())},
		InboundRules:  m.inbound,
		OutboundRules: outboundAnywhere(),
	}, parent); err != nil {
		return nil, fmt.Errorf("firewall: %w", err)
	}
	return droplet, nil
}
