package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// documentationPrefixes are the address ranges reserved for examples (RFC 5737, RFC 3849). The committed
// stack files use them where a team's real addresses go; deploying them would lock the encoder out.
var documentationPrefixes = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// reservedDomains can never resolve to an edge (RFC 2606, RFC 6761).
var reservedDomains = []string{"example.com", "example.net", "example.org", "example", "test", "invalid", "localhost"}

// ReadyToDeploy reports what `pulumi up` needs beyond a valid configuration: the secrets (see
// secretsSet) and real addresses and names instead of examples (see ExampleValues). The CLI, which reads
// stack files with LoadStackFile, prints them as a to-do list next to the plan. A sealed secret counts
// as set: Pulumi will decrypt it and Load will check its format then.
func (s *Settings) ReadyToDeploy() error {
	var p problems
	s.secretsSet(&p)
	s.exampleValues(&p)
	p.sortByKey()
	return p.err()
}

// ExampleValues reports documentation addresses and reserved domain names, which the committed stack
// files carry where a team's real ones go. A Pulumi program warns about them in a preview (so the
// example stacks can be previewed) and refuses them in an update, where they would lock everyone out.
func (s *Settings) ExampleValues() error {
	var p problems
	s.exampleValues(&p)
	p.sortByKey()
	return p.err()
}

// secretsSet requires the secrets the program renders into the machines; Load includes it.
func (s *Settings) secretsSet(p *problems) {
	if !s.StreamKey.IsSet() {
		p.addf(KeyStreamKey, "generate and store one with: openssl rand -hex 24 | pulumi config set --secret "+
			KeyStreamKey+" (and enter the same key in the encoder)",
			"not set: the origin refuses every publisher without it")
	}
	if s.HTTPS() && !s.TLS.Certificate.IsSet() && !s.TLS.Key.IsSet() {
		p.addf(KeyTLSCertificate, "order one with: livecdn cert --stack <stack> (or bring the team's own with --chain and --key)",
			"not set: %s serves viewers and the encoder over HTTPS, which needs a certificate for it and *.%s", s.Domain, s.Domain)
	}
	if s.Origin.BYO != nil && !s.OriginSSHPrivateKey.IsSet() {
		p.addf(KeyOriginSSHPrivateKey, "pulumi config set --secret "+KeyOriginSSHPrivateKey+" < ~/.ssh/id_ed25519",
			"not set: livecdn configures the bring-your-own origin over ssh with it")
	}
}

func (s *Settings) exampleValues(p *problems) {
	for _, list := range []struct {
		key   string
		cidrs []netip.Prefix
	}{{KeyIngestCIDRs, s.IngestCIDRs}, {KeyAdminCIDRs, s.AdminCIDRs}} {
		for i, c := range list.cidrs {
			if isDocumentation(c) {
				path := fmt.Sprintf("%s[%d]", list.key, i)
				p.addf(path, setCmd(path, "<cidr>")+" with a network you actually use",
					"%s is a documentation range (an example), so the firewall would let nobody in", c)
			}
		}
	}
	if b := s.Origin.BYO; b != nil && b.Address.IsValid() && isDocumentation(netip.PrefixFrom(b.Address, 32)) {
		path := KeyOrigin + ".byo.address"
		p.addf(path, setCmd(path, "<public-ipv4>"), "%s is a documentation address (an example)", b.Address)
	}
	if s.DNS.Enabled && isReservedDomain(s.Domain) {
		p.addf(KeyDomain, "pulumi config set "+KeyDomain+" <hostname> with a name in your Cloudflare zone",
			"%q is reserved for examples and can never reach viewers", s.Domain)
	}
}

func isDocumentation(c netip.Prefix) bool {
	for _, d := range documentationPrefixes {
		if d.Bits() <= c.Bits() && d.Contains(c.Addr()) {
			return true
		}
	}
	return false
}

func isReservedDomain(name string) bool {
	for _, r := range reservedDomains {
		if name == r || strings.HasSuffix(name, "."+r) {
			return true
		}
	}
	return false
}
