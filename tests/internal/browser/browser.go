// Package browser opens livecdn's player page in a real headless Chromium for
// end-to-end tests, and reads back what the viewer would see. It serves both
// the lab tests (Chromium on the host, pages on loopback) and the machine
// tests (Chromium inside a Linux network namespace, beside the VMs).
package browser

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium; tools that download their own browser
// cannot run here.
const ChromiumPath = "/usr/bin/chromium"

// DefaultTimeout bounds how long Wait waits for the page, and how long the
// browser may take to start. It is a deadline against hangs, not a
// performance claim: docs/BENCHMARKS.md has the measured figures.
const DefaultTimeout = 45 * time.Second

// Options says where Chromium runs and what it must not fetch from the
// network. The zero value runs it on the host, fetching everything.
type Options struct {
	// Netns, optional (default: the host's namespace), names a network
	// namespace (as `ip netns` knows it) to run Chromium in, so the page
	// resolves names with /etc/netns/NETNS/resolv.conf and reaches the
	// namespace's addresses as a viewer there would.
	Netns string
	// Dial, required with Netns, connects to an address inside Netns: the
	// test talks to Chromium's DevTools port, which listens on the
	// namespace's loopback, through it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Serve, optional, maps absolute URLs (for example a public CDN's
	// hls.js) to local files the browser gets instead, so a test needs no
	// Internet. Each is answered 200 as JavaScript with
	// Access-Control-Allow-Origin: *, so crossorigin and integrity
	// attributes are checked as in production. Other requests go out.
	Serve map[string]string
	// TrustSPKI, optional, are certificates Chromium accepts although no
	// root it knows signed them (a lab's throwaway certificates), each as
	// SPKIHash gives it. Only these are excused: any other certificate
	// error still fails the page, as it would a viewer's.
	TrustSPKI []string
}

// SPKIHash is how Chromium's --ignore-certificate-errors-spki-list names a
// certificate: base64 of the SHA-256 of its SubjectPublicKeyInfo.
func SPKIHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// switches are flags plus what opts add.
func switches(opts Options) []chromiumSwitch {
	out := slices.Clone(flags)
	if len(opts.TrustSPKI) > 0 {
		out = append(out, chromiumSwitch{"ignore-certificate-errors-spki-list", strings.Join(opts.TrustSPKI, ",")})
	}
	return out
}

// chromiumSwitch is one of Chromium's command-line switches.
type chromiumSwitch struct{ name, value string }

// flags are Chromium's switches, an empty value meaning a bare switch. The
// same list starts it on the host (through chromedp) and in a namespace.
var flags = []chromiumSwitch{
	{"headless", ""},
	{"hide-scrollbars", ""},
	{"mute-audio", ""},
	{"no-sandbox", ""}, // the tests run as root
	{"disable-gpu", ""},
	{"enable-unsafe-swiftshader", ""},
	{"no-first-run", ""},
	{"disable-quic", ""},
	{"disable-background-networking", ""},
	{"disable-component-update", ""},
	{"disable-sync", ""},
	{"autoplay-policy", "no-user-gesture-required"},
	{"window-size", "1280,720"},
}

// New starts a headless Chromium for the test and returns a tab; the browser
// goes away at cleanup. The page's console goes to the test log.
func New(t testing.TB, opts Options) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Fatalf("%s is missing: apt-get install chromium (or run `make deps`)", ChromiumPath)
	}
	if opts.Netns != "" && opts.Dial == nil {
		t.Fatalf("browser: Options.Netns %q needs Options.Dial to reach Chromium there", opts.Netns)
	}
	files, err := readServed(opts.Serve)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	// Not t.TempDir: Chromium's helper processes may still write to the
	// profile for a moment after the browser is cancelled, and TempDir's
	// cleanup fails the test on that. Removed (with retries) at cleanup.
	profile, err := os.MkdirTemp("", "livecdn-chromium-")
	if err != nil {
		t.Fatalf("browser: profile: %v", err)
	}

	var allocCtx context.Context
	var cancelAlloc context.CancelFunc
	stopChromium := func() {}
	if opts.Netns == "" {
		allocOpts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(ChromiumPath), chromedp.UserDataDir(profile)}
		for _, f := range switches(opts) {
			if f.value == "" {
				allocOpts = append(allocOpts, chromedp.Flag(f.name, true))
			} else {
				allocOpts = append(allocOpts, chromedp.Flag(f.name, f.value))
			}
		}
		allocCtx, cancelAlloc = chromedp.NewExecAllocator(context.Background(), allocOpts...)
	} else {
		wsURL, stop, err := startInNetns(opts.Netns, opts.Dial, profile, switches(opts))
		if err != nil {
			removeProfile(t, profile)
			t.Fatalf("browser: %v", err)
		}
		stopChromium = stop
		// NoModifyURL: the URL already points at the forwarder, and asking
		// Chromium for it again would hand back its in-namespace address.
		allocCtx, cancelAlloc = chromedp.NewRemoteAllocator(context.Background(), wsURL, chromedp.NoModifyURL)
	}
	ctx, cancelTab := chromedp.NewContext(allocCtx)

	var log notes
	chromedp.ListenTarget(ctx, func(ev any) {
		if ev, ok := ev.(*runtime.EventConsoleAPICalled); ok {
			var args []string
			for _, a := range ev.Args {
				args = append(args, strings.Trim(string(a.Value), `"`))
			}
			log.add("page console: %s %s: %s", time.Now().Format("15:04:05.000"), ev.Type, strings.Join(args, " "))
		}
	})
	var start []chromedp.Action
	if len(files) > 0 {
		start = append(start, serve(ctx, files, &log))
	}
	// Start the browser now, so a missing library fails here, clearly. The
	// first Run's context owns the browser: it must be the tab's own.
	stuck := time.AfterFunc(DefaultTimeout, cancelTab)
	err = chromedp.Run(ctx, start...)
	stuck.Stop()
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		stopChromium()
		removeProfile(t, profile)
		for _, line := range log.all() {
			t.Log(line)
		}
	})
	if err != nil {
		t.Fatalf("start %s: %v", ChromiumPath, err)
	}
	return ctx
}

// notes collects what the browser reports from its own goroutines, where
// logging to a test that may have ended would panic; New logs them at
// cleanup.
type notes struct {
	mu    sync.Mutex
	lines []string
}

func (n *notes) add(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lines = append(n.lines, fmt.Sprintf(format, args...))
}

func (n *notes) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lines
}

// removeProfile deletes a Chromium profile once its last writer is gone,
// giving up (and saying so) after a few seconds.
func removeProfile(t testing.TB, dir string) {
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
