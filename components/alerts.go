package components

import (
	"fmt"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/livecdn/livecdn/config"
)

// AlertsType is the Alerts component's type token.
const AlertsType = "livecdn:index:Alerts"

// What the alerts ask DigitalOcean for. The enums are what
// terraform-provider-digitalocean (behind pulumi-digitalocean) accepts:
// digitalocean/monitoring/resource_monitor_alert.go and
// digitalocean/uptime/resource_uptime_{check,alert}.go.
const (
	// EgressAlertType measures a Droplet's public outbound bandwidth in
	// Mbps: DigitalOcean's API reference, create_alert_policy ("alert on the
	// rate of public outbound bandwidth in Mbps"), and pulumi-digitalocean's
	// MonitorAlertArgs.Value ("e.g., 90% or 85Mbps").
	EgressAlertType = "v1/insights/droplet/public_outbound_bandwidth"
	// CPUAlertType measures a Droplet's CPU use in percent.
	CPUAlertType = "v1/insights/droplet/cpu"
	// AlertCompare fires above the threshold.
	AlertCompare = "GreaterThan"
	// AlertWindow is how long a Droplet must stay above a threshold: long
	// enough to ride out a burst of viewers joining, short enough to act
	// while the event runs.
	AlertWindow = "5m"

	// UptimeDown fires when a check fails from any of DigitalOcean's probe
	// regions.
	UptimeDown = "down"
	// UptimeSSLExpiry fires when an https check's certificate expires
	// within SSLExpiryDays.
	UptimeSSLExpiry = "ssl_expiry"
	// UptimeDownPeriod is how long a check must fail before its alert
	// fires: the shortest DigitalOcean takes, an outage mid-event is urgent.
	UptimeDownPeriod = "2m"
	// SSLExpiryDays leaves two weeks to renew before viewers' browsers refuse.
	SSLExpiryDays = 14
	// sslExpiryComparison fires when fewer days than the threshold remain.
	sslExpiryComparison = "less_than"
)

// Uptime check types (resource_uptime_check.go: ping, http, https).
const (
	// CheckPing pings an address or hostname.
	CheckPing = "ping"
	// CheckHTTP fetches an http:// URL.
	CheckHTTP = "http"
	// CheckHTTPS fetches an https:// URL, and can watch its certificate.
	CheckHTTPS = "https"
)

// Alerts declares a stack's DigitalOcean monitoring: per Droplet an alert
// on outbound bandwidth near its network cap and one on CPU, and uptime
// checks with alerts on what viewers and the encoder reach.
type Alerts struct {
	pulumi.ResourceState

	// Checks maps each uptime check's name to the target it probes.
	Checks pulumi.StringMapOutput `pulumi:"checks"`
}

// WatchedDroplet is one Droplet the Alerts watch.
type WatchedDroplet struct {
	// Name is the machine's name ("origin", "ams3-1"); it names the alerts.
	// Required.
	Name string
	// Size is the Droplet's size slug; its network cap sets the egress
	// threshold. Required, one of config.Sizes.
	Size string
	// ID is the Droplet's ID. Required.
	ID pulumi.IDOutput
}

// UptimeTarget is one endpoint an uptime check probes.
type UptimeTarget struct {
	// Name is "viewers", "ingest" or a machine's name: the check's name
	// within the stack (at most 8 characters, see CloudName). Required.
	Name string
	// Type is CheckPing, CheckHTTP or CheckHTTPS. Required.
	Type string
	// Target is a URL for http and https, an address or hostname for ping.
	// Required.
	Target pulumi.StringInput
}

// AlertsArgs configure Alerts.
type AlertsArgs struct {
	// Settings are the destinations and thresholds. Required, with
	// Settings.Enabled(): without destinations declare no Alerts at all.
	// Its SlackWebhook is not read: pass SlackWebhook.
	Settings config.Alerts
	// SlackWebhook is the secret webhook URL of Settings.SlackChannel.
	// Required with a channel, nil without.
	SlackWebhook pulumi.StringInput
	// Droplets are watched for bandwidth and CPU. Optional.
	Droplets []WatchedDroplet
	// Checks are probed from DigitalOcean's regions. Optional.
	Checks []UptimeTarget
}

