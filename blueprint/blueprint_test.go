package blueprint

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/internal/throwaway"
)

func loadStack(t *testing.T, name string) *Stack {
	t.Helper()
	s, err := config.LoadStackFile(filepath.Join("..", "Pulumi."+name+".yaml"))
	require.NoError(t, err)
	st, err := New(s)
	require.NoError(t, err)
	return st
}

// testCloud is what the cloud and the stack's secrets would give st's
// machines: a stream key and, for a stack with a domain, a certificate for
// it from a CA made for the test.
func testCloud(t *testing.T, st *Stack) Cloud {
	t.Helper()
	c := Cloud{OriginAddress: netip.MustParseAddr("192.0.2.1"), StreamKey: "a-stream-key-long-enough-0123456789"}
	if d := st.Settings.Domain; d != "" {
		_, leaf, err := throwaway.ForDomain("blueprint test", d, time.Now().AddDate(0, 0, 90))
		require.NoError(t, err)
		c.Certificate, c.CertificateKey = leaf.Chain, leaf.Key
	}
	return c
}

func TestAnimeconMachines(t *testing.T) {
	st := loadStack(t, "animecon")
	var names []string
	for _, m := range st.Machines() {
		names = append(names, m.Name)
	}
	require.Equal(t, []string{"origin", "ams3-1", "ams3-2", "nyc3-1", "nyc3-2", "sgp1-1", "sgp1-2"}, names)
	require.Equal(t, RoleOrigin, st.Origin.Role)
	require.Equal(t, "c-4", st.Origin.Size)
	require.Equal(t, []string{"ingest.live.example.org"}, st.Origin.Hostnames)
	require.Equal(t, []string{"ams3-2.live.example.org", "ams3.live.example.org", "live.example.org"}, st.Edges[1].Hostnames)
	require.NoError(t, st.Check(testCloud(t, st)))
}

func TestFirewallRulesAdmitWhatEachRoleNeeds(t *testing.T) {
	st := loadStack(t, "animecon")
	s := st.Settings
	require.Equal(t, []Rule{
		{Protocol: "tcp", Ports: "1935", Sources: s.IngestCIDRs},
		{Protocol: "tcp", Ports: "443", Sources: s.IngestCIDRs}, // RTMPS
		{Protocol: "tcp", Ports: "1935", SourceRoles: []Role{RoleEdge}},
		{Protocol: "tcp", Ports: "22", Sources: s.AdminCIDRs},
		{Protocol: "tcp", Ports: "8080", Sources: s.AdminCIDRs},
		{Protocol: "tcp", Ports: "9100", Sources: s.AdminCIDRs}, // node exporter
		{Protocol: "icmp", Sources: Anywhere},
	}, st.Origin.Inbound)
	for _, e := range st.Edges {
		require.Equal(t, []Rule{
			{Protocol: "tcp", Ports: "80", Sources: Anywhere},
			{Protocol: "tcp", Ports: "443", Sources: Anywhere},
			{Protocol: "tcp", Ports: "22", Sources: s.AdminCIDRs},
			{Protocol: "tcp", Ports: "9100", Sources: s.AdminCIDRs}, // node exporter
			{Protocol: "tcp", Ports: "9113", Sources: s.AdminCIDRs}, // nginx exporter
			{Protocol: "icmp", Sources: Anywhere},
		}, e.Inbound, e.Name)
	}
}

// TestOnlyADropletOriginRunsTheNodeExporter: an origin droplet runs the
// node exporter its firewall admits admins to; a team's own server, whose
// packet filter livecdn does not write, gets none.
func TestOnlyADropletOriginRunsTheNodeExporter(t *testing.T) {
	st := loadStack(t, "dev")
	files, err := st.Origin.Render(testCloud(t, st))
	require.NoError(t, err)
	require.Contains(t, files.UserData, "\n      ARGS=\"--web.listen-address=:9100 ")
	require.Contains(t, files.UserData, "\n  - prometheus-node-exporter\n")
	require.NotContains(t, files.UserData, "prometheus-nginx-exporter", "the origin's nginx figures come from rtmp_stat")

	s := *st.Settings
	addr := netip.MustParseAddr("203.0.113.5")
	s.Origin = config.Origin{BYO: &config.BYOOrigin{Address: addr, User: config.DefaultBYOUser, Port: config.DefaultBYOPort}}
	byo, err := New(&s)
	require.NoError(t, err)
	require.Empty(t, byo.Origin.Inbound, "a team's own server keeps its own firewall")
	files, err = byo.Origin.Render(Cloud{OriginAddress: addr, StreamKey: testCloud(t, st).StreamKey})
	require.NoError(t, err)
	require.NotEmpty(t, files.Bootstrap)
	require.NotContains(t, files.Bootstrap, "prometheus-node-exporter")
}

