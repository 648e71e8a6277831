package program

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/components"
	"github.com/livecdn/livecdn/config"
)

// declareAlerts declares the stack's alerts when it names destinations:
// bandwidth and CPU on every droplet, and uptime checks on what viewers
// and the encoder reach. originAddress is the origin's reserved IP (or a
// bring-your-own origin's address).
func declareAlerts(ctx *pulumi.Context, s *config.Settings, st *blueprint.Stack, droplets []components.WatchedDroplet,
	originAddress pulumi.StringOutput, nodes map[string]*components.EdgeNode) error {
	if !s.Alerts.Enabled() {
		return nil
	}
	args := &components.AlertsArgs{Settings: s.Alerts, Droplets: droplets, Checks: uptimeTargets(s, st, originAddress, nodes)}
	if s.Alerts.SlackChannel != "" {
		hook, err := pconfig.TrySecret(ctx, config.KeyAlertsSlackWebhook)
		if err != nil {
			return fmt.Errorf("%s: %w", config.KeyAlertsSlackWebhook, err)
		}
		args.SlackWebhook = hook
	}
	_, err := components.NewAlerts(ctx, "alerts", args)
	return err
}

// uptimeTargets are what the uptime checks probe. With a domain: the
// player page on the viewers' name (whichever edge answers) and the ingest
// name. Without: every edge's player page by its address, since viewers are
// handed edge addresses, and the origin's address. The page, not /healthz:
// /healthz answers 503 whenever nothing is published, which would alert all
// night before the event; `livecdn status` watches the stream itself.
func uptimeTargets(s *config.Settings, st *blueprint.Stack, originAddress pulumi.StringOutput,
	nodes map[string]*components.EdgeNode) []components.UptimeTarget {
	if s.Domain != "" {
		return []components.UptimeTarget{
			{Name: "viewers", Type: string(st.Scheme), Target: pulumi.String(blueprint.PlayerURL(st.Scheme, s.Domain))},
			{Name: "ingest", Type: components.CheckPing, Target: pulumi.String(blueprint.IngestHost(s.Domain))},
		}
	}
	var out []components.UptimeTarget
	for _, e := range st.Edges {
		out = append(out, components.UptimeTarget{Name: e.Name, Type: string(st.Scheme), Target: nodes[e.Name].PlayerURL})
	}
	return append(out, components.UptimeTarget{Name: "ingest", Type: components.CheckPing, Target: originAddress})
}
