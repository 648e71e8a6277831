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
	// Region is the DigitalOcean region slug, e.g. "ams3". Required.
	Region string
	// Size is the droplet size slug, e.g. "c-4". Required.
	Size string
	// Image is the droplet image. Optional; default DefaultImage.
	Image string
	// SSHKeys are DigitalOcean key IDs or fingerprints for root. Required.
	SSHKeys pulumi.StringArrayInput
	// Tags label the droplet. Optional.
	Tags pulumi.StringArrayInput
	// EdgeTag is the tag every edge carries; the firewall admits RTMP from
	// it, so adding an edge never changes the origin. Required.
	EdgeTag pulumi.StringInput
	// Spec is the origin's nginx spec without its StreamKey; its ingest and
	// admin CIDRs also open the firewall. Required.
	Spec nginx.OriginSpec
	// StreamKey is the publish key. Required; keep it secret.
	StreamKey pulumi.StringInput
}

// DefaultImage is the Debian release the renderers are proven against.
const DefaultImage = "debian-12-x64"

// ingestURL is where the encoder publishes; the key goes in its key field.
func ingestURL(addr string, s nginx.Stream) string {
	return fmt.Sprintf("rtmp://%s:%d/%s/%s", addr, blueprint.RTMPPort, nginx.IngestApp, s.Name)
}

// NewOrigin declares the origin: droplet, reserved IP and firewall.
func NewOrigin(ctx *pulumi.Context, name string, args *OriginArgs, opts ...pulumi.ResourceOption) (*Origin, error) {
	if args == nil || args.Region == "" || args.Size == "" || args.SSHKeys == nil || args.EdgeTag == nil || args.StreamKey == nil {
		return nil, fmt.Errorf("origin %q: Region, Size, SSHKeys, EdgeTag and StreamKey are required", name)
	}
	o := &Origin{}
	if err := ctx.RegisterComponentResource(OriginType, name, o, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(o)

	spec := args.Spec
	// The user data holds the stream key, so it is rendered from the secret
	// and stays secret.
	userData := pulumi.ToSecret(args.StreamKey.ToStringOutput().ApplyT(func(key string) (string, error) {
		s := spec
		s.StreamKey = key
		return nginx.RenderOriginUserData(s)
	})).(pulumi.StringOutput)

	rtmp := portString(blueprint.RTMPPort)
	droplet, err := newMachine(ctx, name, machine{
		region: args.Region, size: args.Size, image: args.Image,
		sshKeys: args.SSHKeys, tags: args.Tags, userData: userData,
		inbound: digitalocean.FirewallInboundRuleArray{
			// The encoder, from the venue's uplink only.
			tcpFrom(rtmp, spec.IngestCIDRs),
			// The edges, whoever they are now or later.
			digitalocean.FirewallInboundRuleArgs{
				Protocol: pulumi.String("tcp"), PortRange: pulumi.String(rtmp),
				SourceTags: pulumi.StringArray{args.EdgeTag},
			},
			tcpFrom("22", spec.AdminCIDRs),
			tcpFrom(portString(blueprint.StatPort), spec.AdminCIDRs),
			icmpFromAnywhere(),
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("origin %q: %w", name, err)
	}
	dropletID := intID(droplet.ID())

	ip, err := digitalocean.NewReservedIp(ctx, name+"-ip", &digitalocean.ReservedIpArgs{
		Region: pulumi.String(args.Region),
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
		return ingestURL(addr, spec.Stream)
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
