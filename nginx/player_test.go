package nginx

import (
	"crypto/sha512"
	"encoding/base64"
	"os"
	"path/filepath"
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
