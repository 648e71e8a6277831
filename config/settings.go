// Package config turns a Pulumi stack's `livecdn:` configuration into typed, validated Settings.
//
// A stack is decoded strictly: an unknown key or field is an error naming it and listing what is valid,
// because a misspelled key that Pulumi silently ignores would ship a CDN nobody configured. Every problem
// is reported at once, each naming the key path, the bad value and the command that fixes it.
//
// Two entry points read the same configuration from the two places it lives:
//   - Load, for the Pulumi program, receives what Pulumi hands a program (secrets decrypted) and also
//     demands what a deployment needs: the stream key, real addresses instead of documentation ones.
//   - LoadStackFile, for the livecdn CLI, reads a Pulumi.<stack>.yaml directly. It cannot decrypt
//     secrets and does not need to: it checks everything else and leaves ReadyToDeploy to report what
//     `pulumi up` will still refuse.
//
// The package imports no Pulumi code so the CLI, the planner and tests use it without an engine.
package config

import (
	"net/netip"
	"slices"
	"time"
)

// Settings is one stack's configuration after decoding, defaulting and validation. Slices are sorted
// (edges by region, CIDRs and ssh keys by value) so everything built from Settings is deterministic:
// reordering a stack file must not replace a Droplet.
type Settings struct {
	// EventName is the display name ("AnimeCon 2026") for the player page and resource descriptions.
	EventName string
	// EventEnd is the first moment after the event (midnight UTC after its last day): the certificate
	// must outlive it. Zero when the stack does not say; required with a Domain.
	EventEnd time.Time
	// Stream is what the encoder sends and how it is cut into HLS.
	Stream Stream
	// StreamKey is the secret the encoder presents; unset or sealed only when read by LoadStackFile.
	StreamKey Secret
	// Origin is where the encoder publishes.
	Origin Origin
	// OriginSSHPrivateKey configures a bring-your-own origin; set only together with Origin.BYO.
	OriginSSHPrivateKey Secret
	// Edges holds one group per region, sorted by region.
	Edges []EdgeGroup
	// Audience is nil when the stack sizes every edge group by hand.
	Audience *Audience
	// IngestCIDRs are the encoder networks allowed to publish; never the whole internet.
	IngestCIDRs []netip.Prefix
	// AdminCIDRs are the networks allowed to ssh in and read stat pages; never the whole internet.
	AdminCIDRs []netip.Prefix
	// AcceptBroadCIDRs lets IngestCIDRs and AdminCIDRs open more of the internet than BroadestIPv4Bits and
	// BroadestIPv6Bits allow (never all of it): an operator's explicit choice, never a default.
	AcceptBroadCIDRs bool
	// SSHKeys are DigitalOcean ssh key fingerprints or numeric IDs installed on every Droplet.
	SSHKeys []string
	// Domain is the viewers' hostname; empty when the stack publishes no name.
	Domain string
	// DNS configures Cloudflare for Domain.
	DNS DNS
	// TLS is what viewers' HTTPS and the encoder's RTMPS are served with; every stack with a Domain
	// serves HTTPS and needs it, a stack without one serves plain HTTP and must not set it.
	TLS TLS
	// CORSOrigins are the websites ("https://example.org") whose pages may fetch the stream, sorted;
	// empty allows any site.
	CORSOrigins []string
	// Alerts are the monitoring alerts' destinations and thresholds; none are declared unless
	// Alerts.Enabled.
	Alerts Alerts
	// Recordings is the bucket the origin uploads the recording to; nil keeps a recording
	// (Stream.Record) on the origin's disk only, which `pulumi destroy` deletes.
	Recordings *Recordings
}

// TLS holds a stack's certificate, its key and the ACME account that ordered it, all secret config. The
// certificate is public once served, but it travels with its key; `livecdn cert` writes all three.
type TLS struct {
	// Certificate is the PEM chain, leaf first.
	Certificate Secret
	// Key is the PEM private key of the leaf.
	Key Secret
	// ACMEAccount is the JSON account `livecdn cert` orders with; unset for a team's own certificate.
	ACMEAccount Secret
}

// HTTPS reports whether viewers and encoders are served over TLS: whenever the stack has a domain,
// because a certificate needs a name.
func (s *Settings) HTTPS() bool { return s.Domain != "" }

// Stream describes the live stream from encoder to viewer.
type Stream struct {
	// Name is the RTMP stream name the encoder publishes to; it appears in URLs and file names.
	Name string
	// FragmentSeconds is the HLS segment length; the encoder's keyframe interval must not exceed it.
	FragmentSeconds int
	// PlaylistSeconds is how much stream an HLS playlist covers (at least four fragments).
	PlaylistSeconds int
	// AudioKbps is the AAC bitrate of every rendition.
	AudioKbps int
	// SourceKbps is the encoder's video bitrate: what viewers get when there is no ladder.
	SourceKbps int
	// Record keeps a copy of the source: on the origin's disk, and in the bucket with Recordings.
	Record bool
	// Renditions is the ABR ladder, highest first; empty means the source is passed through as is.
	Renditions []Rendition
}

