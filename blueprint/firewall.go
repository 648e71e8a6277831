package blueprint

import (
	"net/netip"
	"strconv"

	"github.com/livecdn/livecdn/config"
)

// Rule is one inbound rule of a machine's cloud firewall, as DigitalOcean
// models it: a protocol, a port range and the sources allowed. The Pulumi
// components declare it as a digitalocean.Firewall inbound rule; the
// rehearsal enforces the same rule with nftables.
type Rule struct {
	// Protocol is "tcp", "udp" or "icmp".
	Protocol string
	// Ports is a port or a range ("80", "1-65535"); empty for icmp.
	Ports string
	// Sources are the addresses allowed.
	Sources []netip.Prefix
	// SourceRoles admit every machine of these roles, now or later: the
	// cloud firewall names their tag.
	SourceRoles []Role
}

// Anywhere is every IPv4 and IPv6 address.
var Anywhere = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}

func tcp(port int, sources []netip.Prefix, roles ...Role) Rule {
	return Rule{Protocol: "tcp", Ports: strconv.Itoa(port), Sources: sources, SourceRoles: roles}
}

// icmp keeps ping and path-MTU discovery working.
var icmp = Rule{Protocol: "icmp", Sources: Anywhere}

// originInbound admits the encoder from the venue only, the edges by their
// role (so adding an edge never changes the origin), and admins on ssh, the
// stat page and the node exporter, which `livecdn status` reads.
func originInbound(s *config.Settings) []Rule {
	rules := []Rule{tcp(RTMPPort, s.IngestCIDRs)}
	if s.HTTPS() {
		// RTMPS, from the same encoder networks as RTMP.
		rules = append(rules, tcp(RTMPSPort, s.IngestCIDRs))
	}
	return append(rules,
		tcp(RTMPPort, nil, RoleEdge),
		tcp(SSHPort, s.AdminCIDRs),
		tcp(StatPort, s.AdminCIDRs),
		tcp(NodeExporterPort, s.AdminCIDRs),
		icmp,
	)
}

// edgeInbound admits viewers on HTTP and HTTPS (on a stack without a
// domain nothing listens on 443), and admins on ssh and the exporters'
// ports, which `livecdn status` reads (the status document on port 80 is
// limited to admins by nginx itself). RTMP stays closed: the edge's RTMP
// server listens on loopback only.
func edgeInbound(s *config.Settings) []Rule {
	return []Rule{
		tcp(HTTPPort, Anywhere),
		tcp(HTTPSPort, Anywhere),
		tcp(SSHPort, s.AdminCIDRs),
		tcp(NodeExporterPort, s.AdminCIDRs),
		tcp(NginxExporterPort, s.AdminCIDRs),
		icmp,
	}
}
