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
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/lab"
	"github.com/livecdn/livecdn/nginx"
)

// chromiumPath is Debian's chromium; tools that download their own browser
// cannot run here.
const chromiumPath = "/usr/bin/chromium"

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

	page := newBrowser(t)
	require.NoError(t, chromedp.Run(page, chromedp.Navigate(edge1.Player)))

	st := waitPlayer(t, page, "the page plays from edge-1, where it was served", func(s playerState) error {
		if s.Base != base(edge1) || s.Edge != edge1.Name {
			return fmt.Errorf("on %s (%s)", s.Base, s.Edge)
		}
		return s.playing()
	})
	waitAdvance(t, page, "video advances on edge-1", st.Time, 2)
	require.Contains(t, player(t, page).Label, edge1.Name, "the page names its edge")
	screenshot(t, page, "player.png")

	stopped := time.Now()
	require.NoError(t, l.StopEdge(0))
	var freeze freezeMeter
	st = waitPlayer(t, page, "the page moves to edge-2", func(s playerState) error {
		freeze.sample(s.Time)
		if s.Base != base(edge2) || s.Edge != edge2.Name || s.Failovers != 1 {
			return fmt.Errorf("on %s (%s), %d failovers", s.Base, s.Edge, s.Failovers)
		}
		return s.playing()
	})
	waitPlayer(t, page, "video advances 4 s on edge-2", func(s playerState) error {
		freeze.sample(s.Time)
		if s.Time < st.Time+4 {
			return fmt.Errorf("at %.1f s, want %.1f s", s.Time, st.Time+4)
		}
		return nil
	})
	t.Logf("failover: edge-1 stopped, then the picture stood still for at most %v; 4 s played on edge-2 %v after the stop",
		freeze.longest.Round(100*time.Millisecond), time.Since(stopped).Round(100*time.Millisecond))
	require.Contains(t, player(t, page).Label, edge2.Name)
	screenshot(t, page, "player-failover.png")

	require.Zero(t, lab.Status(context.Background(), edge1.Health), "a stopped edge stays down: the supervisor must not restart it")
	require.NoError(t, l.StartEdge(0))
	eventually(t, "edge-1 is back", wantStatus(edge1.Health, 200))

	// Every edge's /healthz turns 503 at once; the page first plays out what
	// it has buffered, then notices the stall.
	l.StopSource()
	waitPlayerWithin(t, page, "the page says the stream is interrupted", healTimeout, func(s playerState) error {
		if s.State != "waiting" || !s.Notice {
			return fmt.Errorf("state %q, notice shown %v", s.State, s.Notice)
		}
		return nil
	})
	screenshot(t, page, "player-interrupted.png")
	l.StartSource()
	st = waitPlayer(t, page, "the page resumes by itself", playerState.playing)
	waitAdvance(t, page, "video advances after the interruption", st.Time, 2)
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

	page := newBrowser(t)
	require.NoError(t, chromedp.Run(page, chromedp.Navigate(site.URL+"/")))
	st := waitPlayer(t, page, "the page plays from a candidate", func(s playerState) error {
		if !slices.Contains(candidates, s.Base) {
			return fmt.Errorf("on %q, not one of %v", s.Base, candidates)
		}
		return s.playing()
	})
	waitAdvance(t, page, "video advances", st.Time, 2)
	require.Zero(t, st.Failovers)
}

// TestBrowserSaysStartingSoon opens the page before anyone publishes: the
// viewer must see a friendly notice, not an error.
func TestBrowserSaysStartingSoon(t *testing.T) {
	l := startLab(t, lab.Options{Edges: 1, Source: lab.SourceNone, HLSJS: hlsJS(t)})
	page := newBrowser(t)
	require.NoError(t, chromedp.Run(page, chromedp.Navigate(l.Info().Edges[0].Player)))
	waitPlayer(t, page, "the page waits for the stream", func(s playerState) error {
		if s.State != "waiting" || !s.Notice || s.Title != "The stream is starting soon." {
			return fmt.Errorf("state %q, notice shown %v: %q", s.State, s.Notice, s.Title)
		}
		return nil
	})
	screenshot(t, page, "player-starting-soon.png")
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

// newBrowser starts a headless Chromium for the test and returns a tab. The
// page's console goes to the test log.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing: apt-get install chromium (or run `make deps`)", chromiumPath)
	}
	// Not t.TempDir: Chromium's helper processes may still write to the
	// profile for a moment after the browser is cancelled, and TempDir's
	// cleanup fails the test on that. Removed (with retries) below.
	profile, err := os.MkdirTemp("", "livecdn-chromium-")
	require.NoError(t, err)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 720),
	)
	ctx, cancelTab := chromedp.NewContext(allocCtx)

	var mu sync.Mutex
	var console []string
	chromedp.ListenTarget(ctx, func(ev any) {
		if ev, ok := ev.(*runtime.EventConsoleAPICalled); ok {
			var args []string
			for _, a := range ev.Args {
				args = append(args, strings.Trim(string(a.Value), `"`))
			}
			mu.Lock()
			console = append(console, fmt.Sprintf("%s %s: %s", time.Now().Format("15:04:05.000"), ev.Type, strings.Join(args, " ")))
			mu.Unlock()
		}
	})
	// Start the browser now, so a missing library fails here, clearly. The
	// first Run's context owns the browser: it must be the tab's own.
	stuck := time.AfterFunc(healTimeout, cancelTab)
	err = chromedp.Run(ctx)
	stuck.Stop()
	require.NoError(t, err, "start %s", chromiumPath)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		removeProfile(t, profile)
		mu.Lock()
		defer mu.Unlock()
		for _, line := range console {
			t.Log("page console:", line)
		}
	})
	return ctx
}