// Rendition is one quality of the ABR ladder the origin transcodes.
type Rendition struct {
	// Name labels the rendition in URLs and the master playlist ("720p").
	Name string
	// Width is the frame width in pixels (even, as H.264 4:2:0 requires).
	Width int
	// Height is the frame height in pixels (even, as H.264 4:2:0 requires).
	Height int
	// VideoKbps is the video bitrate; audio comes on top.
	VideoKbps int
}

// Origin says where the origin runs: exactly one of Region/Size (a new Droplet) or BYO.
type Origin struct {
	// Region is the DigitalOcean region of a new origin Droplet; empty with BYO.
	Region string
	// Size is the DigitalOcean size of a new origin Droplet; empty with BYO.
	Size string
	// BYO is an existing machine configured over ssh; nil for a new Droplet.
	BYO *BYOOrigin
}

// BYOOrigin is an origin the team already runs (e.g. at the venue), configured over ssh.
type BYOOrigin struct {
	// Address is the origin's public IPv4 address: edges pull from it and the ssh session reaches it.
	Address netip.Addr
	// User is the ssh user; it needs root or passwordless sudo.
	User string
	// Port is the ssh port.
	Port int
	// HostKey is the server's ssh host key, "TYPE BASE64" as ssh-keyscan
	// prints it: the ssh connection that sends the stream key refuses any
	// other server.
	HostKey string
}

// EdgeGroup is the set of edges in one region.
type EdgeGroup struct {
	// Region is the DigitalOcean region; each region appears at most once.
	Region string
	// Size is the DigitalOcean size of every edge in the region.
	Size string
	// Count is the number of edges; 0 means the planner decides from the audience.
	Count int
}

// Audience is the audience the planner sizes edges for.
type Audience struct {
	// Viewers is the expected peak number of concurrent viewers across all regions.
	Viewers int
	// Shares is the fraction of viewers each edge region serves, sorted by region; they sum to 1.
	Shares []Share
	// Redundancy adds one edge per region so losing an edge does not overload the rest.
	Redundancy bool
}

// Share is the fraction of the audience one region serves.
type Share struct {
	// Region is an edge region.
	Region string
	// Fraction is between 0 and 1.
	Fraction float64
}

// ShareOf returns the fraction of viewers the region serves, 0 for a region without a share.
func (a *Audience) ShareOf(region string) float64 {
	i := slices.IndexFunc(a.Shares, func(s Share) bool { return s.Region == region })
	if i < 0 {
		return 0
	}
	return a.Shares[i].Fraction
}

// DNS configures Cloudflare for the viewers' hostname.
type DNS struct {
	// Enabled creates the records; off, viewers use edge addresses from the stack outputs.
	Enabled bool
	// ZoneID is the Cloudflare zone that holds Domain.
	ZoneID string
	// AccountID owns the load balancer pools and monitors; needed only with LoadBalancing.
	AccountID string
	// LoadBalancing uses Cloudflare Load Balancing (a paid add-on) for geo steering and failover;
	// without it, each region gets its own records and the player picks and fails over itself.
	LoadBalancing bool
	// TTL is the record TTL in seconds; short so a replaced edge is picked up quickly.
	TTL int
	// Plan is the Cloudflare plan of the zone and account (PlanFree ... PlanEnterprise): it decides whether
	// load balancing is possible, the shortest MonitorInterval and where pools may be probed from.
	Plan string
	// MonitorInterval is the number of seconds between two probes of every edge's /healthz.
	MonitorInterval int
	// CheckRegions, when not nil, are the Cloudflare regions every pool is probed from, sorted; empty means
	// every data centre (Enterprise). nil: each pool is probed from its own region (PoolCheckRegions).
	CheckRegions []string
}

// Defaults, applied when a stack leaves a field out. Pulumi.yaml declares the same defaults, and a test
// keeps the two in step.
const (
	// DefaultFragmentSeconds matches a 2 s keyframe interval, the usual encoder setting for live HLS.
	DefaultFragmentSeconds = 2
	// DefaultPlaylistSeconds keeps six fragments listed: enough for players to ride out a slow fetch.
	DefaultPlaylistSeconds = 12
	// DefaultAudioKbps is transparent AAC stereo for speech and music.
	DefaultAudioKbps = 128
	// DefaultSourceKbps is a typical 1080p encoder setting, used for planning without a ladder.
	DefaultSourceKbps = 6000
	// DefaultBYOUser is the user a fresh Debian or Ubuntu server lets in with a key.
	DefaultBYOUser = "root"
	// DefaultBYOPort is the standard ssh port.
	DefaultBYOPort = 22
	// DefaultDNSTTL is Cloudflare's minimum outside Enterprise: a replaced edge is picked up in a minute.
	DefaultDNSTTL = 60
)
