package components

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/nginx"
)

// EdgeNodeType is the EdgeNode component's type token.
const EdgeNodeType = "livecdn:index:EdgeNode"

// EdgeNode is one edge droplet: it pulls the stream once from the origin's
// reserved IP and serves HLS and the player page to viewers.
type EdgeNode struct {
	pulumi.ResourceState

	// Region is the DigitalOcean region the edge runs in.
	Region pulumi.StringOutput `pulumi:"region"`
	// Address is the droplet's public IPv4 address, known once the edge
	// serves livecdn's config (its ready check passed).
	Address pulumi.StringOutput `pulumi:"address"`
	// AddressIPv6 is the droplet's public IPv6 address.
	AddressIPv6 pulumi.StringOutput `pulumi:"addressIpv6"`
	// HLSURL is the playlist viewers open on this edge.
	HLSURL pulumi.StringOutput `pulumi:"hlsUrl"`
	// HealthURL answers 200 while the edge serves a fresh stream.
	HealthURL pulumi.StringOutput `pulumi:"healthUrl"`
	// PlayerURL is the player page on this edge.
	PlayerURL pulumi.StringOutput `pulumi:"playerUrl"`
	// DropletID identifies the edge droplet.
	DropletID pulumi.IDOutput `pulumi:"dropletId"`
}

// EdgeNodeArgs configure an EdgeNode.
type EdgeNodeArgs struct {
	// Machine is the edge as the blueprint computes it: region, size,
	// firewall rules and the render function of its files. Required.
	Machine blueprint.Machine
	// Image is the droplet image. Optional; default DefaultImage.
	Image string
	// SSHKeys are DigitalOcean key IDs or fingerprints for root. Required.
	SSHKeys pulumi.StringArrayInput
	// Tags label the droplet; include the edge tag the origin's firewall
	// admits. Required.
	Tags pulumi.StringArrayInput
	// OriginAddress is the origin's reserved IP. Required.
	OriginAddress pulumi.StringInput
	// Secrets are what the edge's files embed: the stream key (its relay
	// token derives from it) and the certificate. StreamKey required.
	Secrets Secrets
	// Stream names the playlist in the HLSURL output. Required.
	Stream nginx.Stream
}

// NewEdgeNode declares an edge: droplet and firewall.
func NewEdgeNode(ctx *pulumi.Context, name string, args *EdgeNodeArgs, opts ...pulumi.ResourceOption) (*EdgeNode, error) {
	if args == nil || args.Machine.Role != blueprint.RoleEdge || args.SSHKeys == nil || args.Tags == nil ||
		args.OriginAddress == nil || args.Secrets.StreamKey == nil {
		return nil, fmt.Errorf("edge %q: an edge Machine, SSHKeys, Tags, OriginAddress and Secrets.StreamKey are required", name)
	}
	e := &EdgeNode{}
	if err := ctx.RegisterComponentResource(EdgeNodeType, name, e, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(e)

	m := args.Machine
	userData := args.Secrets.file(m, args.OriginAddress, userDataOf)

	inbound, err := inboundRules(m.Inbound, nil)
	if err != nil {
		return nil, fmt.Errorf("edge %q: %w", name, err)
	}
	droplet, err := newMachine(ctx, name, machine{
		region: m.Region, size: m.Size, image: args.Image,
		sshKeys: args.SSHKeys, tags: args.Tags, userData: userData,
		inbound: inbound,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("edge %q: %w", name, err)
	}

	// The addresses are known once the edge serves: records and pools that
	// take them wait for it.
	ipv4, ipv6, err := ready(ctx, name, m, droplet, args.OriginAddress, parent)
	if err != nil {
		return nil, fmt.Errorf("edge %q: %w", name, err)
	}
	e.Region = pulumi.String(m.Region).ToStringOutput()
	e.Address = ipv4
	e.AddressIPv6 = ipv6
	host := ipv4.ApplyT(func(addr string) (string, error) {
		a, err := netip.ParseAddr(addr)
		return m.Host(a), err
	}).(pulumi.StringOutput)
	e.HLSURL = host.ApplyT(func(host string) string {
		return blueprint.PlaylistURL(m.Scheme(), host, args.Stream)
	}).(pulumi.StringOutput)
	e.HealthURL = host.ApplyT(func(host string) string {
		return blueprint.HealthURL(m.Scheme(), host)
	}).(pulumi.StringOutput)
	e.PlayerURL = host.ApplyT(func(host string) string {
		return blueprint.PlayerURL(m.Scheme(), host)
	}).(pulumi.StringOutput)
	e.DropletID = droplet.ID()
	if err := ctx.RegisterResourceOutputs(e, pulumi.Map{
		"region":      e.Region,
		"address":     e.Address,
		"addressIpv6": e.AddressIPv6,
		"hlsUrl":      e.HLSURL,
		"healthUrl":   e.HealthURL,
		"playerUrl":   e.PlayerURL,
		"dropletId":   e.DropletID,
	}); err != nil {
		return nil, fmt.Errorf("edge %q: outputs: %w", name, err)
	}
	return e, nil
}
