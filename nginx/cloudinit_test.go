package nginx

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOriginUserDataRejectsDropletMismatches covers what only the user data
// checks: a Layout that a Debian droplet cannot honour.
func TestOriginUserDataRejectsDropletMismatches(t *testing.T) {
	ladder := func(s *OriginSpec) { s.Stream = exampleLadderStream() }
	cases := []rejectCase[OriginSpec]{
		{name: "lab layout without a user", mutate: func(s *OriginSpec) { s.Layout.User = "" }, want: `Layout.User: ""`},
		{name: "another user", mutate: func(s *OriginSpec) { s.Layout.User = "nginx" }, want: `Layout.User: "nginx"`},
		{name: "pid file systemd does not watch", mutate: func(s *OriginSpec) { s.Layout.PIDFile = "/run/livecdn.pid" }, want: `Layout.PIDFile: "/run/livecdn.pid"`},
		{name: "module not where Debian puts it", mutate: func(s *OriginSpec) { s.Layout.ModulePath = "/opt/nginx/ngx_rtmp_module.so" }, want: `Layout.ModulePath: "/opt/nginx/ngx_rtmp_module.so"`},
		{name: "ffmpeg not where Debian puts it", mutate: func(s *OriginSpec) { ladder(s); s.Layout.FFmpegPath = "/usr/local/bin/ffmpeg" }, want: `Layout.FFmpegPath: "/usr/local/bin/ffmpeg"`},
		{name: "record dir with a space", mutate: func(s *OriginSpec) { s.Record = true; s.Layout.RecordDir = "/srv/con recordings" }, want: `Layout.RecordDir: "/srv/con recordings"`},
		{name: "rtmp port in the ephemeral range", mutate: func(s *OriginSpec) { s.RTMPListen = "11935" }, want: `RTMPListen: "11935"`},
		{name: "stat port in the ephemeral range", mutate: func(s *OriginSpec) { s.StatListen = "0.0.0.0:10240" }, want: `StatListen: "0.0.0.0:10240"`},
		{name: "auth port in the ephemeral range", mutate: func(s *OriginSpec) { s.AuthListen = "127.0.0.1:30000" }, want: `AuthListen: "127.0.0.1:30000"`},
		{name: "no node exporter address", mutate: func(s *OriginSpec) { s.NodeExporterListen = "" }, want: `NodeExporterListen: ""`},
		{name: "node exporter port in the ephemeral range", mutate: func(s *OriginSpec) { s.NodeExporterListen = ":19100" }, want: `NodeExporterListen: ":19100"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := exampleOrigin()
			c.mutate(&spec)
			_, err := RenderOriginConf(spec)
			require.NoError(t, err, "the nginx.conf alone is fine; only the droplet cannot take it")

			out, err := RenderOriginUserData(spec)
			requireRejected(t, out, err, c.want, c.problems, spec.StreamKey, RelayToken(spec.StreamKey))
			require.ErrorContains(t, err, "origin user data: invalid origin droplet spec: ")
		})
	}
}

// edgeUserDataCase is an invalid edge user data input: the spec or the site.
type edgeUserDataCase struct {
	name       string
	mutate     func(*EdgeSpec)
	mutateSite func([]SiteFile) []SiteFile
	want       string
}

func TestEdgeUserDataRejectsDropletMismatches(t *testing.T) {
	site := func(f ...SiteFile) func([]SiteFile) []SiteFile {
		return func([]SiteFile) []SiteFile { return f }
	}
	cases := []edgeUserDataCase{
		{name: "another user", mutate: func(s *EdgeSpec) { s.Layout.User = "nobody" }, want: `Layout.User: "nobody"`},
		{name: "pid file systemd does not watch", mutate: func(s *EdgeSpec) { s.Layout.PIDFile = "/var/run/nginx.pid" }, want: `Layout.PIDFile: "/var/run/nginx.pid"`},
		{name: "module not where Debian puts it", mutate: func(s *EdgeSpec) { s.Layout.ModulePath = "/usr/local/lib/ngx_rtmp_module.so" }, want: `Layout.ModulePath: "/usr/local/lib/ngx_rtmp_module.so"`},
		{name: "HLS dir with a quote", mutate: func(s *EdgeSpec) { s.Layout.HLSDir = "/var/lib/live'cdn/hls" }, want: `Layout.HLSDir: "/var/lib/live'cdn/hls"`},
		{name: "web root with a space", mutate: func(s *EdgeSpec) { s.Layout.WebRoot = "/var/www/live cdn" }, want: `Layout.WebRoot: "/var/www/live cdn"`},
		{name: "http port in the ephemeral range", mutate: func(s *EdgeSpec) { s.HTTPListen = "10240" }, want: `HTTPListen: "10240"`},
		{name: "rtmp port in the ephemeral range", mutate: func(s *EdgeSpec) { s.RTMPListen = "127.0.0.1:19350" }, want: `RTMPListen: "127.0.0.1:19350"`},
		{name: "no node exporter address", mutate: func(s *EdgeSpec) { s.NodeExporterListen = "" }, want: `NodeExporterListen: ""`},
		{name: "nginx exporter port in the ephemeral range", mutate: func(s *EdgeSpec) { s.NginxExporterListen = ":19113" }, want: `NginxExporterListen: ":19113"`},
		{name: "absolute site path", mutateSite: site(SiteFile{Path: "/etc/passwd"}), want: `site[0].Path: "/etc/passwd"`},
		{name: "site path leaving the web root", mutateSite: site(SiteFile{Path: "index.html"}, SiteFile{Path: "../../etc/cron.d/x"}), want: `site[1].Path: "../../etc/cron.d/x"`},
		{name: "site path dot", mutateSite: site(SiteFile{Path: "."}), want: `site[0].Path: "."`},
		{name: "site path unclean", mutateSite: site(SiteFile{Path: "js//player.js"}), want: `site[0].Path: "js//player.js"`},
		{name: "site path with a dot segment", mutateSite: site(SiteFile{Path: "js/./player.js"}), want: `site[0].Path: "js/./player.js"`},
		{name: "site path empty", mutateSite: site(SiteFile{Path: ""}), want: `site[0].Path: ""`},
		{name: "site path with a space", mutateSite: site(SiteFile{Path: "my page.html"}), want: `site[0].Path: "my page.html"`},
		{name: "site path twice", mutateSite: site(SiteFile{Path: "index.html"}, SiteFile{Path: "index.html"}), want: `site[1].Path: "index.html"`},
		{name: "site content not UTF-8", mutateSite: site(SiteFile{Path: "index.html", Content: "\xff\xfe<"}), want: `site[0].Content: "(3 bytes, not shown)"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec, files := exampleEdge("ams3-1"), exampleSite()
			if c.mutate != nil {
				c.mutate(&spec)
				_, err := RenderEdgeConf(spec)
				require.NoError(t, err, "the nginx.conf alone is fine; only the droplet cannot take it")
			}
			if c.mutateSite != nil {
				files = c.mutateSite(files)
			}
			out, err := RenderEdgeUserData(spec, files)
			requireRejected(t, out, err, c.want, 1, spec.RelayToken)
			require.ErrorContains(t, err, `edge "ams3-1" user data: invalid edge droplet spec: `)
		})
	}
}

