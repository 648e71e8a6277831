package components

import (
	"fmt"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/nginx"
)

// OriginType is the Origin component's type token.
const OriginType = "livecdn:index:Origin"

// Origin is the droplet Wirecast publishes to and every edge pulls from,
// behind a reserved IP so a replaced origin keeps its address and the edges
// never need to change.
type Origin struct {
	pulumi.ResourceState

	// Address is the reserved IP: the ingest address and the edges' source.
	Address pulumi.StringOutput `pulumi:"address"`
	// IngestURL is rtmp://ADDRESS:1935/live/STREAM; the key stays separate.
	IngestURL pulumi.StringOutput `pulumi:"ingestUrl"`
	// DropletID identifies the origin droplet.
	DropletID pulumi.IDOutput `pulumi:"dropletId"`
}

// OriginArgs configure an Origin.
type OriginArgs struct {
	// Machine is the origin as the blueprint computes it: region, size,
	// firewall rules and the render function of its files. Required.
	Machine blueprint.Machine
	// Image is the droplet image. Optional; default DefaultImage.
	Image string
	// SSHKeys are DigitalOcean key IDs or fingerprints for root. Required.
	SSHKeys pulumi.StringArrayInput
	// Tags label the droplet. Optional.
	Tags pulumi.StringArrayInput
	// EdgeTag is the tag every edge carries; the firewall admits RTMP from
	// it, so adding an edge never changes the origin. Required.
	EdgeTag pulumi.StringInput
	// Secrets are what the origin's files embed: the stream key and the
	// certificate of its RTMPS. StreamKey required.
	Secrets Secrets
	// Stream names the stream in the IngestURL output. Required.
	Stream nginx.Stream
}

// DefaultImage is the Debian release the renderers are proven against.
const DefaultImage = "debian-12-x64"

// NewOrigin declares the origin: droplet, reserved IP and firewall.
func NewOrigin(ctx *pulumi.Context, name string, args *OriginArgs, opts ...pulumi.ResourceOption) (*Origin, error) {
	if args == nil || args.Machine.Role != blueprint.RoleOrigin || args.Machine.BYO || args.SSHKeys == nil ||
		args.EdgeTag == nil || args.Secrets.StreamKey == nil {
		return nil, fmt.Errorf("origin %q: an origin droplet Machine, SSHKeys, EdgeTag and Secrets.StreamKey are required", name)
	}
	o := &Origin{}
	if err := ctx.RegisterComponentResource(OriginType, name, o, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(o)

	m := args.Machine
	userData := args.Secrets.file(m, nil, userDataOf)

	inbound, err := inboundRules(m.Inbound, map[blueprint.Role]pulumi.StringInput{blueprint.RoleEdge: args.EdgeTag})
	if err != nil {
		return nil, fmt.Errorf("origin %q: %w", name, err)
	}
	droplet, err := newMachine(ctx, name, machine{
		region: m.Region, size: m.Size, image: args.Image,
		sshKeys: args.SSHKeys, tags: args.Tags, userData: userData,
		inbound: inbound,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("origin %q: %w", name, err)
	}
	if m.Recordings != nil {
		if err := recordingsGuard(ctx, name, m, droplet, parent); err != nil {
			return nil, fmt.Errorf("origin %q: %w", name, err)
		}
	}
	// The reserved IP moves to a new origin droplet only once it serves:
	// until then the old one keeps the encoder and the edges.
	own, _, err := ready(ctx, name, m, droplet, droplet.Ipv4Address, parent)
	if err != nil {
		return nil, fmt.Errorf("origin %q: %w", name, err)
	}
	dropletID := pulumi.All(own, intID(droplet.ID())).ApplyT(func(in []any) int { return in[1].(int) }).(pulumi.IntOutput)

	ip, err := digitalocean.NewReservedIp(ctx, name+"-ip", &digitalocean.ReservedIpArgs{
		Region: pulumi.String(m.Region),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("origin %q: reserved IP: %w", name, err)
	}
	if _, err := digitalocean.NewReservedIpAssignment(ctx, name+"-ip-assignment", &digitalocean.ReservedIpAssignmentArgs{
		IpAddress: ip.IpAddress,
		DropletId: dropletID,
	}, parent); err != nil {
		return nil, fmt.Errorf("origin %q: reserved IP assignment: %w", name, err)
	}

	o.Address = ip.IpAddress
	o.IngestURL = ip.IpAddress.ApplyT(func(addr string) string {
		return blueprint.IngestURL(addr, args.Stream)
	}).(pulumi.StringOutput)
	o.DropletID = droplet.ID()
	if err := ctx.RegisterResourceOutputs(o, pulumi.Map{
		"address":   o.Address,
		"ingestUrl": o.IngestURL,
		"dropletId": o.DropletID,
	}); err != nil {
		return nil, fmt.Errorf("origin %q: outputs: %w", name, err)
	}
	return o, nil
}
