package machines

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/nginx"
	"github.com/livecdn/livecdn/rehearsal"
	"github.com/livecdn/livecdn/tests/internal/browser"
)

// threeMachineAnimecon is the committed animecon stack cut down to what two
// emulated cores can boot: the origin and one edge in each of two regions,
// passing the encoder's stream through (no ladder to transcode), and with
// the recordings bucket a team sets (animeconRecordings). Everything else
// (event, DNS names, firewall, stream settings) is animecon's own.
func threeMachineAnimecon(t *testing.T) *config.Settings {
	t.Helper()
	s := loadStack(t, "animecon")
	s.Stream.Renditions = nil
	s.Audience = nil
	var edges []config.EdgeGroup
	for _, g := range s.Edges[:2] {
		g.Count = 1
		edges = append(edges, g)
	}
	s.Edges = edges
	s.Recordings = animeconRecordings(s)
	require.True(t, s.DNS.Enabled, "animecon names its edges in DNS")
	require.True(t, s.Stream.Record, "animecon records")
	return s
}

// TestAnimeconPlayerFailsOverBetweenRegions loads the player page an edge VM
// serves, through the namespace's DNS, in Chromium; powers that edge off;
// and checks the video goes on from the other region. Then it follows the
// recording through a power cut and a shutdown of the origin.
func TestAnimeconPlayerFailsOverBetweenRegions(t *testing.T) {
	s := threeMachineAnimecon(t)
	r := rehearse(t, "animecon", s)
	first, second := machine(t, r, s.Edges[0].Region+"-1"), machine(t, r, s.Edges[1].Region+"-1")

	for _, e := range []string{first.Health, second.Health} {
		eventually(t, e+" answers 503 before a stream", healTimeout, wantStatus(t, r, e, 503))
	}
	// Over RTMPS on 443, by the ingest name the certificate covers.
	encoder := publishAsTheREADMESays(t, r, true)
	for _, e := range []string{first.Health, second.Health} {
		eventually(t, e+" turns 200", healTimeout, wantStatus(t, r, e, 200))
	}

	// Viewers are on HTTPS: plain HTTP redirects there, except /healthz,
	// which load balancers' monitors probe.
	region := blueprint.RegionHost(s.Domain, first.Region)
	client := viewerClient(t, r)
	resp, err := get(context.Background(), client, blueprint.PlayerURL(blueprint.HTTP, region))
	require.NoError(t, err)
	require.Equal(t, http.StatusMovedPermanently, resp.StatusCode)
	require.Equal(t, blueprint.PlayerURL(blueprint.HTTPS, region), resp.Header.Get("Location"))
	resp, err = get(context.Background(), client, blueprint.HealthURL(blueprint.HTTP, region))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "/healthz answers on plain HTTP too")
	resp, err = get(context.Background(), client, blueprint.PlayerURL(blueprint.HTTPS, region))
	require.NoError(t, err)
	require.Equal(t, "HTTP/2.0", resp.Proto, "HTTPS speaks HTTP/2")
	eventually(t, "the region's name plays", healTimeout,
		playsAt(r, blueprint.PlaylistURL(blueprint.SchemeOf(s), blueprint.RegionHost(s.Domain, first.Region), blueprint.Stream(s.Stream)), "1280x720"))

	page := browser.New(t, browser.Options{
		Netns: r.Info().Netns,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return r.Network().Dial(ctx, network, addr, netip.Addr{})
		},
		// The page loads hls.js from a public CDN the namespace cannot reach;
		// the browser gets the same pinned file, integrity-checked.
		Serve: map[string]string{nginx.PublicHLSJS().Src: hlsJS(t)},
		// The stack's certificate, from the rehearsal's CA, which Chromium
		// takes like one from a public CA.
		TrustSPKI: []string{leafSPKI(t, r, region)},
	})
	home := blueprint.BaseURL(blueprint.SchemeOf(s), blueprint.RegionHost(s.Domain, first.Region))
	require.NoError(t, chromedp.Run(page, chromedp.Navigate(blueprint.PlayerURL(blueprint.SchemeOf(s), blueprint.RegionHost(s.Domain, first.Region)))))
	st := browser.WaitWithin(t, page, "the page plays from "+first.Name, healTimeout, func(st browser.State) error {
		if st.Base != home || st.Edge != first.Name {
			return fmt.Errorf("on %s (%s)", st.Base, st.Edge)
		}
		return st.Playing()
	})
	browser.WaitAdvance(t, page, "the video advances", st.Time, 2)
	browser.Screenshot(t, page, "artifacts", "animecon-player.png")

	other := blueprint.BaseURL(blueprint.SchemeOf(s), blueprint.RegionHost(s.Domain, second.Region))
	require.NoError(t, r.VM(first.Name).PowerOff())
	off := time.Now()
	var freeze browser.FreezeMeter
	st = browser.WaitWithin(t, page, "the page moves to "+second.Name, healTimeout, func(st browser.State) error {
		freeze.Sample(st.Time)
		if st.Base != other || st.Edge != second.Name || st.Failovers != 1 {
			return fmt.Errorf("on %s (%s), %d failovers", st.Base, st.Edge, st.Failovers)
		}
		return st.Playing()
	})
	browser.WaitWithin(t, page, "the video advances 4 s on "+second.Name, healTimeout, func(s browser.State) error {
		freeze.Sample(s.Time)
		if s.Time < st.Time+4 {
			return fmt.Errorf("at %.1f s, want %.1f s", s.Time, st.Time+4)
		}
		return nil
	})
	t.Logf("failover: %s powered off, then the picture stood still for at most %v; 4 s played on %s %v after the power-off",
		first.Name, freeze.Longest().Round(100*time.Millisecond), second.Name, time.Since(off).Round(100*time.Millisecond))
	browser.Screenshot(t, page, "artifacts", "animecon-player-failover.png")

	recordingsSurviveTheOrigin(t, r, s, encoder)
}

// leafSPKI is the SPKI hash of the certificate host serves, checked against
// the rehearsal's CA first.
func leafSPKI(t *testing.T, r *rehearsal.Rehearsal, host string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := viewerClient(t, r)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, blueprint.PlayerURL(blueprint.HTTPS, host), nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err, "%s serves a certificate the rehearsal's CA signed", host)
	resp.Body.Close()
	return browser.SPKIHash(resp.TLS.PeerCertificates[0])
}

// hlsJS is the pinned hls.js `make hlsjs` fetched.
func hlsJS(t *testing.T) string {
	t.Helper()
	path := os.Getenv("LIVECDN_HLSJS")
	if path == "" {
		path = filepath.Join(repoRoot, ".cache", "hlsjs", nginx.HLSJSFile)
	}
	_, err := os.Stat(path)
	require.NoError(t, err, "hls.js %s: run `make hlsjs` first", nginx.HLSJSVersion)
	return path
}
