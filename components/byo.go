package components

import (
	"fmt"

	"github.com/pulumi/pulumi-command/sdk/go/command/remote"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/nginx"
)

// BYOOriginType is the BYOOrigin component's type token.
const BYOOriginType = "livecdn:index:BYOOrigin"

// BYOOrigin is an origin on a server livecdn does not create (the team's own
// machine at another host), configured over ssh with exactly the files an
// origin droplet gets. Its firewall is the owner's business: RTMP (1935)
// must be open to the encoder and the edges.
type BYOOrigin struct {
	pulumi.ResourceState

	// Address is the server's address, where the edges pull from.
	Address pulumi.StringOutput `pulumi:"address"`
	// IngestURL is rtmp://ADDRESS:1935/live/STREAM; the key stays separate.
	IngestURL pulumi.StringOutput `pulumi:"ingestUrl"`
}

// BYOOriginArgs configure a BYOOrigin.
type BYOOriginArgs struct {
	// Machine is the bring-your-own origin as the blueprint computes it:
	// its address and the render function of its bootstrap script. Required.
	Machine blueprint.Machine
	// User logs in over ssh and must be root or have passwordless sudo as
	// root. Optional; default "root".
	User string
	// Port is the ssh port. Optional; default 22.
	Port int
	// HostKey is the server's ssh host key ("TYPE BASE64"): the connection,
	// which carries the stream key, refuses any other server. Required.
	HostKey string
	// PrivateKey is the ssh private key. Required; keep it secret.
	PrivateKey pulumi.StringInput
	// Secrets are what the bootstrap script embeds: the stream key and the
	// certificate of its RTMPS. StreamKey required.
	Secrets Secrets
	// Stream names the stream in the IngestURL output. Required.
	Stream nginx.Stream
}

// NewBYOOrigin configures a bring-your-own origin over ssh. A changed config
// runs the bootstrap again, which restarts nginx.
func NewBYOOrigin(ctx *pulumi.Context, name string, args *BYOOriginArgs, opts ...pulumi.ResourceOption) (*BYOOrigin, error) {
	if args == nil || !args.Machine.BYO || !args.Machine.Address.IsValid() || args.HostKey == "" || args.PrivateKey == nil || args.Secrets.StreamKey == nil {
		return nil, fmt.Errorf("byo origin %q: a bring-your-own Machine, HostKey, PrivateKey and Secrets.StreamKey are required", name)
	}
	o := &BYOOrigin{}
	if err := ctx.RegisterComponentResource(BYOOriginType, name, o, opts...); err != nil {
		return nil, err
	}
	m := args.Machine
	script := args.Secrets.file(m, nil, bootstrapOf)

	port := args.Port
	if port == 0 {
		port = 22
	}
	// The script travels on stdin, so the key never shows in a process list.
	user := orDefault(args.User, "root")
	run := "sh -s"
	if user != "root" {
		run = "sudo -n sh -s"
	}
	if _, err := remote.NewCommand(ctx, name+"-configure", &remote.CommandArgs{
		Connection: remote.ConnectionArgs{
			Host:       pulumi.String(m.Address.String()),
			HostKey:    pulumi.String(args.HostKey),
			User:       pulumi.String(user),
			Port:       pulumi.Float64(float64(port)),
			PrivateKey: args.PrivateKey,
		},
		Create: pulumi.String(run),
		Update: pulumi.String(run),
		Stdin:  script,
	}, pulumi.Parent(o)); err != nil {
		return nil, fmt.Errorf("byo origin %q: configure: %w", name, err)
	}

	o.Address = pulumi.String(m.Address.String()).ToStringOutput()
	o.IngestURL = pulumi.String(blueprint.IngestURL(blueprint.HostOf(m.Address), args.Stream)).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(o, pulumi.Map{
		"address":   o.Address,
		"ingestUrl": o.IngestURL,
	}); err != nil {
		return nil, fmt.Errorf("byo origin %q: outputs: %w", name, err)
	}
	return o, nil
}
