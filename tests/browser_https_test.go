package tests

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/lab"
	"github.com/livecdn/livecdn/nginx"
	"github.com/livecdn/livecdn/tests/internal/browser"
)

// labSPKI is the SPKI hash of the certificate an HTTPS lab's edge presents,
// for browser.Options.TrustSPKI.
func labSPKI(t *testing.T, info lab.Info) string {
	t.Helper()
	host := strings.TrimPrefix(strings.TrimSuffix(info.Edges[0].Player, "/"), "https://")
	conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: labRoots(t, info)})
	require.NoError(t, err)
	defer conn.Close()
	return browser.SPKIHash(conn.ConnectionState().PeerCertificates[0])
}

// TestBrowserHTTPSPlaysAndFailsOver opens edge-1's player page over HTTPS,
// stops edge-1 and checks that the page moves to edge-2, over HTTPS too.
func TestBrowserHTTPSPlaysAndFailsOver(t *testing.T) {
	l := startLab(t, lab.Options{Edges: 2, TLS: true, HLSJS: hlsJS(t)})
	info := l.Info()
	edge1, edge2 := info.Edges[0], info.Edges[1]
	base := func(e lab.EdgeInfo) string { return strings.TrimSuffix(e.Player, "/") }
	require.True(t, strings.HasPrefix(edge2.Player, "https://"), edge2.Player)

	page := browser.New(t, browser.Options{TrustSPKI: []string{labSPKI(t, info)}})
	require.NoError(t, chromedp.Run(page, chromedp.Navigate(edge1.Player)))
	st := browser.Wait(t, page, "the page plays from edge-1 over HTTPS", func(s browser.State) error {
		if s.Base != base(edge1) || s.Edge != edge1.Name {
			return fmt.Errorf("on %s (%s)", s.Base, s.Edge)
		}
		return s.Playing()
	})
	browser.WaitAdvance(t, page, "video advances on edge-1", st.Time, 2)

	require.NoError(t, l.StopEdge(0))
	st = browser.Wait(t, page, "the page moves to edge-2 over HTTPS", func(s browser.State) error {
		if s.Base != base(edge2) || s.Edge != edge2.Name || s.Failovers != 1 {
			return fmt.Errorf("on %s (%s), %d failovers", s.Base, s.Edge, s.Failovers)
		}
		return s.Playing()
	})
	browser.WaitAdvance(t, page, "video advances on edge-2", st.Time, 2)
	browser.Screenshot(t, page, artifactsDir, "player-https-failover.png")
}

// site is a small HTTPS website on its own loopback address, standing in for
// the event's website (or someone else's). Its pages can be set after it
// starts, once the lab they point at runs.
type site struct {
	origin string
	spki   string

	mu    sync.Mutex
	pages map[string]string
}

