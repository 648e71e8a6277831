package rehearsal

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// updateGolden rewrites golden files, as elsewhere in the repository.
var updateGolden = os.Getenv("UPDATE_GOLDEN") == "1"

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updateGolden {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file: run UPDATE_GOLDEN=1 go test ./rehearsal/")
	require.Equal(t, string(want), got, "%s differs: run UPDATE_GOLDEN=1 go test ./rehearsal/ if the change is intended", path)
}

var (
	originAddr = netip.MustParseAddr("198.18.0.10")
	edgeAddr   = netip.MustParseAddr("198.18.0.11")
	anywhere   = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
)

// The origin's firewall as the components declare it: RTMP from the
// encoder and the edges, HTTP from the edges, ssh from the operator, ICMP
// from anywhere; the edge takes HTTP from anywhere.
func goldenRules() []FirewallRule {
	return []FirewallRule{
		{To: originAddr, Protocol: "tcp", Ports: "1935", From: []netip.Prefix{netip.PrefixFrom(encoder, 32), netip.PrefixFrom(edgeAddr, 32)}},
		{To: originAddr, Protocol: "tcp", Ports: "22", From: []netip.Prefix{netip.PrefixFrom(admin, 32)}},
		{To: originAddr, Protocol: "icmp", From: anywhere},
		{To: edgeAddr, Protocol: "tcp", Ports: "80", From: anywhere},
		{To: edgeAddr, Protocol: "udp", Ports: "1-65535", From: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}},
		{To: edgeAddr, Protocol: "tcp", Ports: "8000-8010", From: []netip.Prefix{netip.MustParsePrefix("198.51.100.7/24")}},
		{To: netip.MustParseAddr("2001:db8::10"), Protocol: "icmp", Ports: "0", From: anywhere},
	}
}

func TestFirewallRulesetGolden(t *testing.T) {
	guarded := []netip.Addr{edgeAddr, originAddr, netip.MustParseAddr("198.18.0.12")}
	got, err := FirewallRuleset(guarded, goldenRules())
	require.NoError(t, err)
	checkGolden(t, "firewall.nft", got)

	empty, err := FirewallRuleset(nil, nil)
	require.NoError(t, err)
	checkGolden(t, "firewall-empty.nft", empty)

	if os.Geteuid() == 0 {
		// nft must accept both: check them without loading (-c) in a
		// throwaway namespace.
		for _, ruleset := range []string{got, empty} {
			cmd := exec.Command("unshare", "--net", "nft", "-c", "-f", "-")
			cmd.Stdin = strings.NewReader(ruleset)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))
		}
	}
}

func TestFirewallRulesetRejects(t *testing.T) {
	for name, rule := range map[string]FirewallRule{
		"no address":      {Protocol: "tcp", Ports: "80", From: anywhere},
		"bad protocol":    {To: originAddr, Protocol: "sctp", Ports: "80", From: anywhere},
		"tcp needs ports": {To: originAddr, Protocol: "tcp", From: anywhere},
		"port zero":       {To: originAddr, Protocol: "tcp", Ports: "0-80", From: anywhere},
		"port too high":   {To: originAddr, Protocol: "udp", Ports: "65536", From: anywhere},
		"reversed range":  {To: originAddr, Protocol: "tcp", Ports: "90-80", From: anywhere},
		"not a number":    {To: originAddr, Protocol: "tcp", Ports: "http", From: anywhere},
		"icmp with ports": {To: originAddr, Protocol: "icmp", Ports: "8", From: anywhere},
		"invalid source":  {To: originAddr, Protocol: "tcp", Ports: "80", From: []netip.Prefix{{}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := FirewallRuleset(nil, []FirewallRule{rule})
			require.ErrorContains(t, err, "rule 0")
		})
	}
	_, err := FirewallRuleset([]netip.Addr{{}}, nil)
	require.ErrorContains(t, err, "guarded address 0")
}

// peer stands in for a VM: its own network namespace (held by an
// unshared sleep, so it dies with the test) joined to br0 by a veth pair,
// exactly where a VM's tap would be.
type peer struct {
	addr   netip.Addr
	nsPath string
}

