package program

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/components"
	"github.com/livecdn/livecdn/config"
)

// Type tokens of the alerts.
const (
	monitorAlertType = "digitalocean:index/monitorAlert:MonitorAlert"
	uptimeCheckType  = "digitalocean:index/uptimeCheck:UptimeCheck"
	uptimeAlertType  = "digitalocean:index/uptimeAlert:UptimeAlert"
)

// testWebhook stands in for the Slack webhook a real stack holds encrypted.
const testWebhook = "https://hooks.slack.com/services/T000/B000/test-webhook-credential"

// withAlerts sets livecdn:alerts and, with a channel, the secret webhook.
func (s stack) withAlerts(raw string) stack {
	c := s.with(config.KeyAlerts, raw)
	if strings.Contains(raw, "slackChannel") {
		c = c.with(config.KeyAlertsSlackWebhook, testWebhook)
		c.secretKeys = append(append([]string(nil), s.secretKeys...), config.KeyAlertsSlackWebhook)
	}
	return c
}

// notifications are the destinations of one alert's `alerts` or
// `notifications[0]` input: the e-mails, the Slack channels and whether
// every webhook URL is secret.
func notifications(t *testing.T, v resource.PropertyValue) (emails, channels []string, webhooks []string) {
	t.Helper()
	if v.IsSecret() {
		t.Fatalf("the whole notification setting is secret; only the webhook should be: %v", v)
	}
	if v.IsArray() {
		require.Len(t, v.ArrayValue(), 1, "one notification setting")
		v = v.ArrayValue()[0]
	}
	obj := v.ObjectValue()
	emails = stringList(obj["emails"])
	if slacks, ok := obj["slacks"]; ok && !slacks.IsNull() {
		for _, sl := range slacks.ArrayValue() {
			s := sl.ObjectValue()
			channels = append(channels, s["channel"].StringValue())
			url := s["url"]
			require.True(t, url.IsSecret(), "the Slack webhook is a credential and must stay secret")
			webhooks = append(webhooks, url.SecretValue().Element.StringValue())
		}
	}
	return emails, channels, webhooks
}

func TestAlertsWatchEveryDropletAndWhatViewersReach(t *testing.T) {
	for _, tc := range []struct {
		name, stack, alerts string
		emails, channels    []string
		egress, cpu         int
	}{
		{"dev, e-mail and Slack", "dev", `{"emails":["ops@livecdn.dev","oncall@livecdn.dev"],"slackChannel":"#ops","egressPercent":70}`,
			[]string{"oncall@livecdn.dev", "ops@livecdn.dev"}, []string{"#ops"}, 70, config.DefaultAlertCPUPercent},
		{"animecon, e-mail only", "animecon", `{"emails":["ops@livecdn.dev"],"cpuPercent":85}`,
			[]string{"ops@livecdn.dev"}, nil, config.DefaultAlertEgressPercent, 85},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := committedStack(t, tc.stack).withAlerts(tc.alerts)
			r := deploy(t, st, true)
			require.NoError(t, r.err)
			s, err := config.Load(st.values, st.secretKeys)
			require.NoError(t, err)
			bp, err := blueprint.New(s)
			require.NoError(t, err)
			wantHooks := []string(nil)
			if tc.channels != nil {
				wantHooks = []string{testWebhook}
			}

			// Two alerts per droplet, on that droplet alone.
			machines := append([]blueprint.Machine{bp.Origin}, bp.Edges...)
			require.Len(t, r.cloud.ofType(monitorAlertType), 2*len(machines))
			for _, m := range machines {
				size, ok := config.LookupSize(m.Size)
				require.True(t, ok)
				id := strconv.Itoa(r.cloud.resourceID(t, dropletType, m.Name+"-droplet"))
				for _, want := range []struct {
					suffix, typ string
					value       float64
				}{
					// Mbps, the unit DigitalOcean measures bandwidth in: 1000 per Gbps.
					{"egress", "v1/insights/droplet/public_outbound_bandwidth", size.NetworkGbps * 1000 * float64(tc.egress) / 100},
					{"cpu", "v1/insights/droplet/cpu", float64(tc.cpu)},
				} {
					a := r.cloud.named(t, monitorAlertType, "alerts-"+m.Name+"-"+want.suffix)
					assert.Equal(t, want.typ, a.Inputs["type"].StringValue(), a.Name)
					assert.Equal(t, "GreaterThan", a.Inputs["compare"].StringValue(), a.Name)
					assert.Equal(t, want.value, a.Inputs["value"].NumberValue(), a.Name)
					assert.Equal(t, "5m", a.Inputs["window"].StringValue(), a.Name)
					assert.Equal(t, []string{id}, stringList(a.Inputs["entities"]), "%s watches %s's droplet", a.Name, m.Name)
					assert.Contains(t, a.Inputs["description"].StringValue(), stackTag(t, tc.stack, m.Name), a.Name)
					emails, channels, hooks := notifications(t, a.Inputs["alerts"])
					assert.Equal(t, tc.emails, emails, a.Name)
					assert.Equal(t, tc.channels, channels, a.Name)
					assert.Equal(t, wantHooks, hooks, a.Name)
				}
			}

			// Uptime checks, each with a down alert, and ssl_expiry on https.
			type want struct{ typ, target string }
			checks := map[string]want{}
			if s.Domain != "" {
				checks["viewers"] = want{"https", "https://" + s.Domain + "/"}
				checks["ingest"] = want{"ping", "ingest." + s.Domain}
			} else {
				for _, e := range bp.Edges {
					addr := r.outputs["edges"].(map[string]any)[e.Name].(map[string]any)["address"].(string)
					checks[e.Name] = want{"http", "http://" + addr + "/"}
				}
				checks["ingest"] = want{"ping", mockReservedIP}
			}
			require.Len(t, r.cloud.ofType(uptimeCheckType), len(checks))
			alerts := 0
			for name, w := range checks {
				c := r.cloud.named(t, uptimeCheckType, "alerts-"+name)
				assert.Equal(t, w.typ, c.Inputs["type"].StringValue(), c.Name)
				assert.Equal(t, w.target, c.Inputs["target"].StringValue(), c.Name)
				assert.Equal(t, stackTag(t, tc.stack, name), c.Inputs["name"].StringValue(), c.Name)
				types := []string{"down"}
				if w.typ == "https" {
					types = append(types, "ssl_expiry")
				}
				for _, typ := range types {
					alerts++
					a := r.cloud.named(t, uptimeAlertType, "alerts-"+name+"-"+typ)
					assert.Equal(t, typ, a.Inputs["type"].StringValue(), a.Name)
					assert.Equal(t, c.ID, a.Inputs["checkId"].StringValue(), "%s alerts on its own check", a.Name)
					assert.Equal(t, stackTag(t, tc.stack, name)+"-"+typ, a.Inputs["name"].StringValue(), a.Name)
					if typ == "ssl_expiry" {
						assert.Equal(t, "less_than", a.Inputs["comparison"].StringValue(), a.Name)
						assert.Equal(t, float64(components.SSLExpiryDays), a.Inputs["threshold"].NumberValue(), a.Name)
					} else {
						assert.Equal(t, "2m", a.Inputs["period"].StringValue(), a.Name)
					}
					emails, channels, hooks := notifications(t, a.Inputs["notifications"])
					assert.Equal(t, tc.emails, emails, a.Name)
					assert.Equal(t, tc.channels, channels, a.Name)
					assert.Equal(t, wantHooks, hooks, a.Name)
				}
			}
			assert.Len(t, r.cloud.ofType(uptimeAlertType), alerts)
			assert.Len(t, r.cloud.ofType(components.AlertsType), 1)
		})
	}
}

