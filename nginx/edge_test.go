package nginx

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRenderEdgeConfRejectsInvalidSpecs(t *testing.T) {
	valid := exampleEdge("ams3-1")
	_, err := RenderEdgeConf(valid)
	require.NoError(t, err, "the cases below start from this spec")

	cases := []rejectCase[EdgeSpec]{
		{name: "relative module path", mutate: func(s *EdgeSpec) { s.Layout.ModulePath = "modules/ngx_rtmp_module.so" }, want: `Layout.ModulePath: "modules/ngx_rtmp_module.so"`},
		{name: "no pid file", mutate: func(s *EdgeSpec) { s.Layout.PIDFile = "" }, want: `Layout.PIDFile: ""`},
		{name: "log dir with trailing slash", mutate: func(s *EdgeSpec) { s.Layout.LogDir = "/var/log/nginx/" }, want: `Layout.LogDir: "/var/log/nginx/"`},
		{name: "relative temp dir", mutate: func(s *EdgeSpec) { s.Layout.TempDir = "nginx" }, want: `Layout.TempDir: "nginx"`},
		{name: "no HLS dir", mutate: func(s *EdgeSpec) { s.Layout.HLSDir = "" }, want: `Layout.HLSDir: ""`},
		{name: "HLS dir not named hls", mutate: func(s *EdgeSpec) { s.Layout.HLSDir = "/var/lib/livecdn/segments" }, want: `Layout.HLSDir: "/var/lib/livecdn/segments": name the directory "hls"`},
		{name: "IPv6 listen on IPv4", mutate: func(s *EdgeSpec) { s.HTTPListenIPv6 = "0.0.0.0:80" }, want: `HTTPListenIPv6: "0.0.0.0:80"`},
		{name: "relative web root", mutate: func(s *EdgeSpec) { s.Layout.WebRoot = "www" }, want: `Layout.WebRoot: "www"`},
		{name: "name with upper case", mutate: func(s *EdgeSpec) { s.Name = "AMS3_1" }, want: `Name: "AMS3_1"`},
		{name: "no name", mutate: func(s *EdgeSpec) { s.Name = "" }, want: `Name: ""`},
		{name: "http listen not an address", mutate: func(s *EdgeSpec) { s.HTTPListen = "http" }, want: `HTTPListen: "http"`},
		{name: "rtmp listen without host", mutate: func(s *EdgeSpec) { s.RTMPListen = ":1935" }, want: `RTMPListen: ":1935"`},
		{name: "origin hostname", mutate: func(s *EdgeSpec) { s.Origin = "origin.example.com:1935" }, want: `Origin: "origin.example.com:1935"`},
		{name: "origin without port", mutate: func(s *EdgeSpec) { s.Origin = exampleOriginIP }, want: `Origin: "203.0.113.10"`},
		{name: "origin unspecified", mutate: func(s *EdgeSpec) { s.Origin = "0.0.0.0:1935" }, want: `Origin: "0.0.0.0:1935"`},
		{name: "stream name", mutate: func(s *EdgeSpec) { s.Stream.Name = "-main" }, want: `Stream.Name: "-main"`},
		{name: "playlist under four fragments", mutate: func(s *EdgeSpec) { s.Stream.PlaylistSeconds = 4 }, want: `Stream.PlaylistSeconds: 4`},
		{name: "rendition bitrate", mutate: func(s *EdgeSpec) {
			s.Stream = exampleLadderStream()
			s.Stream.Renditions[2].VideoKbps = 20001
		}, want: `Stream.Renditions[2].VideoKbps: 20001`},
		{name: "relay token with a bad character", mutate: func(s *EdgeSpec) { s.RelayToken = badSecret }, want: `RelayToken: "(23 characters, not shown)"`},
		{name: "no relay token", mutate: func(s *EdgeSpec) { s.RelayToken = "" }, want: `RelayToken: "(0 characters, not shown)"`},
		{name: "no admin CIDRs", mutate: func(s *EdgeSpec) { s.AdminCIDRs = nil }, want: `AdminCIDRs: "[]"`},
		{name: "admin CIDR garbage", mutate: func(s *EdgeSpec) { s.AdminCIDRs = []string{"203.0.113.0/28", "any"} }, want: `AdminCIDRs[1]: "any"`},
		{name: "HTTPS listen without TLS", mutate: func(s *EdgeSpec) { s.HTTPSListen = "443" }, want: `HTTPSListen: "443"`},
		{name: "HTTPS IPv6 listen without TLS", mutate: func(s *EdgeSpec) { s.HTTPSListenIPv6 = "[::]:443" }, want: `HTTPSListenIPv6: "[::]:443"`},
		{name: "TLS without HTTPS listen", mutate: func(s *EdgeSpec) { withEdgeTLS(s); s.HTTPSListen = "" }, want: `HTTPSListen: ""`},
		{name: "HTTPS IPv6 listen on IPv4", mutate: func(s *EdgeSpec) { withEdgeTLS(s); s.HTTPSListenIPv6 = "0.0.0.0:443" }, want: `HTTPSListenIPv6: "0.0.0.0:443"`},
		{name: "TLS key of another certificate", mutate: func(s *EdgeSpec) { withEdgeTLS(s); s.TLS.Key = exampleTLSFromSeed(1).Key }, want: `TLS: "(chain of 489 bytes, key of 119 bytes, not shown)"`},
		{name: "TLS chain not PEM", mutate: func(s *EdgeSpec) { withEdgeTLS(s); s.TLS.Chain = "fullchain.pem" }, want: `TLS: "(chain of 13 bytes, key of 119 bytes, not shown)"`},
		{name: "TLS dir relative", mutate: func(s *EdgeSpec) { withEdgeTLS(s); s.Layout.TLSDir = "tls" }, want: `Layout.TLSDir: "tls"`},
		{name: "CORS origin with a path", mutate: func(s *EdgeSpec) { s.CORSOrigins = []string{"https://event.example.org/watch"} }, want: `CORSOrigins[0]: "https://event.example.org/watch"`},
		{name: "CORS wildcard", mutate: func(s *EdgeSpec) { s.CORSOrigins = []string{"*"} }, want: `CORSOrigins[0]: "*"`},
		{name: "negative workers", mutate: func(s *EdgeSpec) { s.Workers = -1 }, want: `Workers: -1`},
		{name: "too many workers", mutate: func(s *EdgeSpec) { s.Workers = MaxEdgeWorkers + 1 }, want: `Workers: 17`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := exampleEdge("ams3-1")
			c.mutate(&spec)

			out, err := RenderEdgeConf(spec)
			requireRejected(t, out, err, c.want, c.problems, spec.RelayToken, tlsKey(spec.TLS))
			require.ErrorContains(t, err, "invalid edge "+`"`+spec.Name+`"`+" spec: ")

			out, err = RenderEdgeUserData(spec, exampleSite())
			requireRejected(t, out, err, c.want, anyProblems, spec.RelayToken)
			require.ErrorContains(t, err, "edge "+`"`+spec.Name+`"`+" user data: ")
		})
	}
}

