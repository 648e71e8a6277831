package nginx

import (
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The pinned SRI hash must be the hash of the hls.js that `make hlsjs`
// fetches from npm, or browsers refuse to run it.
func TestHLSJSIntegrityMatchesThePinnedRelease(t *testing.T) {
	path := os.Getenv("LIVECDN_HLSJS")
	if path == "" {
		path = filepath.Join("..", ".cache", "hlsjs", HLSJSFile)
	}
	js, err := os.ReadFile(path)
	require.NoError(t, err, "hls.js %s: run `make hlsjs` first", HLSJSVersion)
	sum := sha512.Sum384(js)
	require.Equal(t, HLSJSIntegrity, "sha384-"+base64.StdEncoding.EncodeToString(sum[:]))
}

func TestPlayerPageEscapesTheEventName(t *testing.T) {
	page, err := RenderPlayer(PlayerSpec{
		EventName: `Anime<script>alert(1)</script>Con`,
		Stream:    Stream{Name: "show", FragmentSeconds: 2, PlaylistSeconds: 12},
		HLSJS:     PublicHLSJS(),
	})
	require.NoError(t, err)
	require.NotContains(t, page, "<script>alert(1)")
	require.Contains(t, page, "Anime&lt;script&gt;")
	require.Contains(t, page, `integrity="`+HLSJSIntegrity+`"`)
	require.Contains(t, page, `var playlist = "/hls/show.m3u8";`)
	require.NotContains(t, page, `id="quality"`, "no quality menu without renditions")
}

func TestPlayerPageOffersQualitiesWithALadder(t *testing.T) {
	s := Stream{Name: "show", FragmentSeconds: 2, PlaylistSeconds: 12, AudioKbps: 128,
		Renditions: []Rendition{{Name: "720p", Width: 1280, Height: 720, VideoKbps: 2800}}}
	page, err := RenderPlayer(PlayerSpec{EventName: "AnimeCon", Stream: s, HLSJS: LocalHLSJS()})
	require.NoError(t, err)
	require.Contains(t, page, `id="quality"`)
	require.Contains(t, page, `src="hls.min.js"`)
}

func TestPlayerPageListsCandidatesAsOrigins(t *testing.T) {
	spec := PlayerSpec{EventName: "AnimeCon", Stream: exampleStream(), HLSJS: PublicHLSJS()}
	page, err := RenderPlayer(spec)
	require.NoError(t, err)
	require.Contains(t, page, "var candidates = [];", "no candidates: play from the page's own origin")

	spec.Candidates = []string{
		"http://sgp1.live.example.org",
		"HTTP://AMS3.live.example.org:80/",
		"http://ams3.live.example.org",
		"https://nyc3.live.example.org:443",
		"http://[2001:DB8::7]:8080",
		"http://127.0.0.2:33715",
	}
	page, err = RenderPlayer(spec)
	require.NoError(t, err)
	require.Contains(t, page, `var candidates = ["http://127.0.0.2:33715","http://[2001:db8::7]:8080",`+
		`"http://ams3.live.example.org","http://sgp1.live.example.org","https://nyc3.live.example.org"];`)
	require.Contains(t, page, "var stallMs =  6000 ;", "three 2 s fragments, at least 6 s")
	require.Contains(t, page, "window.livecdn = {", "tests and operators read the page's state")

	// The page is part of every edge's user data: the same regions in
	// another order must not change a byte, or every droplet is replaced.
	slices.Reverse(spec.Candidates)
	again, err := RenderPlayer(spec)
	require.NoError(t, err)
	require.Equal(t, page, again)
}

func TestPlayerSpecIsValidated(t *testing.T) {
	good := PlayerSpec{EventName: "AnimeCon", Stream: Stream{Name: "show", FragmentSeconds: 2, PlaylistSeconds: 12}, HLSJS: PublicHLSJS()}
	for _, tc := range []struct {
		name   string
		mutate func(*PlayerSpec)
		want   string
	}{
		{"empty event name", func(p *PlayerSpec) { p.EventName = " " }, `EventName: " "`},
		{"long event name", func(p *PlayerSpec) { p.EventName = strings.Repeat("x", 101) }, "EventName"},
		{"plain http script", func(p *PlayerSpec) { p.HLSJS.Src = "http://cdn.example/hls.js" }, `HLSJS.Src: "http://cdn.example/hls.js"`},
		{"no integrity", func(p *PlayerSpec) { p.HLSJS.Integrity = "" }, `HLSJS.Integrity: ""`},
		{"bad stream", func(p *PlayerSpec) { p.Stream.Name = "Show!" }, `Stream.Name: "Show!"`},
		{"candidate without scheme", candidate("ams3.live.example.org"), `Candidates[0]: "ams3.live.example.org": use an http or https URL`},
		{"candidate not on the web", candidate("rtmp://ams3.live.example.org"), `Candidates[0]: "rtmp://ams3.live.example.org": use an http or https URL`},
		{"candidate without host", candidate("http://"), `Candidates[0]: "http://": name a host`},
		{"candidate with a path", candidate("http://ams3.live.example.org/hls/"), "leave out the path"},
		{"candidate with a query", candidate("http://ams3.live.example.org?edge=1"), "leave out the path"},
		{"candidate with a fragment", candidate("http://ams3.live.example.org#x"), "leave out the path"},
		{"candidate with a user", candidate("http://me@ams3.live.example.org"), "leave out the user"},
		{"candidate with port 0", candidate("http://ams3.live.example.org:0"), "port from 1 to 65535"},
		{"candidate with an empty port", candidate("http://ams3.live.example.org:"), "give the port"},
		{"candidate not a URL", candidate("http://ams3 .example.org"), "not a URL"},
		{"too many candidates", func(p *PlayerSpec) {
			for i := range MaxPlayerCandidates + 1 {
				p.Candidates = append(p.Candidates, fmt.Sprintf("http://r%d.live.example.org", i))
			}
		}, "Candidates: 65: list at most 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := good
			tc.mutate(&spec)
			page, err := RenderPlayer(spec)
			require.ErrorContains(t, err, tc.want)
			require.Empty(t, page)
		})
	}
}

// candidate sets a spec's only candidate, for the validation table.
func candidate(base string) func(*PlayerSpec) {
	return func(p *PlayerSpec) { p.Candidates = []string{base} }
}
