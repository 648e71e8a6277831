package components

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-command/sdk/go/command/local"
	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/livecdn/livecdn/blueprint"
)

// ready runs the machine's ready check (blueprint.Machine.ReadyCheck) from
// the machine that runs `pulumi up`, as NAME-ready, whenever the droplet is
// new, and returns the droplet's addresses gated on it: everything that
// takes them (DNS records, load-balancer pool origins, the reserved IP
// assignment, the outputs) waits until the droplet serves livecdn's own
// config. A replaced droplet's old twin keeps serving meanwhile; Pulumi
// deletes it at the end of the run. origin is the origin's address, which
// an edge's check asks whether the encoder is live.
func ready(ctx *pulumi.Context, name string, m blueprint.Machine, droplet *digitalocean.Droplet, origin pulumi.StringInput, parent pulumi.ResourceOption) (ipv4, ipv6 pulumi.StringOutput, err error) {
	script := pulumi.All(droplet.Ipv4Address, origin).ApplyT(func(in []any) (string, error) {
		addr, err := netip.ParseAddr(in[0].(string))
		if err != nil {
			return "", fmt.Errorf("%s %q: the droplet's address %q: %w", m.Role, name, in[0], err)
		}
		originAddr, err := netip.ParseAddr(in[1].(string))
		if err != nil {
			return "", fmt.Errorf("%s %q: the origin's address %q: %w", m.Role, name, in[1], err)
		}
		return m.ReadyCheck(addr, originAddr)
	}).(pulumi.StringOutput)
	cmd, err := local.NewCommand(ctx, name+"-ready", &local.CommandArgs{
		Create: script,
		// A new droplet (a replacement) is checked again.
		Triggers: pulumi.Array{droplet.ID()},
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("ready check: %w", err)
	}
	gate := func(addr pulumi.StringOutput) pulumi.StringOutput {
		return pulumi.All(cmd.Stdout, addr).ApplyT(func(in []any) string { return in[1].(string) }).(pulumi.StringOutput)
	}
	return gate(droplet.Ipv4Address), gate(droplet.Ipv6Address), nil
}
