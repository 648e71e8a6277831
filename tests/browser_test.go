package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/lab"
	"github.com/livecdn/livecdn/nginx"
	"github.com/livecdn/livecdn/tests/internal/browser"
)

// artifactsDir keeps the screenshots for people to look at (gitignored).
const artifactsDir = "artifacts"

// TestBrowserPlaysAndFailsOver opens edge-1's player page in a real Chromium
// with the real hls.js, stops edge-1 for good and checks that the page moves
// to edge-2 (a cross-origin move: other address, other port) and keeps
// playing; then that it shows the interruption when no edge has the stream
// and resumes by itself.
func TestBrowserPlaysAndFailsOver(t *testing.T) {
	l := startLab(t, lab.Options{Edges: 2, HLSJS: hlsJS(t)})
	info := l.Info()
	edge1, edge2 := info.Edges[0], info.Edges[1]
	base := func(e lab.EdgeInfo) string { return strings.TrimSuffix(e.Player, "/") }

	page := browser.New(t, browser.Options{})
	require.NoError(t, chromedp.Run(page, chromedp.Navigate(edge1.Player)))

	st := browser.Wait(t, page, "the page plays from edge-1, where it was served", func(s browser.State) error {
		if s.Base != base(edge1) || s.Edge != edge1.Name {
			return fmt.Errorf("on %s (%s)", s.Base, s.Edge)
		}
		return s.Playing()
	})
	browser.WaitAdvance(t, page, "video advances on edge-1", st.Time, 2)
	require.Contains(t, browser.Read(t, page).Label, edge1.Name, "the page names its edge")
	browser.Screenshot(t, page, artifactsDir, "player.png")

	stopped := time.Now()
	require.NoError(t, l.StopEdge(0))
	var freeze browser.FreezeMeter
	st = browser.Wait(t, page, "the page moves to edge-2", func(s browser.State) error {
		freeze.Sample(s.Time)
		if s.Base != base(edge2) || s.Edge != edge2.Name || s.Failovers != 1 {
			return fmt.Errorf("on %s (%s), %d failovers", s.Base, s.Edge, s.Failovers)
		}
		return s.Playing()
	})
	browser.Wait(t, page, "video advances 4 s on edge-2", func(s browser.State) error {
		freeze.Sample(s.Time)
		if s.Time < st.Time+4 {
			return fmt.Errorf("at %.1f s, want %.1f s", s.Time, st.Time+4)
		}
		return nil
	})
	t.Logf("failover: edge-1 stopped, then the picture stood still for at most %v; 4 s played on edge-2 %v after the stop",
		freeze.Longest().Round(100*time.Millisecond), time.Since(stopped).Round(100*time.Millisecond))
	require.Contains(t, browser.Read(t, page).Label, edge2.Name)
	browser.Screenshot(t, page, artifactsDir, "player-failover.png")

	require.Zero(t, lab.Status(context.Background(), edge1.Health), "a stopped edge stays down: the supervisor must not restart it")
	require.NoError(t, l.StartEdge(0))
	eventually(t, "edge-1 is back", wantStatus(edge1.Health, 200))

	// Every edge's /healthz turns 503 at once; the page first plays out what
	// it has buffered, then notices the stall.
	l.StopSource()
	browser.WaitWithin(t, page, "the page says the stream is interrupted", healTimeout, func(s browser.State) error {
		if s.State != "waiting" || !s.Notice {
			return fmt.Errorf("state %q, notice shown %v", s.State, s.Notice)
		}
		return nil
	})
	browser.Screenshot(t, page, artifactsDir, "player-interrupted.png")
	l.StartSource()
	st = browser.Wait(t, page, "the page resumes by itself", browser.State.Playing)
	browser.WaitAdvance(t, page, "video advances after the interruption", st.Time, 2)
}

// TestBrowserStartsOnTheFastestEdge serves the page from a name that is not
// a candidate (the viewers' hostname without a load balancer, which answers
// no /healthz here): the page must pick an edge by probing and play from it.
func TestBrowserStartsOnTheFastestEdge(t *testing.T) {
	js := hlsJS(t)
	l := startLab(t, lab.Options{Edges: 2, HLSJS: js})
	var candidates []string
	for _, e := range l.Info().Edges {
		candidates = append(candidates, strings.TrimSuffix(e.Player, "/"))
	}
	html, err := nginx.RenderPlayer(nginx.PlayerSpec{
		EventName:  "livecdn test",
		Stream:     l.Stream(),
		HLSJS:      nginx.LocalHLSJS(),
		Candidates: candidates,
	})
	require.NoError(t, err)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, html)
		case "/" + nginx.HLSJSFile:
			http.ServeFile(w, r, js)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(site.Close)

	page := browser.New(t, browser.Options{})
	require.NoError(t, chromedp.Run(page, chromedp.Navigate(site.URL+"/")))
	st := browser.Wait(t, page, "the page plays from a candidate", func(s browser.State) error {
		if !slices.Contains(candidates, s.Base) {
			return fmt.Errorf("on %q, not one of %v", s.Base, candidates)
		}
		return s.Playing()
	})
	browser.WaitAdvance(t, page, "video advances", st.Time, 2)
	require.Zero(t, st.Failovers)
}

// TestBrowserSaysStartingSoon opens the page before anyone publishes: the
// viewer must see a friendly notice, not an error.
func TestBrowserSaysStartingSoon(t *testing.T) {
	l := startLab(t, lab.Options{Edges: 1, Source: lab.SourceNone, HLSJS: hlsJS(t)})
	page := browser.New(t, browser.Options{})
	require.NoError(t, chromedp.Run(page, chromedp.Navigate(l.Info().Edges[0].Player)))
	browser.Wait(t, page, "the page waits for the stream", func(s browser.State) error {
		if s.State != "waiting" || !s.Notice || s.Title != "The stream is starting soon." {
			return fmt.Errorf("state %q, notice shown %v: %q", s.State, s.Notice, s.Title)
		}
		return nil
	})
	browser.Screenshot(t, page, artifactsDir, "player-starting-soon.png")
}

// hlsJS is the real hls.js the page needs in Chromium, which has no native
// HLS: `make test` passes it in LIVECDN_HLSJS, `make hlsjs` fetches it.
func hlsJS(t *testing.T) string {
	t.Helper()
	path := os.Getenv("LIVECDN_HLSJS")
	if path == "" {
		path = filepath.Join("..", ".cache", "hlsjs", nginx.HLSJSFile)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("hls.js %s is missing (%v): run `make hlsjs` or set LIVECDN_HLSJS", nginx.HLSJSVersion, err)
	}
	abs, err := filepath.Abs(path)
	require.NoError(t, err)
	return abs
}