// TestUserDataReportsEveryProblem: one run names the nginx.conf's problems
// and the droplet's together, so a config is fixed in one round.
func TestUserDataReportsEveryProblem(t *testing.T) {
	origin := exampleOrigin()
	origin.StreamKey = badSecret
	origin.Layout.User = "nginx"
	out, err := RenderOriginUserData(origin)
	requireRejected(t, out, err, `StreamKey: "(23 characters, not shown)"`, 2, badSecret, RelayToken(badSecret))
	require.ErrorContains(t, err, `Layout.User: "nginx": `)

	edge := exampleEdge("ams3-1")
	edge.Origin = "origin.example.com:1935"
	out, err = RenderEdgeUserData(edge, []SiteFile{{Path: "../index.html"}})
	requireRejected(t, out, err, `Origin: "origin.example.com:1935"`, 2, edge.RelayToken)
	require.ErrorContains(t, err, `site[0].Path: "../index.html": `)
}

// TestUserDataIsDeterministic: a changed user_data replaces the droplet, so
// the same inputs must give the same bytes, whatever order lists arrive in.
func TestUserDataIsDeterministic(t *testing.T) {
	for _, c := range goldenCases() {
		confA, udA := c.render(t)
		confB, udB := c.render(t)
		require.Equal(t, confA, confB, c.name)
		require.Equal(t, udA, udB, c.name)
	}

	origin := exampleOrigin()
	origin.IngestCIDRs = []string{"198.51.100.23/32", "192.0.2.0/24"}
	origin.EdgeCIDRs = []string{"203.0.113.64/26", "198.51.100.128/25"}
	origin.AdminCIDRs = []string{"203.0.113.0/28", "192.0.2.7/32"}
	shuffled := origin
	// Reordered, duplicated and not masked: all mean the same networks.
	shuffled.IngestCIDRs = []string{"192.0.2.77/24", "198.51.100.23/32", "192.0.2.0/24"}
	shuffled.EdgeCIDRs = []string{"198.51.100.128/25", "203.0.113.64/26"}
	shuffled.AdminCIDRs = []string{"192.0.2.7/32", "203.0.113.0/28"}
	want, err := RenderOriginUserData(origin)
	require.NoError(t, err)
	got, err := RenderOriginUserData(shuffled)
	require.NoError(t, err)
	require.Equal(t, want, got)

	edge := exampleEdge("ams3-1")
	edge.AdminCIDRs = []string{"203.0.113.0/28", "192.0.2.7/32"}
	reversedEdge := edge
	reversedEdge.AdminCIDRs = []string{"192.0.2.7/32", "203.0.113.0/28"}
	reversedSite := slices.Clone(exampleSite())
	slices.Reverse(reversedSite)
	want, err = RenderEdgeUserData(edge, exampleSite())
	require.NoError(t, err)
	got, err = RenderEdgeUserData(reversedEdge, reversedSite)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestHLSTmpfsSize(t *testing.T) {
	ladder := exampleLadderStream() // 5000+2800+1200 video, 3x128 audio: 9384 kbps
	cases := []struct {
		name            string
		renditions      []Rendition
		audioKbps       int
		playlistSeconds int
		want            int
	}{
		// 10000 kbps x 48 s = 60 MB: below the minimum.
		{name: "passthrough, short playlist", playlistSeconds: 12, want: 64},
		// 10000 kbps = 1.25 MB/s x (2 x 30 s) x 2 = 150 MB = 143.05 MiB.
		{name: "passthrough, long playlist", playlistSeconds: 30, want: 144},
		// 9384 kbps x 48 s = 56.3 MB: below the minimum.
		{name: "ladder, short playlist", renditions: ladder.Renditions, audioKbps: 128, playlistSeconds: 12, want: 64},
		// 9384 kbps x 240 s = 281.52 MB = 268.48 MiB.
		{name: "ladder, long playlist", renditions: ladder.Renditions, audioKbps: 128, playlistSeconds: 60, want: 269},
		// The largest a valid spec allows for one rendition: 20320 kbps x 480 s.
		{name: "one huge rendition", renditions: []Rendition{{Name: "4k", VideoKbps: 20000}}, audioKbps: 320, playlistSeconds: 120, want: 1163},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Stream{Renditions: c.renditions, AudioKbps: c.audioKbps, PlaylistSeconds: c.playlistSeconds}
			require.Equal(t, c.want, hlsTmpfsMiB(s))
		})
	}

	// The size reaches the edge's mount options.
	edge := exampleEdge("ams3-1")
	edge.Stream.PlaylistSeconds = 30
	ud, err := RenderEdgeUserData(edge, nil)
	require.NoError(t, err)
	require.Contains(t, ud, "'size=144m,mode=0755,uid=33,gid=33,nodev,nosuid,noexec'")
}

// TestEdgeUserDataWithoutSite: the player page is optional, and its web root
// exists anyway so nginx can answer 404 rather than fail.
func TestEdgeUserDataWithoutSite(t *testing.T) {
	edge := exampleEdge("ams3-1")
	ud, err := RenderEdgeUserData(edge, nil)
	require.NoError(t, err)
	require.NotContains(t, ud, "path: "+edge.Layout.WebRoot+"/")
	require.Contains(t, ud, "install -d -o root -g root -m 0755 "+edge.Layout.WebRoot+"\n")
	require.True(t, strings.HasPrefix(ud, "#cloud-config\n"))
}
