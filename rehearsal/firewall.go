package rehearsal

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// firewallTable names the nftables tables (inet and bridge) SetFirewall
	// owns inside the namespace.
	firewallTable = "livecdn_firewall"
	// dropMark marks packets from the namespace's own processes that the
	// firewall drops. Dropped in the inet output hook, they would fail the
	// sender's send() with EPERM, a local rejection the cloud never gives;
	// dropped on their way out of the bridge, they vanish as they would at
	// DigitalOcean's firewall, and the sender only sees a timeout.
	dropMark = "0x6c63646e"
	// rulesetHeader explains the generated script to whoever reads it.
	rulesetHeader = `# DigitalOcean cloud firewall semantics for the rehearsal's VMs: inbound rules
# per guarded address, dropped otherwise; outbound open; stateful.
`
)

// FirewallRule admits traffic to one guarded machine, like an inbound rule
// of a DigitalOcean cloud firewall attached to that droplet.
type FirewallRule struct {
	// To is the guarded machine's address. Required. A rule makes its
	// address guarded even if SetFirewall's guarded list omits it.
	To netip.Addr
	// Protocol is "tcp", "udp" or "icmp". Required.
	Protocol string
	// Ports is one port ("80"), a range ("1-65535") or "all" for tcp and
	// udp; empty (or "0", as DigitalOcean reports it) for icmp. Required for
	// tcp and udp.
	Ports string
	// From lists the sources allowed. Sources of the other IP family than
	// To cannot match and are skipped; an empty list admits nothing, as a
	// rule whose source tags name no droplet yet.
	From []netip.Prefix
}

