package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
)

// Alerts is where a stack's monitoring alerts go and when they fire. A stack without destinations
// declares no alerts at all: Enabled is false.
type Alerts struct {
	// Emails are the addresses DigitalOcean mails alerts to, sorted.
	Emails []string
	// SlackChannel is the channel ("#ops") SlackWebhook posts to; empty without Slack.
	SlackChannel string
	// SlackWebhook is the Slack incoming-webhook URL, a credential: anyone holding it can post to the
	// channel. Set exactly when SlackChannel is.
	SlackWebhook Secret
	// EgressPercent is the share of a Droplet's network cap (Size.NetworkGbps) above which its public
	// outbound bandwidth, sustained for AlertWindow, raises an alert.
	EgressPercent int
	// CPUPercent is the CPU use above which, sustained for AlertWindow, a Droplet raises an alert.
	CPUPercent int
}

// Enabled reports whether the stack names somewhere to send alerts; without, none are declared.
func (a Alerts) Enabled() bool { return len(a.Emails) > 0 || a.SlackChannel != "" }

// Defaults of KeyAlerts' thresholds, declared in Pulumi.yaml's description too.
const (
	// DefaultAlertEgressPercent leaves an edge a fifth of its NIC to absorb the viewers of a lost peer
	// while someone reacts.
	DefaultAlertEgressPercent = 80
	// DefaultAlertCPUPercent is where the origin's transcoder starts to fall behind real time.
	DefaultAlertCPUPercent = 90
)

// Bounds on the thresholds. Below 10% an alert fires on an idle event; DigitalOcean compares with
// GreaterThan, so at 100% (of the NIC, or of the CPU) it could never fire.
const (
	minAlertPercent = 10
	maxAlertPercent = 99
)

// rawAlerts is KeyAlerts as a stack file writes it.
type rawAlerts struct {
	Emails        []string `json:"emails"`
	SlackChannel  *string  `json:"slackChannel"`
	EgressPercent *int     `json:"egressPercent"`
	CPUPercent    *int     `json:"cpuPercent"`
}

// set reports whether the stack wrote anything in KeyAlerts: Pulumi.yaml's default, {}, means no alerts.
func (r rawAlerts) set() bool {
	return r.Emails != nil || r.SlackChannel != nil || r.EgressPercent != nil || r.CPUPercent != nil
}

func buildAlerts(r rawAlerts, webhook Secret) Alerts {
	a := Alerts{SlackWebhook: webhook}
	if !r.set() {
		return a
	}
	a.Emails = r.Emails
	a.SlackChannel = deref(r.SlackChannel, "")
	a.EgressPercent = deref(r.EgressPercent, DefaultAlertEgressPercent)
	a.CPUPercent = deref(r.CPUPercent, DefaultAlertCPUPercent)
	return a
}

// validateAlerts checks the destinations (mail syntax, Slack channel and webhook together) and the
// thresholds. (A KeyAlerts that names no destination is refused when it is decoded: see noDestination.)
func (s *Settings) validateAlerts(p *problems) {
	a := s.Alerts
	hook := a.SlackWebhook
	path := KeyAlerts + ".slackChannel"
	if a.SlackChannel == "" {
		if hook.IsSet() {
			p.addf(path, setCmd(path, "#ops")+", or remove the webhook with pulumi config rm "+KeyAlertsSlackWebhook,
				"required with %s: the channel its webhook posts to", KeyAlertsSlackWebhook)
		}
	} else {
		if strings.TrimSpace(a.SlackChannel) == "" || strings.ContainsAny(a.SlackChannel, " \t\r\n") {
			p.addf(path, setCmd(path, "#ops"), "%q is not a Slack channel (#name, no spaces)", a.SlackChannel)
		}
		if !hook.IsSet() {
			p.addf(KeyAlertsSlackWebhook, "create an incoming webhook for the channel in Slack, then pulumi config set "+
				"--secret "+KeyAlertsSlackWebhook+" https://hooks.slack.com/services/...",
				"not set, while %s names a channel", path)
		}
	}
	if hook.IsSet() && !hook.Sealed() {
		// The URL is a credential: say what is wrong with it, never quote it.
		u, err := url.Parse(hook.Reveal())
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			p.addf(KeyAlertsSlackWebhook, "copy the webhook URL from Slack (https://hooks.slack.com/services/...) into "+
				"pulumi config set --secret "+KeyAlertsSlackWebhook+" <url>", "is not an https URL")
		}
	}
	if !a.Enabled() {
		return
	}
	seen := map[string]int{}
	for i, e := range a.Emails {
		path := fmt.Sprintf("%s.emails[%d]", KeyAlerts, i)
		addr, err := mail.ParseAddress(e)
		if err != nil || addr.Address != e {
			fix := "write a bare address such as ops@example.org, without a name or <>"
			if err == nil {
				fix = setCmd(path, addr.Address)
			}
			p.addf(path, fix, "%q is not an e-mail address", e)
			continue
		}
		if j, dup := seen[e]; dup {
			p.addf(path, "remove one of them", "%q is also %s.emails[%d]", e, KeyAlerts, j)
			continue
		}
		seen[e] = i
	}
	intRange(p, KeyAlerts+".egressPercent", a.EgressPercent, minAlertPercent, maxAlertPercent, DefaultAlertEgressPercent)
	intRange(p, KeyAlerts+".cpuPercent", a.CPUPercent, minAlertPercent, maxAlertPercent, DefaultAlertCPUPercent)
}

// noDestination refuses a KeyAlerts that sets something (thresholds, an empty list) but names nowhere to
// send alerts: it would declare nothing, silently.
func noDestination(p *problems, r rawAlerts) {
	if r.set() && len(r.Emails) == 0 && deref(r.SlackChannel, "") == "" {
		p.addf(KeyAlerts, setCmd(KeyAlerts+".emails[0]", "<address>")+" and/or "+setCmd(KeyAlerts+".slackChannel", "#ops")+
			", or remove the key (pulumi config rm "+KeyAlerts+") to declare no alerts",
			"names no destination (emails or slackChannel), so no alert would reach anyone")
	}
}