func newPeer(t *testing.T, n *Network, idx int, addr netip.Prefix) *peer {
	t.Helper()
	holder := exec.Command("unshare", "--net", "sleep", "600")
	holder.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, holder.Start())
	t.Cleanup(func() {
		_ = holder.Process.Kill()
		_ = holder.Wait()
	})
	nsPath := fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid)
	own, err := os.Readlink("/proc/self/ns/net")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ns, err := os.Readlink(nsPath)
		return err == nil && ns != own
	}, 5*time.Second, 10*time.Millisecond, "unshare did not make a namespace")

	hostSide := fmt.Sprintf("vp%d", idx)
	pid := fmt.Sprint(holder.Process.Pid)
	for _, args := range [][]string{
		{"ip", "-n", n.Name, "link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", pid},
		{"ip", "-n", n.Name, "link", "set", hostSide, "master", bridgeName, "up"},
		{"nsenter", "--net=" + nsPath, "ip", "link", "set", "lo", "up"},
		{"nsenter", "--net=" + nsPath, "ip", "addr", "add", addr.String(), "dev", "eth0"},
		{"nsenter", "--net=" + nsPath, "ip", "link", "set", "eth0", "up"},
		{"nsenter", "--net=" + nsPath, "ip", "route", "add", "default", "via", gateway.String()},
	} {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		require.NoError(t, err, "%v: %s", args, out)
	}
	return &peer{addr: addr.Addr(), nsPath: nsPath}
}

func (p *peer) listen(t *testing.T, port int) {
	t.Helper()
	var l net.Listener
	require.NoError(t, inNamespace(p.nsPath, func() (err error) {
		l, err = net.Listen("tcp", netip.AddrPortFrom(p.addr, uint16(port)).String())
		return err
	}))
	t.Cleanup(func() { l.Close() })
	go serveEcho(l)
}

// listenUDP answers every datagram with the sender's address.
func (p *peer) listenUDP(t *testing.T, port int) {
	t.Helper()
	var c net.PacketConn
	require.NoError(t, inNamespace(p.nsPath, func() (err error) {
		c, err = net.ListenPacket("udp", netip.AddrPortFrom(p.addr, uint16(port)).String())
		return err
	}))
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(from.String())
			_, _ = c.WriteTo([]byte(host+"\n"), from)
		}
	}()
}

func (p *peer) dial(ctx context.Context, to netip.AddrPort) (net.Conn, error) {
	var c net.Conn
	err := inNamespace(p.nsPath, func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, "tcp", to.String())
		return err
	})
	return c, err
}

