package nginx

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// badSecret is an invalid stream key or relay token distinctive enough that
// finding it anywhere in an error means it was echoed.
const badSecret = "Leaky!Secret-0123456789"

// rejectCase is one invalid spec: mutate breaks a valid one, want is the
// "FIELD: VALUE" the error must name, and problems is how many problems the
// mutation causes (1 unless set).
type rejectCase[S any] struct {
	name     string
	mutate   func(*S)
	want     string
	problems int
}

// anyProblems tells requireRejected not to count the problems reported.
const anyProblems = -1

// requireRejected checks an invalid spec's outcome: nothing rendered, an
// error naming the field and the bad value, no problem but the expected ones
// reported (0 means 1), and no secret echoed.
func requireRejected(t *testing.T, out string, err error, want string, problems int, secrets ...string) {
	t.Helper()
	require.Error(t, err)
	require.Empty(t, out, "nothing may be rendered from an invalid spec")
	require.ErrorContains(t, err, want+": ")
	if problems == 0 {
		problems = 1
	}
	if problems != anyProblems {
		require.Len(t, strings.Split(err.Error(), "\n"), problems, "unexpected problems reported:\n%v", err)
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		require.NotContains(t, err.Error(), s, "the error echoes a secret")
	}
}

// withOriginTLS turns a valid origin spec into a valid RTMPS one.
func withOriginTLS(s *OriginSpec) {
	s.TLS = exampleTLS()
	s.RTMPSListen = "443"
	s.RTMPSBackendListen = "127.0.0.1:1936"
}