// withEdgeTLS turns a valid edge spec into a valid HTTPS one.
func withEdgeTLS(s *EdgeSpec) {
	s.TLS = exampleTLS()
	s.HTTPSListen = "443"
}

// tlsKey is the private key of t, a secret no error may echo.
func tlsKey(t *TLS) string {
	if t == nil {
		return ""
	}
	return strings.TrimSpace(t.Key)
}

// TestEdgesDifferOnlyByName renders two edges whose specs differ only in
// Name: everything else they ship must be identical, so that what one edge
// gets never depends on which edge it is beyond its name.
func TestEdgesDifferOnlyByName(t *testing.T) {
	for _, stream := range []Stream{exampleStream(), exampleLadderStream()} {
		a, b := exampleEdge("ams3-1"), exampleEdge("ams3-2")
		a.Stream, b.Stream = stream, stream

		confA, err := RenderEdgeConf(a)
		require.NoError(t, err)
		confB, err := RenderEdgeConf(b)
		require.NoError(t, err)
		requireOnlyNameLinesDiffer(t, confA, confB, a.Name, b.Name)

		udA, err := RenderEdgeUserData(a, exampleSite())
		require.NoError(t, err)
		udB, err := RenderEdgeUserData(b, exampleSite())
		require.NoError(t, err)
		requireOnlyNameLinesDiffer(t, udA, udB, a.Name, b.Name)
	}
}

func requireOnlyNameLinesDiffer(t *testing.T, a, b, nameA, nameB string) {
	t.Helper()
	linesA, linesB := strings.Split(a, "\n"), strings.Split(b, "\n")
	require.Len(t, linesB, len(linesA), "edges differing only in Name render different numbers of lines")
	differ := 0
	for i := range linesA {
		if linesA[i] == linesB[i] {
			continue
		}
		differ++
		require.Contains(t, linesA[i], nameA, "line %d differs but does not carry the name", i+1)
		require.Equal(t, strings.ReplaceAll(linesA[i], nameA, nameB), linesB[i], "line %d differs beyond the name", i+1)
	}
	require.NotZero(t, differ, "the name appears nowhere: the comparison proves nothing")
}
