package components

import (
	"fmt"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
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
	// Address is the droplet's public IPv4 address.
	Address pulumi.StringOutput `pulumi:"address"`
	// AddressIPv6 is the droplet's public IPv6 address.
	AddressIPv6 pulumi.StringOutput `pulumi:"addressIpv6"`
	// HLSURL is the playlist viewers open on this edge.
	HLSURL pulumi.StringOutput `pulumi:"hlsUrl"`
	// HealthURL answers 200 while the edge serves a fresh stream.
	HealthURL pulumi.StringOutput `pulumi:"healthUrl"`
	// DropletID identifies the edge droplet.
	DropletID pulumi.IDOutput `pulumi:"dropletId"`
}

// EdgeNodeArgs configure an EdgeNode.
type EdgeNodeArgs struct {
	// Region is the DigitalOcean region slug, e.g. "sgp1". Required.
	Region string
	// Size is the droplet size slug. Required.
	Size string
	// Image is the droplet image. Optional; default DefaultImage.
	Image string
	// SSHKeys are DigitalOcean key IDs or fingerprints for root. Required.
	SSHKeys pulumi.StringArrayInput
	// Tags label the droplet; include the edge tag the origin's firewall
	// admits. Required.
	Tags pulumi.StringArrayInput
	// Spec is the edge's nginx spec without Origin and RelayToken. Required.
	Spec nginx.EdgeSpec
	// OriginAddress is the origin's reserved IP. Required.
	OriginAddress pulumi.StringInput
	// RelayToken admits the edge at the origin. Required; keep it secret.
	RelayToken pulumi.StringInput
	// Site is the player page. Optional.
	Site []nginx.SiteFile
}

// NewEdgeNode declares an edge: droplet and firewall.
func NewEdgeNode(ctx *pulumi.Context, name string, args *EdgeNodeArgs, opts ...pulumi.ResourceOption) (*EdgeNode, error) {
	if args == nil || args.Region == "" || args.Size == "" || args.SSHKeys == nil || args.Tags == nil ||
		args.OriginAddress == nil || args.RelayToken == nil {
		return nil, fmt.Errorf("edge %q: Region, Size, SSHKeys, Tags, OriginAddress and RelayToken are required", name)
	}
	e := &EdgeNode{}
	if err := ctx.RegisterComponentResource(EdgeNodeType, name, e, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(e)

	spec, site := args.Spec, args.Site
	userData := pulumi.ToSecret(pulumi.All(args.OriginAddress, args.RelayToken).ApplyT(func(in []any) (string, error) {
		s := spec
		s.Origin = fmt.Sprintf("%s:%d", in[0], blueprint.RTMPPort)
		s.RelayToken = in[1].(string)
		return nginx.RenderEdgeUserData(s, site)
	})).(pulumi.StringOutput)

	http := portString(blueprint.HTTPPort)
	droplet, err := newMachine(ctx, name, machine{
		region: args.Region, size: args.Size, image: args.Image,
		sshKeys: args.SSHKeys, tags: args.Tags, userData: userData,
		// Viewers on HTTP (and HTTPS, for a certificate added later); RTMP
		// stays closed: the edge's RTMP server listens on loopback only.
		inbound: digitalocean.FirewallInboundRuleArray{
			tcpFrom(http, anywhere),
			tcpFrom("443", anywhere),
			tcpFrom("22", spec.AdminCIDRs),
			icmpFromAnywhere(),
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("edge %q: %w", name, err)
	}

	e.Region = pulumi.String(args.Region).ToStringOutput()
	e.Address = droplet.Ipv4Address
	e.AddressIPv6 = droplet.Ipv6Address
	e.HLSURL = droplet.Ipv4Address.ApplyT(func(addr string) string {
		return blueprint.PlaylistURL(addr, spec.Stream)
	}).(pulumi.StringOutput)
	e.HealthURL = droplet.Ipv4Address.ApplyT(func(addr string) string {
		return "http://" + addr + "/healthz"
	}).(pulumi.StringOutput)
	e.DropletID = droplet.ID()
	if err := ctx.RegisterResourceOutputs(e, pulumi.Map{
		"region":      e.Region,
		"address":     e.Address,
		"addressIpv6": e.AddressIPv6,
		"hlsUrl":      e.HLSURL,
		"healthUrl":   e.HealthURL,
		"dropletId":   e.DropletID,
	}); err != nil {
		return nil, fmt.Errorf("edge %q: outputs: %w", name, err)
	}
	return e, nil
}