func TestRenderOriginConfRejectsInvalidSpecs(t *testing.T) {
	valid := exampleOrigin()
	_, err := RenderOriginConf(valid)
	require.NoError(t, err, "the cases below start from this spec")

	ladder := func(s *OriginSpec) { s.Stream = exampleLadderStream() }
	cases := []rejectCase[OriginSpec]{
		{name: "relative module path", mutate: func(s *OriginSpec) { s.Layout.ModulePath = "ngx_rtmp_module.so" }, want: `Layout.ModulePath: "ngx_rtmp_module.so"`},
		{name: "unclean pid file", mutate: func(s *OriginSpec) { s.Layout.PIDFile = "/run/../run/nginx.pid" }, want: `Layout.PIDFile: "/run/../run/nginx.pid"`},
		{name: "no log dir", mutate: func(s *OriginSpec) { s.Layout.LogDir = "" }, want: `Layout.LogDir: ""`},
		{name: "relative temp dir", mutate: func(s *OriginSpec) { s.Layout.TempDir = "var/lib/nginx" }, want: `Layout.TempDir: "var/lib/nginx"`},
		{name: "recording without a record dir", mutate: func(s *OriginSpec) { s.Record = true; s.Layout.RecordDir = "" }, want: `Layout.RecordDir: ""`},
		{name: "ladder without ffmpeg", mutate: func(s *OriginSpec) { ladder(s); s.Layout.FFmpegPath = "ffmpeg" }, want: `Layout.FFmpegPath: "ffmpeg"`},
		{name: "rtmp listen not an address", mutate: func(s *OriginSpec) { s.RTMPListen = "rtmp" }, want: `RTMPListen: "rtmp"`},
		{name: "rtmp listen port 0", mutate: func(s *OriginSpec) { s.RTMPListen = "0" }, want: `RTMPListen: "0"`},
		{name: "stat listen hostname", mutate: func(s *OriginSpec) { s.StatListen = "localhost:8080" }, want: `StatListen: "localhost:8080"`},
		{name: "auth listen bad", mutate: func(s *OriginSpec) { s.AuthListen = "127.0.0.1:" }, want: `AuthListen: "127.0.0.1:"`},
		{name: "auth listen public", mutate: func(s *OriginSpec) { s.AuthListen = "203.0.113.10:8086" }, want: `AuthListen: "203.0.113.10:8086"`},
		{name: "auth listen on all addresses", mutate: func(s *OriginSpec) { s.AuthListen = "8086" }, want: `AuthListen: "8086"`},
		{name: "stream name upper case", mutate: func(s *OriginSpec) { s.Stream.Name = "Con Main" }, want: `Stream.Name: "Con Main"`},
		{name: "stream name empty", mutate: func(s *OriginSpec) { s.Stream.Name = "" }, want: `Stream.Name: ""`},
		{name: "fragment 0", mutate: func(s *OriginSpec) { s.Stream.FragmentSeconds = 0 }, want: `Stream.FragmentSeconds: 0`},
		{name: "fragment too long", mutate: func(s *OriginSpec) { s.Stream.FragmentSeconds = 11; s.Stream.PlaylistSeconds = 44 }, want: `Stream.FragmentSeconds: 11`},
		{name: "playlist under four fragments", mutate: func(s *OriginSpec) { s.Stream.PlaylistSeconds = 7 }, want: `Stream.PlaylistSeconds: 7`},
		{name: "playlist too long", mutate: func(s *OriginSpec) { s.Stream.PlaylistSeconds = 121 }, want: `Stream.PlaylistSeconds: 121`},
		{name: "audio bitrate", mutate: func(s *OriginSpec) { ladder(s); s.Stream.AudioKbps = 16 }, want: `Stream.AudioKbps: 16`},
		{name: "rendition name", mutate: func(s *OriginSpec) { ladder(s); s.Stream.Renditions[1].Name = "720P" }, want: `Stream.Renditions[1].Name: "720P"`},
		{name: "rendition name twice", mutate: func(s *OriginSpec) { ladder(s); s.Stream.Renditions[2].Name = "1080p" }, want: `Stream.Renditions[2].Name: "1080p"`},
		{name: "odd width", mutate: func(s *OriginSpec) { ladder(s); s.Stream.Renditions[0].Width = 1921 }, want: `Stream.Renditions[0].Width: 1921`},
		{name: "odd height", mutate: func(s *OriginSpec) { ladder(s); s.Stream.Renditions[2].Height = 481 }, want: `Stream.Renditions[2].Height: 481`},
		{name: "renditions out of order", mutate: func(s *OriginSpec) { ladder(s); s.Stream.Renditions[1].Height = 1080 }, want: `Stream.Renditions[1].Height: 1080`},
		{name: "video bitrate", mutate: func(s *OriginSpec) { ladder(s); s.Stream.Renditions[0].VideoKbps = 50 }, want: `Stream.Renditions[0].VideoKbps: 50`},
		{name: "stream key with a bad character", mutate: func(s *OriginSpec) { s.StreamKey = badSecret }, want: `StreamKey: "(23 characters, not shown)"`},
		{name: "stream key too short", mutate: func(s *OriginSpec) { s.StreamKey = "Leaky" }, want: `StreamKey: "(5 characters, not shown)"`},
		{name: "no ingest CIDRs", mutate: func(s *OriginSpec) { s.IngestCIDRs = nil }, want: `IngestCIDRs: "[]"`},
		{name: "ingest address without prefix", mutate: func(s *OriginSpec) { s.IngestCIDRs = []string{"198.51.100.23"} }, want: `IngestCIDRs[0]: "198.51.100.23"`},
		{name: "edge CIDR prefix too long", mutate: func(s *OriginSpec) { s.EdgeCIDRs = []string{"198.51.100.0/24", "203.0.113.0/33"} }, want: `EdgeCIDRs[1]: "203.0.113.0/33"`},
		{name: "no admin CIDRs", mutate: func(s *OriginSpec) { s.AdminCIDRs = []string{} }, want: `AdminCIDRs: "[]"`},
		{name: "admin CIDR hostname", mutate: func(s *OriginSpec) { s.AdminCIDRs = []string{"ops.example.com"} }, want: `AdminCIDRs[0]: "ops.example.com"`},
		{name: "RTMPS listen without TLS", mutate: func(s *OriginSpec) { s.RTMPSListen = "443" }, want: `RTMPSListen: "443"`},
		{name: "RTMPS backend without TLS", mutate: func(s *OriginSpec) { s.RTMPSBackendListen = "127.0.0.1:1936" }, want: `RTMPSBackendListen: "127.0.0.1:1936"`},
		{name: "TLS without RTMPS listen", mutate: func(s *OriginSpec) { withOriginTLS(s); s.RTMPSListen = "" }, want: `RTMPSListen: ""`},
		{name: "RTMPS backend public", mutate: func(s *OriginSpec) { withOriginTLS(s); s.RTMPSBackendListen = "1936" }, want: `RTMPSBackendListen: "1936"`},
		{name: "RTMPS backend on the RTMP port", mutate: func(s *OriginSpec) { withOriginTLS(s); s.RTMPSBackendListen = "127.0.0.1:1935" }, want: `RTMPSBackendListen: "127.0.0.1:1935"`},
		{name: "TLS key of another certificate", mutate: func(s *OriginSpec) { withOriginTLS(s); s.TLS.Key = exampleTLSFromSeed(2).Key }, want: `TLS: "(chain of 489 bytes, key of 119 bytes, not shown)"`},
		{name: "TLS without the stream module", mutate: func(s *OriginSpec) { withOriginTLS(s); s.Layout.StreamModulePath = "" }, want: `Layout.StreamModulePath: ""`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := exampleOrigin()
			c.mutate(&spec)
			secrets := []string{spec.StreamKey, RelayToken(spec.StreamKey), tlsKey(spec.TLS)}

			out, err := RenderOriginConf(spec)
			requireRejected(t, out, err, c.want, c.problems, secrets...)
			require.ErrorContains(t, err, "invalid origin spec: ")

			// The user data renders the same spec and must reject it too; its
			// own droplet checks may add problems (a relative module path is
			// also not Debian's).
			out, err = RenderOriginUserData(spec)
			requireRejected(t, out, err, c.want, anyProblems, secrets...)
			require.ErrorContains(t, err, "origin user data: ")
		})
	}
}
