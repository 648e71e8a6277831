package config

import "slices"

// Namespace is the Pulumi project name, which Pulumi uses as the namespace of every key this project
// reads: `livecdn:stream` in a stack file is `stream` in Pulumi.yaml.
const Namespace = "livecdn"

// Stack configuration keys, in the full form Pulumi hands a program and stack files spell. docs/CONFIG.md
// describes each one; Pulumi.yaml declares each one.
const (
	// KeyEvent names the event on the player page and in resource descriptions.
	KeyEvent = Namespace + ":event"
	// KeyStream describes what the encoder sends and how edges cut it into HLS.
	KeyStream = Namespace + ":stream"
	// KeyStreamKey is the secret the encoder must present to publish.
	KeyStreamKey = Namespace + ":streamKey"
	// KeyOrigin says where the origin runs: a new Droplet or a machine the team already has.
	KeyOrigin = Namespace + ":origin"
	// KeyOriginSSHPrivateKey is the secret key used to configure a bring-your-own origin over ssh.
	KeyOriginSSHPrivateKey = Namespace + ":originSshPrivateKey"
	// KeyEdges lists the regions that get edges, their size and, optionally, their count.
	KeyEdges = Namespace + ":edges"
	// KeyAudience is the expected audience the planner sizes the edges for.
	KeyAudience = Namespace + ":audience"
	// KeyIngestCIDRs lists the encoder addresses allowed to publish to the origin.
	KeyIngestCIDRs = Namespace + ":ingestCidrs"
	// KeyAdminCIDRs lists the addresses allowed to ssh in and read the stat pages.
	KeyAdminCIDRs = Namespace + ":adminCidrs"
	// KeyAcceptBroadCIDRs lets KeyIngestCIDRs and KeyAdminCIDRs open more of the internet than the bounds
	// below, when an operator says so explicitly.
	KeyAcceptBroadCIDRs = Namespace + ":acceptBroadCidrs"
	// KeySSHKeys lists the DigitalOcean ssh keys installed on every Droplet.
	KeySSHKeys = Namespace + ":sshKeys"
	// KeyDomain is the hostname viewers use.
	KeyDomain = Namespace + ":domain"
	// KeyDNS configures the Cloudflare records (and optional load balancer) for KeyDomain.
	KeyDNS = Namespace + ":dns"
	// KeyTLSCertificate is the PEM certificate chain (leaf first) the edges and the origin's RTMPS serve
	// for KeyDomain and every name under it; `livecdn cert` stores it.
	KeyTLSCertificate = Namespace + ":tlsCertificate"
	// KeyTLSKey is the PEM private key of KeyTLSCertificate.
	KeyTLSKey = Namespace + ":tlsKey"
	// KeyACMEAccount is the ACME account `livecdn cert` orders certificates with (JSON), so a renewal
	// reuses it instead of registering again.
	KeyACMEAccount = Namespace + ":acmeAccount"
	// KeyCORSOrigins lists the websites (https://ORIGIN) whose pages may fetch the stream; empty allows any.
	KeyCORSOrigins = Namespace + ":corsOrigins"
	// KeyAlerts says where DigitalOcean sends the stack's monitoring alerts and when they fire; without
	// destinations, no alerts are declared.
	KeyAlerts = Namespace + ":alerts"
	// KeyAlertsSlackWebhook is the secret Slack incoming-webhook URL that posts KeyAlerts to its channel.
	KeyAlertsSlackWebhook = Namespace + ":alertsSlackWebhook"
)

// Limits on edges. DigitalOcean firewalls allow only 10 Droplet IDs, so the firewalls target edges by tag,
// which has no Droplet limit: these caps come from elsewhere.
const (
	// MaxEdgesPerRegion keeps one region's edges publishable as the A records of a single DNS name: 20
	// records still fit a classic 512-byte UDP answer, so resolvers never have to retry over TCP.
	MaxEdgesPerRegion = 20
	// MaxEdges guards against a typo such as `count: 200` turning into a large bill; new DigitalOcean teams
	// also have a lower Droplet limit, raised on request, that an event must plan for anyway.
	MaxEdges = 50
)

// Bounds on how much of the internet KeyIngestCIDRs and KeyAdminCIDRs may open, each list counted as a
// whole (overlapping networks once) and per address family. Two /1 networks are the whole IPv4 internet
// in two halves: a bound on each network alone would let them through. An encoder uplink or an operators'
// office is a handful of addresses; even a mobile carrier's whole range fits a /8. Beyond this, only
// KeyAcceptBroadCIDRs opens the ports; the whole internet (/0) is never accepted.
const (
	// BroadestIPv4Bits is the prefix length of the most IPv4 addresses a list may open: one /8.
	BroadestIPv4Bits = 8
	// BroadestIPv6Bits is the prefix length of the most IPv6 addresses a list may open: one /32, what a
	// regional registry allocates to a whole provider.
	BroadestIPv6Bits = 32
)

// Keys returns every key this project reads, sorted; any other `livecdn:` key in a stack is an error.
func Keys() []string {
	keys := []string{
		KeyACMEAccount, KeyAcceptBroadCIDRs, KeyAdminCIDRs, KeyAudience, KeyCORSOrigins, KeyDNS, KeyDomain,
		KeyEdges, KeyEvent, KeyIngestCIDRs, KeyOrigin, KeyOriginSSHPrivateKey, KeySSHKeys, KeyStream,
		KeyStreamKey, KeyTLSCertificate, KeyTLSKey,
		KeyAlerts, KeyAlertsSlackWebhook, KeyRecordings,
	}
	slices.Sort(keys)
	return keys
}

// secretKeys are the keys that must be stored encrypted; every other key must be plain text, because its
// value ends up in DNS, firewall rules or stack outputs where a secret would be exposed anyway.
var secretKeys = []string{KeyACMEAccount, KeyOriginSSHPrivateKey, KeyStreamKey, KeyTLSCertificate, KeyTLSKey,
	KeyAlertsSlackWebhook}

func isSecretKey(key string) bool { return slices.Contains(secretKeys, key) }
