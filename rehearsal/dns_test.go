package rehearsal

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestServeDNS(t *testing.T) {
	needRoot(t, "getent")
	n := newTestNetwork(t, NetworkConfig{})
	ctx := context.Background()
	edge1, edge2 := netip.MustParseAddr("198.18.0.11"), netip.MustParseAddr("198.18.0.12")
	v6 := netip.MustParseAddr("2001:db8::11")
	require.NoError(t, n.ServeDNS(gateway, []DNSRecord{
		{Name: "origin.example.com", Addrs: []netip.Addr{originAddr}},
		{Name: "ams.live.example.com", Addrs: []netip.Addr{edge1, edge2, v6}},
	}))
	require.Equal(t, gateway, n.DNSServer())

	// Every address of a name comes back in one answer, as with several
	// Cloudflare records of one name.
	r := n.Resolver()
	got, err := r.LookupNetIP(ctx, "ip4", "ams.live.example.com")
	require.NoError(t, err)
	slices.SortFunc(got, netip.Addr.Compare)
	require.Equal(t, []netip.Addr{edge1, edge2}, got)
	got, err = r.LookupNetIP(ctx, "ip6", "ams.live.example.com")
	require.NoError(t, err)
	require.Equal(t, []netip.Addr{v6}, got)

	// Unknown names fail at once: no upstream to wait for.
	began := time.Now()
	_, err = r.LookupNetIP(ctx, "ip", "nope.example.com")
	var dnsErr *net.DNSError
	require.ErrorAs(t, err, &dnsErr)
	require.True(t, dnsErr.IsNotFound, "want NXDOMAIN, got %v", err)
	require.Less(t, time.Since(began), time.Second)

	// Commands in the namespace resolve with it through resolv.conf.
	out, err := n.Command(ctx, "getent", "ahostsv4", "origin.example.com").Output()
	require.NoError(t, err)
	require.Contains(t, string(out), originAddr.String())

	// HTTPClient resolves with it and dials from the chosen address.
	l, err := n.Listen("tcp", "198.18.0.1:8080")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		_, _ = w.Write([]byte(host))
	}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	// Replacing the records restarts the server with the new ones.
	require.NoError(t, n.ServeDNS(gateway, []DNSRecord{
		{Name: "apt.rehearsal.invalid", Addrs: []netip.Addr{gateway}},
		{Name: "origin.example.com", Addrs: []netip.Addr{edge1}},
	}))
	got, err = r.LookupNetIP(ctx, "ip4", "origin.example.com")
	require.NoError(t, err)
	require.Equal(t, []netip.Addr{edge1}, got)
	_, err = r.LookupNetIP(ctx, "ip", "ams.live.example.com")
	require.Error(t, err)

	resp, err := n.HTTPClient(viewer, 5*time.Second).Get("http://apt.rehearsal.invalid:8080/")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, viewer.String(), string(body))
}

func TestDNSRejects(t *testing.T) {
	a := []netip.Addr{originAddr}
	for name, records := range map[string][]DNSRecord{
		"no records":    nil,
		"wildcard":      {{Name: "*.example.com", Addrs: a}},
		"empty name":    {{Name: "", Addrs: a}},
		"no addresses":  {{Name: "origin.example.com"}},
		"twice":         {{Name: "origin.example.com", Addrs: a}, {Name: "Origin.example.com.", Addrs: a}},
		"invalid addr":  {{Name: "origin.example.com", Addrs: []netip.Addr{{}}}},
		"space in name": {{Name: "origin example.com", Addrs: a}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := dnsmasqArgs(gateway, records)
			require.Error(t, err)
		})
	}
	args, err := dnsmasqArgs(gateway, []DNSRecord{{Name: "Live.Example.com.", Addrs: []netip.Addr{originAddr, netip.MustParseAddr("::ffff:198.18.0.11")}}})
	require.NoError(t, err)
	require.Contains(t, args, "--host-record=live.example.com,198.18.0.10")
	require.Contains(t, args, "--host-record=live.example.com,198.18.0.11")
	require.Contains(t, args, "--listen-address=198.18.0.1")
}