// playerState is the page's window.livecdn plus what the test reads from the
// page around it.
type playerState struct {
	Base      string  `json:"base"`
	Edge      string  `json:"edge"`
	State     string  `json:"state"`
	Failovers int     `json:"failovers"`
	Time      float64 `json:"time"`
	Paused    bool    `json:"paused"`
	Label     string  `json:"label"`
	Notice    bool    `json:"notice"`
	Title     string  `json:"title"`
}

func (s playerState) playing() error {
	if s.State != "playing" || s.Paused {
		return fmt.Errorf("state %q, paused %v, at %.1f s", s.State, s.Paused, s.Time)
	}
	return nil
}

const playerStateJS = `(() => {
	const video = document.getElementById("video");
	return Object.assign({}, window.livecdn, {
		time: video.currentTime,
		paused: video.paused,
		label: document.getElementById("edge").textContent,
		notice: !document.getElementById("notice").hidden,
		title: document.getElementById("notice-title").textContent,
	});
})()`

func player(t *testing.T, page context.Context) playerState {
	t.Helper()
	st, err := readPlayer(page)
	require.NoError(t, err)
	return st
}

func readPlayer(page context.Context) (playerState, error) {
	ctx, cancel := context.WithTimeout(page, 10*time.Second)
	defer cancel()
	var st playerState
	err := chromedp.Run(ctx, chromedp.Evaluate(playerStateJS, &st))
	return st, err
}

// waitPlayer polls the page until check accepts its state, within
// healTimeout, and returns that state.
func waitPlayer(t *testing.T, page context.Context, what string, check func(playerState) error) playerState {
	t.Helper()
	return waitPlayerWithin(t, page, what, healTimeout, check)
}

// waitPlayerWithin is waitPlayer with another deadline, which is still a
// bound against hangs, not a performance claim.
func waitPlayerWithin(t *testing.T, page context.Context, what string, timeout time.Duration, check func(playerState) error) playerState {
	t.Helper()
	began := time.Now()
	deadline := began.Add(timeout)
	for {
		st, err := readPlayer(page)
		if err == nil {
			err = check(st)
		}
		if err == nil {
			t.Logf("%s: after %v", what, time.Since(began).Round(10*time.Millisecond))
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitAdvance waits until the video has played seconds past from. Moving to
// another edge reloads the stream, so only progress after the move counts.
func waitAdvance(t *testing.T, page context.Context, what string, from, seconds float64) {
	t.Helper()
	waitPlayer(t, page, what, func(s playerState) error {
		if s.Time < from+seconds {
			return fmt.Errorf("at %.1f s, want %.1f s", s.Time, from+seconds)
		}
		return nil
	})
}

// freezeMeter finds the longest time the video did not advance, from the
// samples that waitPlayer takes (every 200 ms or so). The move to another
// edge restarts the video's clock, so only increases count as progress.
type freezeMeter struct {
	last     float64
	advanced time.Time
	longest  time.Duration
}

func (f *freezeMeter) sample(at float64) {
	now := time.Now()
	if f.advanced.IsZero() || at > f.last {
		f.advanced = now
	}
	f.last = at
	f.longest = max(f.longest, now.Sub(f.advanced))
}

func screenshot(t *testing.T, page context.Context, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page, 20*time.Second)
	defer cancel()
	var png []byte
	require.NoError(t, chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)))
	require.NoError(t, os.MkdirAll(artifactsDir, 0o755))
	path := filepath.Join(artifactsDir, name)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: tests/%s", path)
}

// removeProfile deletes a Chromium profile once its last writer is gone,
// giving up (and saying so) after a few seconds.
func removeProfile(t *testing.T, dir string) {
	t.Helper()
	var err error
	for range 50 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("could not remove Chromium profile %s: %v", dir, err)
}