// TestFirewallTraffic proves DigitalOcean's semantics with real packets,
// through both hooks the rehearsal relies on: forward (bridged, between
// machines on br0) and output (from the namespace's client addresses).
func TestFirewallTraffic(t *testing.T) {
	needRoot(t)
	n := newTestNetwork(t, NetworkConfig{})
	ctx := context.Background()

	origin := newPeer(t, n, 0, netip.PrefixFrom(originAddr, 24))
	edge := newPeer(t, n, 1, netip.PrefixFrom(edgeAddr, 24))
	other := newPeer(t, n, 2, netip.MustParsePrefix("198.18.0.12/24"))
	for _, p := range []*peer{origin, edge, other} {
		p.listen(t, 1935)
		p.listen(t, 22)
		p.listen(t, 9000)
	}
	origin.listenUDP(t, 5000)
	services, err := n.Listen("tcp", "198.18.0.1:8080")
	require.NoError(t, err)
	go serveEcho(services)

	fromNS := func(from netip.Addr, to netip.Addr, port uint16) (string, error) {
		return exchange(ctx, func(ctx context.Context) (net.Conn, error) {
			return n.Dial(ctx, "tcp", netip.AddrPortFrom(to, port).String(), from)
		})
	}
	fromPeer := func(p *peer, to netip.Addr, port uint16) (string, error) {
		return exchange(ctx, func(ctx context.Context) (net.Conn, error) {
			return p.dial(ctx, netip.AddrPortFrom(to, port))
		})
	}
	allowed := func(what string, got string, err error, wantFrom netip.Addr) {
		t.Helper()
		require.NoError(t, err, what)
		require.Equal(t, wantFrom.String(), got, what)
	}
	dropped := func(what string, _ string, err error) {
		t.Helper()
		require.Error(t, err, what)
		require.True(t, isDrop(err), "%s: want a drop (timeout), got %v", what, err)
	}

	// Before any firewall everything passes.
	got, err := fromNS(viewer, originAddr, 22)
	allowed("no firewall: viewer to origin ssh", got, err, viewer)

	// The origin admits RTMP from the encoder and the edge, ssh from the
	// operator, UDP 5000 from the operator; the edge is guarded with no
	// rule at all; .12 is not guarded.
	require.NoError(t, n.SetFirewall([]netip.Addr{originAddr, edgeAddr}, []FirewallRule{
		{To: originAddr, Protocol: "tcp", Ports: "1935", From: []netip.Prefix{netip.PrefixFrom(encoder, 32), netip.PrefixFrom(edgeAddr, 32)}},
		{To: originAddr, Protocol: "tcp", Ports: "22", From: []netip.Prefix{netip.PrefixFrom(admin, 32)}},
		{To: originAddr, Protocol: "udp", Ports: "5000", From: []netip.Prefix{netip.PrefixFrom(admin, 32)}},
		{To: originAddr, Protocol: "icmp", From: []netip.Prefix{netip.PrefixFrom(admin, 32)}},
	}))

	// Output hook: the namespace's clients.
	got, err = fromNS(encoder, originAddr, 1935)
	allowed("output: encoder to origin rtmp", got, err, encoder)
	got, err = fromNS(admin, originAddr, 22)
	allowed("output: operator to origin ssh", got, err, admin)
	got, err = fromNS(viewer, originAddr, 22)
	dropped("output: viewer to origin ssh", got, err)
	got, err = fromNS(viewer, originAddr, 1935)
	dropped("output: viewer to origin rtmp", got, err)
	got, err = fromNS(admin, edgeAddr, 22)
	dropped("output: operator to the rule-less edge", got, err)
	got, err = fromNS(viewer, other.addr, 9000)
	allowed("output: unguarded machine", got, err, viewer)

	// Forward hook: machine to machine across the bridge. The origin's
	// replies reach the guarded edge: the firewall is stateful.
	got, err = fromPeer(edge, originAddr, 1935)
	allowed("forward: edge to origin rtmp", got, err, edgeAddr)
	got, err = fromPeer(other, originAddr, 1935)
	dropped("forward: other machine to origin rtmp", got, err)
	got, err = fromPeer(edge, originAddr, 22)
	dropped("forward: edge to origin ssh", got, err)
	got, err = fromPeer(origin, edgeAddr, 9000)
	dropped("forward: origin to the rule-less edge", got, err)
	got, err = fromPeer(origin, other.addr, 9000)
	allowed("forward: origin's outbound to an unguarded machine", got, err, originAddr)

	// Outbound from a guarded machine to the namespace's services is open.
	got, err = fromPeer(edge, gateway, 8080)
	allowed("input: edge to the namespace's services", got, err, edgeAddr)

	// UDP and ICMP follow the same rules.
	require.NoError(t, udpExchange(n, admin, netip.AddrPortFrom(originAddr, 5000)))
	require.True(t, isDrop(udpExchange(n, viewer, netip.AddrPortFrom(originAddr, 5000))), "udp from the viewer must be dropped")
	require.NoError(t, ping(n, admin, originAddr))
	require.True(t, isDrop(ping(n, viewer, originAddr)), "ping from the viewer must be dropped")

	// SetFirewall replaces the whole ruleset.
	require.NoError(t, n.SetFirewall([]netip.Addr{edgeAddr}, nil))
	got, err = fromNS(viewer, originAddr, 22)
	allowed("replaced: origin no longer guarded", got, err, viewer)
	got, err = fromNS(viewer, edgeAddr, 22)
	dropped("replaced: edge still guarded", got, err)
}

// udpExchange sends a datagram from one of the namespace's addresses and
// waits a second for the answer.
func udpExchange(n *Network, from netip.Addr, to netip.AddrPort) error {
	c, err := n.Dial(context.Background(), "udp", to.String(), from)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return err
	}
	buf := make([]byte, 100)
	k, err := c.Read(buf)
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(string(buf[:k])); got != from.String() {
		return fmt.Errorf("udp answer %q, want %q", got, from)
	}
	return nil
}

// ping sends one ICMP echo request from the namespace and waits a second
// for the reply (no ping binary needed: a raw socket, as root).
func ping(n *Network, from, to netip.Addr) error {
	var c net.PacketConn
	err := inNamespace(n.nsPath, func() (err error) {
		c, err = net.ListenPacket("ip4:icmp", from.String())
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	id := uint16(os.Getpid())
	msg := []byte{8, 0, 0, 0, byte(id >> 8), byte(id), 0, 1, 'l', 'c', 'd', 'n'}
	binary.BigEndian.PutUint16(msg[2:], icmpChecksum(msg))
	if _, err := c.WriteTo(msg, &net.IPAddr{IP: to.AsSlice()}); err != nil {
		return err
	}
	if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		k, src, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		if src.String() == to.String() && k >= 8 && buf[0] == 0 && binary.BigEndian.Uint16(buf[4:]) == id {
			return nil
		}
	}
}

func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
