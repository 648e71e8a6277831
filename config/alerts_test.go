package config

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

const testWebhook = "https://hooks.slack.com/services/T000/B000/s3cr3tw3bh00k"

// withWebhook stores the Slack webhook as Pulumi would hand over a secret.
func withWebhook(url string) func(stack) {
	return func(s stack) {
		s.values[KeyAlertsSlackWebhook] = url
		s.secret[KeyAlertsSlackWebhook] = true
	}
}

func TestLoadAlerts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change []func(stack)
		want   Alerts
	}{
		{"left out: none", nil, Alerts{}},
		{"Pulumi.yaml's default: none", []func(stack){set(KeyAlerts, `{}`)}, Alerts{}},
		{"e-mail only, default thresholds, sorted",
			[]func(stack){set(KeyAlerts, `{"emails":["ops@animecon.tv","alice@animecon.tv"]}`)},
			Alerts{Emails: []string{"alice@animecon.tv", "ops@animecon.tv"},
				EgressPercent: DefaultAlertEgressPercent, CPUPercent: DefaultAlertCPUPercent}},
		{"Slack only, own thresholds",
			[]func(stack){set(KeyAlerts, `{"slackChannel":"#ops","egressPercent":70,"cpuPercent":95}`), withWebhook(testWebhook)},
			Alerts{SlackChannel: "#ops", SlackWebhook: NewSecret(testWebhook), EgressPercent: 70, CPUPercent: 95}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := validStack()
			for _, f := range tc.change {
				f(st)
			}
			s, err := st.load()
			require.NoError(t, err)
			require.Equal(t, tc.want, s.Alerts)
			require.Equal(t, len(tc.want.Emails) > 0 || tc.want.SlackChannel != "", s.Alerts.Enabled())
		})
	}
}

func TestLoadAlertsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change []func(stack)
		want   []string
	}{
		{"thresholds without a destination", []func(stack){set(KeyAlerts, `{"cpuPercent":80}`)},
			[]string{"livecdn:alerts: names no destination (emails or slackChannel)", "pulumi config rm livecdn:alerts"}},
		{"an empty list of e-mails", []func(stack){set(KeyAlerts, `{"emails":[]}`)},
			[]string{"livecdn:alerts: names no destination"}},
		{"not an address", []func(stack){set(KeyAlerts, `{"emails":["ops.animecon.tv"]}`)},
			[]string{`livecdn:alerts.emails[0]: "ops.animecon.tv" is not an e-mail address`}},
		{"an address with a name", []func(stack){set(KeyAlerts, `{"emails":["Ops <ops@animecon.tv>"]}`)},
			[]string{`livecdn:alerts.emails[0]: "Ops <ops@animecon.tv>" is not an e-mail address`,
				"pulumi config set --path 'livecdn:alerts.emails[0]' ops@animecon.tv"}},
		{"an address twice", []func(stack){set(KeyAlerts, `{"emails":["ops@animecon.tv","ops@animecon.tv"]}`)},
			[]string{`livecdn:alerts.emails[1]: "ops@animecon.tv" is also livecdn:alerts.emails[0]`}},
		{"a misspelled field", []func(stack){set(KeyAlerts, `{"email":["ops@animecon.tv"]}`)},
			[]string{`livecdn:alerts: unknown field "email" (did you mean "emails"?)`}},
		{"egress at the whole NIC", []func(stack){set(KeyAlerts, `{"emails":["ops@animecon.tv"],"egressPercent":100}`)},
			[]string{"livecdn:alerts.egressPercent: 100 must be between 10 and 99", "'livecdn:alerts.egressPercent' 80"}},
		{"cpu too low", []func(stack){set(KeyAlerts, `{"emails":["ops@animecon.tv"],"cpuPercent":5}`)},
			[]string{"livecdn:alerts.cpuPercent: 5 must be between 10 and 99"}},
		{"a channel without a webhook", []func(stack){set(KeyAlerts, `{"slackChannel":"#ops"}`)},
			[]string{"livecdn:alertsSlackWebhook: not set, while livecdn:alerts.slackChannel names a channel"}},
		{"a webhook without a channel", []func(stack){set(KeyAlerts, `{"emails":["ops@animecon.tv"]}`), withWebhook(testWebhook)},
			[]string{"livecdn:alerts.slackChannel: required with livecdn:alertsSlackWebhook"}},
		{"a webhook without alerts", []func(stack){withWebhook(testWebhook)},
			[]string{"livecdn:alerts.slackChannel: required with livecdn:alertsSlackWebhook"}},
		{"a channel with a space", []func(stack){set(KeyAlerts, `{"slackChannel":"# ops"}`), withWebhook(testWebhook)},
			[]string{`livecdn:alerts.slackChannel: "# ops" is not a Slack channel`}},
		{"a plain-HTTP webhook", []func(stack){set(KeyAlerts, `{"slackChannel":"#ops"}`),
			withWebhook("http://hooks.slack.com/services/T000/B000/s3cr3tw3bh00k")},
			[]string{"livecdn:alertsSlackWebhook: is not an https URL"}},
		{"a webhook in plain text", []func(stack){set(KeyAlerts, `{"slackChannel":"#ops"}`), set(KeyAlertsSlackWebhook, testWebhook)},
			[]string{"livecdn:alertsSlackWebhook: must be set as a secret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := validStack()
			for _, f := range tc.change {
				f(st)
			}
			s, err := st.load()
			require.Error(t, err)
			require.Nil(t, s)
			for _, want := range tc.want {
				require.ErrorContains(t, err, want)
			}
			require.NotContains(t, err.Error(), "s3cr3tw3bh00k", "the webhook is a credential")
		})
	}
}

// The CLI reads stack files without the passphrase: an encrypted webhook counts as set.
func TestLoadStackFileAlertsWithSealedWebhook(t *testing.T) {
	path := t.TempDir() + "/Pulumi.alerts.yaml"
	data := `config:
  livecdn:event: {name: AnimeCon 2026}
  livecdn:stream: {name: animecon}
  livecdn:origin: {region: ams3, size: c-4}
  livecdn:edges: [{region: ams3, size: s-4vcpu-8gb-amd, count: 1}]
  livecdn:ingestCidrs: [100.64.10.0/28]
  livecdn:adminCidrs: [100.64.20.0/28]
  livecdn:sshKeys: ["12345678"]
  livecdn:alerts: {slackChannel: "#ops", emails: [ops@animecon.tv]}
  livecdn:alertsSlackWebhook: {secure: v1:abcdef}
`
	require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
	s, err := LoadStackFile(path)
	require.NoError(t, err)
	require.True(t, s.Alerts.SlackWebhook.IsSet())
	require.True(t, s.Alerts.SlackWebhook.Sealed())
	require.Equal(t, "#ops", s.Alerts.SlackChannel)
}