// startSite serves hls.js, and the pages set later, on addr over HTTPS.
func startSite(t *testing.T, addr, js string) *site {
	t.Helper()
	ln, err := net.Listen("tcp", addr+":0")
	require.NoError(t, err)
	s := &site{origin: "https://" + ln.Addr().String(), pages: map[string]string{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/"+nginx.HLSJSFile {
			http.ServeFile(w, r, js)
			return
		}
		s.mu.Lock()
		page, ok := s.pages[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.spki = browser.SPKIHash(srv.Certificate())
	return s
}

// set serves html at path.
func (s *site) set(path, html string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[path] = html
}

// embedPage is another website's page with the player in an iframe.
func embedPage(player string) string {
	return fmt.Sprintf(`<!doctype html><title>embed</title>
<iframe src=%q allow="autoplay; fullscreen" width="640" height="360"></iframe>`, player)
}

// hlsjsPage plays url with hls.js from the page's own site, as an event's
// website with its own player would, and reports in window.result.
func hlsjsPage(url string) string {
	quoted, _ := json.Marshal(url)
	return fmt.Sprintf(`<!doctype html><title>hls.js</title>
<video id="v" muted autoplay playsinline></video>
<script src="/%s"></script>
<script>
window.result = {state: "loading", time: 0, error: ""};
const video = document.getElementById("v");
const hls = new Hls();
hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) { window.result = {state: "failed", time: 0, error: d.details}; } });
video.addEventListener("playing", () => { if (window.result.state !== "failed") window.result.state = "playing"; });
setInterval(() => { window.result.time = video.currentTime; }, 200);
hls.loadSource(%s);
hls.attachMedia(video);
</script>`, nginx.HLSJSFile, quoted)
}

// hlsjsResult is window.result of hlsjsPage.
type hlsjsResult struct {
	State string  `json:"state"`
	Time  float64 `json:"time"`
	Error string  `json:"error"`
}

func waitHLSJS(t *testing.T, page context.Context, what string, check func(hlsjsResult) error) {
	t.Helper()
	deadline := time.Now().Add(browser.DefaultTimeout)
	for {
		var r hlsjsResult
		err := chromedp.Run(page, chromedp.Evaluate(`window.result`, &r))
		if err == nil {
			err = check(r)
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, browser.DefaultTimeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBrowserHTTPSFromAnotherSite embeds the player in another HTTPS site's
// page, and plays the HLS with that site's own hls.js: allowed when the
// edge lists the site in CORSOrigins, refused for a site it does not list.
func TestBrowserHTTPSFromAnotherSite(t *testing.T) {
	js := hlsJS(t)
	event := startSite(t, "127.0.0.50", js)
	other := startSite(t, "127.0.0.51", js)
	l := startLab(t, lab.Options{Edges: 1, TLS: true, HLSJS: js, CORSOrigins: []string{event.origin}})
	info := l.Info()
	edge := info.Edges[0]
	for _, s := range []*site{event, other} {
		s.set("/embed", embedPage(edge.Player))
		s.set("/hlsjs", hlsjsPage(edge.HLS))
	}
	trust := []string{labSPKI(t, info), event.spki, other.spki}

	t.Run("an iframe on another site plays", func(t *testing.T) {
		// The unlisted site: an iframe's player fetches from its own edge,
		// so embedding needs no CORS entry.
		page := browser.New(t, browser.Options{TrustSPKI: trust})
		require.NoError(t, chromedp.Run(page, chromedp.Navigate(other.origin+"/embed")))
		frame := browser.Frame(t, page, edge.Player)
		st := browser.Wait(t, frame, "the embedded player plays", func(s browser.State) error {
			if s.Edge != edge.Name {
				return fmt.Errorf("on %s (%s)", s.Base, s.Edge)
			}
			return s.Playing()
		})
		browser.WaitAdvance(t, frame, "the embedded video advances", st.Time, 2)
		browser.Screenshot(t, page, artifactsDir, "player-https-embedded.png")
	})

	t.Run("hls.js on a listed site plays", func(t *testing.T) {
		page := browser.New(t, browser.Options{TrustSPKI: trust})
		require.NoError(t, chromedp.Run(page, chromedp.Navigate(event.origin+"/hlsjs")))
		var from float64
		waitHLSJS(t, page, "hls.js plays from the edge", func(r hlsjsResult) error {
			if r.State != "playing" {
				return fmt.Errorf("state %q %s", r.State, r.Error)
			}
			from = r.Time
			return nil
		})
		waitHLSJS(t, page, "the video advances", func(r hlsjsResult) error {
			if r.State != "playing" || r.Time < from+2 {
				return fmt.Errorf("state %q at %.1f s %s", r.State, r.Time, r.Error)
			}
			return nil
		})
	})

	t.Run("hls.js on an unlisted site cannot load", func(t *testing.T) {
		page := browser.New(t, browser.Options{TrustSPKI: trust})
		require.NoError(t, chromedp.Run(page, chromedp.Navigate(other.origin+"/hlsjs")))
		waitHLSJS(t, page, "hls.js fails to load the playlist", func(r hlsjsResult) error {
			if r.State != "failed" {
				return fmt.Errorf("state %q at %.1f s", r.State, r.Time)
			}
			if r.Error != "manifestLoadError" {
				return fmt.Errorf("failed with %q, want manifestLoadError (CORS)", r.Error)
			}
			return nil
		})
	})
}