func TestNoAlertsWithoutDestinations(t *testing.T) {
	for _, st := range []stack{
		committedStack(t, "dev"),
		committedStack(t, "animecon"),
		committedStack(t, "dev").with(config.KeyAlerts, `{}`).with(config.KeyAlertsSlackWebhook, ""),
	} {
		t.Run(st.name, func(t *testing.T) {
			r := deploy(t, st, true)
			require.NoError(t, r.err)
			require.NotZero(t, r.cloud.count(), "the stack itself is declared")
			for _, typ := range []string{monitorAlertType, uptimeCheckType, uptimeAlertType, components.AlertsType} {
				assert.Empty(t, r.cloud.ofType(typ), "%s without destinations", typ)
			}
		})
	}
}

// A bring-your-own origin has no droplet to watch: the edges get their
// alerts, and the ingest is pinged at the server's own address.
func TestABringYourOwnOriginGetsNoMonitorAlert(t *testing.T) {
	st := committedStack(t, "dev").
		with(config.KeyOrigin, `{"byo":{"address":"100.64.1.1","hostKey":"`+testHostKey+`"}}`).
		with(config.KeyOriginSSHPrivateKey, testSSHKey).
		withAlerts(`{"emails":["ops@livecdn.dev"]}`)
	st.secretKeys = append(st.secretKeys, config.KeyOriginSSHPrivateKey)
	r := deploy(t, st, true)
	require.NoError(t, r.err)

	var names []string
	for _, a := range r.cloud.ofType(monitorAlertType) {
		names = append(names, a.Name)
	}
	assert.Equal(t, []string{"alerts-ams3-1-cpu", "alerts-ams3-1-egress"}, names)
	ingest := r.cloud.named(t, uptimeCheckType, "alerts-ingest")
	assert.Equal(t, "ping", ingest.Inputs["type"].StringValue())
	assert.Equal(t, "100.64.1.1", ingest.Inputs["target"].StringValue())
}

// The webhook never appears outside a secret, in any input of any resource.
func TestTheSlackWebhookStaysSecret(t *testing.T) {
	st := committedStack(t, "animecon").withAlerts(`{"slackChannel":"#ops"}`)
	r := deploy(t, st, true)
	require.NoError(t, r.err)
	for key, d := range r.cloud.resources {
		for input, v := range d.Inputs {
			assert.NotContains(t, inClear(v), testWebhook, "%s input %s holds the webhook in the clear", key, input)
		}
	}
	require.NotEmpty(t, r.cloud.ofType(monitorAlertType))
	for _, typ := range []string{monitorAlertType, uptimeAlertType} {
		for _, a := range r.cloud.ofType(typ) {
			key := "alerts"
			if typ == uptimeAlertType {
				key = "notifications"
			}
			_, channels, hooks := notifications(t, a.Inputs[resource.PropertyKey(key)])
			assert.Equal(t, []string{"#ops"}, channels, a.Name)
			assert.Equal(t, []string{testWebhook}, hooks, fmt.Sprintf("%s posts to the webhook", a.Name))
		}
	}
}

// inClear lists the strings in v that are not inside a secret.
func inClear(v resource.PropertyValue) []string {
	switch {
	case v.IsSecret():
		return nil
	case v.IsOutput():
		if v.OutputValue().Secret {
			return nil
		}
		return inClear(v.OutputValue().Element)
	case v.IsString():
		return []string{v.StringValue()}
	case v.IsArray():
		var out []string
		for _, e := range v.ArrayValue() {
			out = append(out, inClear(e)...)
		}
		return out
	case v.IsObject():
		var out []string
		for _, e := range v.ObjectValue() {
			out = append(out, inClear(e)...)
		}
		return out
	}
	return nil
}