// SetFirewall replaces the namespace's whole firewall, atomically, with
// DigitalOcean cloud firewall semantics: traffic to a guarded address is
// dropped (not rejected: a client sees a timeout) unless a rule admits it;
// replies to admitted connections pass both ways; outbound traffic from
// the VMs is open; traffic to an address that is not guarded, such as the
// namespace's own, is not filtered. guarded lists every firewalled VM,
// including those that no rule names (they then accept nothing).
//
// The rules apply both to traffic between VMs (bridged, seen by the inet
// forward hook through br_netfilter) and to traffic from processes in the
// namespace to VMs (the output hook), with conntrack in both.
func (n *Network) SetFirewall(guarded []netip.Addr, rules []FirewallRule) error {
	ruleset, err := FirewallRuleset(guarded, rules)
	if err != nil {
		return fmt.Errorf("rehearsal %s: firewall: %w", n.Name, err)
	}
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return fmt.Errorf("rehearsal %s: firewall: %w", n.Name, errClosed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := runInput(ctx, strings.NewReader(ruleset), "ip", "netns", "exec", n.Name, "nft", "-f", "-"); err != nil {
		return fmt.Errorf("rehearsal %s: load firewall: %w", n.Name, err)
	}
	return nil
}

// FirewallRuleset returns the nftables script SetFirewall loads. The script
// creates the table if needed, deletes it and declares it anew, all in one
// transaction, so that no packet ever sees a half-loaded ruleset.
func FirewallRuleset(guarded []netip.Addr, rules []FirewallRule) (string, error) {
	var v4, v6 []netip.Addr
	addGuarded := func(a netip.Addr) {
		a = a.Unmap()
		if a.Is4() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	for i, a := range guarded {
		if !a.IsValid() || a.Zone() != "" {
			return "", fmt.Errorf("guarded address %d: invalid address %v", i, a)
		}
		addGuarded(a)
	}
	var lines []string
	for i, r := range rules {
		ruleLines, err := r.nft()
		if err != nil {
			return "", fmt.Errorf("rule %d (%s %s to %v): %w", i, r.Protocol, r.Ports, r.To, err)
		}
		addGuarded(r.To)
		lines = append(lines, ruleLines...)
	}
	v4 = sortedUnique(v4)
	v6 = sortedUnique(v6)

	var b strings.Builder
	b.WriteString(rulesetHeader)
	fmt.Fprintf(&b, "table inet %s\n", firewallTable)
	fmt.Fprintf(&b, "delete table inet %s\n", firewallTable)
	fmt.Fprintf(&b, "table bridge %s\n", firewallTable)
	fmt.Fprintf(&b, "delete table bridge %s\n", firewallTable)
	fmt.Fprintf(&b, "table inet %s {\n", firewallTable)
	writeSet(&b, "guarded4", "ipv4_addr", v4)
	writeSet(&b, "guarded6", "ipv6_addr", v6)
	b.WriteString("\tchain admit {\n")
	b.WriteString("\t\tct state established,related accept\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "\t\t%s\n", l)
	}
	b.WriteString("\t}\n")
	b.WriteString("\t# Between VMs: bridged traffic, passed to this hook by br_netfilter.\n")
	b.WriteString("\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tjump admit\n")
	b.WriteString("\t\tip daddr @guarded4 drop\n\t\tip6 daddr @guarded6 drop\n\t}\n")
	b.WriteString("\t# From the namespace's processes (encoder, operator, viewers) to VMs:\n")
	b.WriteString("\t# marked here, dropped by the bridge table below.\n")
	b.WriteString("\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\t\tjump admit\n")
	fmt.Fprintf(&b, "\t\tip daddr @guarded4 meta mark set %s\n\t\tip6 daddr @guarded6 meta mark set %s\n\t}\n", dropMark, dropMark)
	b.WriteString("}\n")
	fmt.Fprintf(&b, "table bridge %s {\n", firewallTable)
	fmt.Fprintf(&b, "\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\t\tmeta mark %s drop\n\t}\n", dropMark)
	b.WriteString("}\n")
	return b.String(), nil
}

func writeSet(b *strings.Builder, name, typ string, addrs []netip.Addr) {
	fmt.Fprintf(b, "\tset %s {\n\t\ttype %s\n", name, typ)
	if len(addrs) > 0 {
		s := make([]string, len(addrs))
		for i, a := range addrs {
			s[i] = a.String()
		}
		fmt.Fprintf(b, "\t\telements = { %s }\n", strings.Join(s, ", "))
	}
	b.WriteString("\t}\n")
}

func sortedUnique(addrs []netip.Addr) []netip.Addr {
	slices.SortFunc(addrs, netip.Addr.Compare)
	return slices.Compact(addrs)
}

// nft renders one rule as nftables rules, one per source: an anonymous set
// of prefixes would reject overlapping sources such as 0.0.0.0/0 with a /32.
func (r FirewallRule) nft() ([]string, error) {
	if !r.To.IsValid() || r.To.Zone() != "" {
		return nil, fmt.Errorf("invalid To address %v", r.To)
	}
	to := r.To.Unmap()
	family, icmp := "ip", "icmp"
	if to.Is6() {
		family, icmp = "ip6", "ipv6-icmp"
	}
	var match string
	switch r.Protocol {
	case "tcp", "udp":
		ports, err := nftPorts(r.Ports)
		if err != nil {
			return nil, err
		}
		if ports == "" {
			match = "meta l4proto " + r.Protocol
		} else {
			match = r.Protocol + " dport " + ports
		}
	case "icmp":
		if r.Ports != "" && r.Ports != "0" {
			return nil, fmt.Errorf("icmp takes no ports, got %q", r.Ports)
		}
		match = "meta l4proto " + icmp
	default:
		return nil, fmt.Errorf("protocol %q: want tcp, udp or icmp", r.Protocol)
	}
	var lines []string
	for _, src := range r.From {
		if !src.IsValid() {
			return nil, fmt.Errorf("invalid source prefix %v", src)
		}
		src = src.Masked()
		if src.Addr().Is4() != to.Is4() {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s daddr %s %s saddr %s %s accept", family, to, family, src, match))
	}
	return lines, nil
}

// nftPorts turns a DigitalOcean port range into nftables syntax; "" means
// every port.
func nftPorts(ports string) (string, error) {
	if ports == "all" || ports == "0" || ports == "1-65535" {
		return "", nil
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	first, err := parsePort(lo)
	if err != nil {
		return "", fmt.Errorf("ports %q: %w", ports, err)
	}
	if !isRange {
		return strconv.Itoa(first), nil
	}
	last, err := parsePort(hi)
	if err != nil {
		return "", fmt.Errorf("ports %q: %w", ports, err)
	}
	if last < first {
		return "", fmt.Errorf("ports %q: range ends before it starts", ports)
	}
	if first == last {
		return strconv.Itoa(first), nil
	}
	return fmt.Sprintf("%d-%d", first, last), nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != s {
		return 0, fmt.Errorf("%q is not a port (1-65535)", s)
	}
	return p, nil
}