func TestRecordsWithAndWithoutALoadBalancer(t *testing.T) {
	st := loadStack(t, "animecon")
	hosts := map[string][]string{}
	for _, r := range st.Records {
		hosts[r.Host] = append(hosts[r.Host], r.Machine)
	}
	require.Equal(t, []string{"origin"}, hosts["ingest.live.example.org"])
	require.Equal(t, []string{"ams3-1", "ams3-2"}, hosts["ams3.live.example.org"])
	require.Equal(t, []string{"sgp1-2"}, hosts["sgp1-2.live.example.org"])
	require.Len(t, hosts["live.example.org"], 6, "without a load balancer the viewers' name is a round-robin")

	st.Settings.DNS.LoadBalancing = true
	lb, err := New(st.Settings)
	require.NoError(t, err)
	for _, r := range lb.Records {
		require.NotEqual(t, "live.example.org", r.Host, "the load balancer answers for the viewers' name")
	}

	require.Nil(t, loadStack(t, "dev").Records, "no DNS, no records")
}

// The page every edge ships fails over between every catalog region's name:
// it must not depend on which edges exist, or adding one would replace all.
func TestThePlayerPageCarriesEveryRegionsName(t *testing.T) {
	st := loadStack(t, "animecon")
	cloud := testCloud(t, st)
	f, err := st.Edges[0].Render(cloud)
	require.NoError(t, err)
	require.Len(t, f.Site, 1)
	page := f.Site[0].Content
	for _, r := range config.Regions() {
		require.Contains(t, page, `"https://`+r.Slug+`.live.example.org"`)
	}
	require.Contains(t, f.UserData, strings.Split(page, "\n")[0])

	st.Settings.Edges = st.Settings.Edges[:1]
	fewer, err := New(st.Settings)
	require.NoError(t, err)
	g, err := fewer.Edges[0].Render(cloud)
	require.NoError(t, err)
	require.Equal(t, f.UserData, g.UserData, "ams3-1's user data does not change when regions go")

	dev, err := loadStack(t, "dev").Edges[0].Render(cloud)
	require.NoError(t, err)
	require.Contains(t, dev.Site[0].Content, "var candidates = [];", "without DNS the page plays from its own edge")
}

func TestAnEdgeNeedsTheOriginsAddress(t *testing.T) {
	st := loadStack(t, "dev")
	c := testCloud(t, st)
	c.OriginAddress = netip.Addr{}
	_, err := st.Edges[0].Render(c)
	require.ErrorContains(t, err, "edge ams3-1: the origin's address is not known")
}

func TestURLs(t *testing.T) {
	stream := Stream(config.Stream{Name: "animecon"})
	require.Equal(t, "http://ams3.live.example.org/hls/animecon.m3u8", PlaylistURL(HTTP, "ams3.live.example.org", stream))
	require.Equal(t, "http://[2001:db8::1]/healthz", HealthURL(HTTP, HostOf(netip.MustParseAddr("2001:db8::1"))))
	require.Equal(t, "rtmp://203.0.113.5:1935/live/animecon", IngestURL("203.0.113.5", stream))
	require.Equal(t, "rtmp://203.0.113.5:1935/live", IngestServer("203.0.113.5"))
	require.Equal(t, "203.0.113.5:1935", OriginPull(netip.MustParseAddr("203.0.113.5")))
	require.Equal(t, "http://203.0.113.5:8080/stat", StatURL("203.0.113.5"))
}