// NewAlerts declares the alerts.
func NewAlerts(ctx *pulumi.Context, name string, args *AlertsArgs, opts ...pulumi.ResourceOption) (*Alerts, error) {
	if args == nil || !args.Settings.Enabled() || (args.Settings.SlackChannel != "") != (args.SlackWebhook != nil) {
		return nil, fmt.Errorf("alerts %q: Settings with a destination are required, and SlackWebhook exactly with a Slack channel", name)
	}
	a := &Alerts{}
	if err := ctx.RegisterComponentResource(AlertsType, name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)
	set := args.Settings

	var emails pulumi.StringArrayInput
	if len(set.Emails) > 0 {
		emails = pulumi.ToStringArray(set.Emails)
	}
	var monitorSlack digitalocean.MonitorAlertAlertsSlackArray
	var uptimeSlack digitalocean.UptimeAlertNotificationSlackArray
	if set.SlackChannel != "" {
		monitorSlack = digitalocean.MonitorAlertAlertsSlackArray{digitalocean.MonitorAlertAlertsSlackArgs{
			Channel: pulumi.String(set.SlackChannel), Url: args.SlackWebhook,
		}}
		uptimeSlack = digitalocean.UptimeAlertNotificationSlackArray{digitalocean.UptimeAlertNotificationSlackArgs{
			Channel: pulumi.String(set.SlackChannel), Url: args.SlackWebhook,
		}}
	}
	notify := digitalocean.MonitorAlertAlertsArgs{Emails: emails, Slacks: monitorSlack}
	notifyUptime := digitalocean.UptimeAlertNotificationArray{digitalocean.UptimeAlertNotificationArgs{
		Emails: emails, Slacks: uptimeSlack,
	}}

	for _, d := range args.Droplets {
		size, ok := config.LookupSize(d.Size)
		if !ok {
			return nil, fmt.Errorf("alerts %q: droplet %q: unknown size %q", name, d.Name, d.Size)
		}
		cloud, err := cloudName(ctx, d.Name)
		if err != nil {
			return nil, fmt.Errorf("alerts %q: %w", name, err)
		}
		entities := pulumi.StringArray{d.ID.ToStringOutput()}
		mbps := EgressThresholdMbps(size, set.EgressPercent)
		for _, alert := range []struct {
			suffix, typ, description string
			value                    float64
		}{
			{"egress", EgressAlertType, fmt.Sprintf("%s: public outbound bandwidth above %d%% of its %g Gbps (%g Mbps) for %s",
				cloud, set.EgressPercent, size.NetworkGbps, mbps, AlertWindow), mbps},
			{"cpu", CPUAlertType, fmt.Sprintf("%s: CPU above %d%% for %s", cloud, set.CPUPercent, AlertWindow),
				float64(set.CPUPercent)},
		} {
			if _, err := digitalocean.NewMonitorAlert(ctx, name+"-"+d.Name+"-"+alert.suffix, &digitalocean.MonitorAlertArgs{
				Type:        pulumi.String(alert.typ),
				Compare:     pulumi.String(AlertCompare),
				Value:       pulumi.Float64(alert.value),
				Window:      pulumi.String(AlertWindow),
				Entities:    entities,
				Description: pulumi.String(alert.description),
				Alerts:      notify,
				Enabled:     pulumi.Bool(true),
			}, parent); err != nil {
				return nil, fmt.Errorf("alerts %q: %s %s: %w", name, d.Name, alert.suffix, err)
			}
		}
	}

	checks := pulumi.StringMap{}
	for _, c := range args.Checks {
		cloud, err := cloudName(ctx, c.Name)
		if err != nil {
			return nil, fmt.Errorf("alerts %q: %w", name, err)
		}
		check, err := digitalocean.NewUptimeCheck(ctx, name+"-"+c.Name, &digitalocean.UptimeCheckArgs{
			Name:    pulumi.String(cloud),
			Type:    pulumi.String(c.Type),
			Target:  c.Target,
			Enabled: pulumi.Bool(true),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("alerts %q: check %s: %w", name, c.Name, err)
		}
		checks[c.Name] = c.Target
		types := []string{UptimeDown}
		if c.Type == CheckHTTPS {
			types = append(types, UptimeSSLExpiry)
		}
		for _, typ := range types {
			alert := &digitalocean.UptimeAlertArgs{
				Name:          pulumi.StringPtr(cloud + "-" + typ),
				CheckId:       check.ID().ToStringOutput(),
				Type:          pulumi.String(typ),
				Notifications: notifyUptime,
			}
			if typ == UptimeSSLExpiry {
				alert.Comparison = pulumi.StringPtr(sslExpiryComparison)
				alert.Threshold = pulumi.IntPtr(SSLExpiryDays)
			} else {
				alert.Period = pulumi.StringPtr(UptimeDownPeriod)
			}
			if _, err := digitalocean.NewUptimeAlert(ctx, name+"-"+c.Name+"-"+typ, alert, parent); err != nil {
				return nil, fmt.Errorf("alerts %q: check %s: %s alert: %w", name, c.Name, typ, err)
			}
		}
	}

	a.Checks = checks.ToStringMapOutput()
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{"checks": a.Checks}); err != nil {
		return nil, fmt.Errorf("alerts %q: outputs: %w", name, err)
	}
	return a, nil
}

// EgressThresholdMbps is percent of size's network cap, in the Mbps an
// EgressAlertType alert compares with.
func EgressThresholdMbps(size config.Size, percent int) float64 {
	return size.NetworkGbps * 1000 * float64(percent) / 100
}
