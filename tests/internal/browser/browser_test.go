package browser_test

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/livecdn/livecdn/tests/internal/browser"
)

// TestServeStandsInForACDN loads a page from loopback whose script comes from
// an https URL no network answers (.invalid), with crossorigin and integrity
// as the player page loads hls.js: the browser must run the local file given
// for that URL, and accept it.
func TestServeStandsInForACDN(t *testing.T) {
	needChromium(t)
	const script = `window.served = "from the stand-in";`
	file := filepath.Join(t.TempDir(), "served.js")
	require.NoError(t, os.WriteFile(file, []byte(script), 0o644))
	sum := sha512.Sum384([]byte(script))
	// The '?' would be a wildcard in a Fetch pattern: it must match itself.
	const cdnURL = "https://cdn.livecdn.invalid/npm/served@1.0.0/served.js?v=1"

	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>serve</title>
<script src=%q integrity="sha384-%s" crossorigin="anonymous"></script>`,
			cdnURL, base64.StdEncoding.EncodeToString(sum[:]))
	}))
	t.Cleanup(site.Close)

	page := browser.New(t, browser.Options{Serve: map[string]string{cdnURL: file}})
	var served string
	require.NoError(t, chromedp.Run(page,
		chromedp.Navigate(site.URL+"/"),
		chromedp.Evaluate(`String(window.served)`, &served)))
	require.Equal(t, "from the stand-in", served)
}

// TestNetnsRunsChromiumInside serves a page on the loopback of a network
// namespace made for the test, which the host cannot reach, and opens it in
// Chromium started in that namespace.
func TestNetnsRunsChromiumInside(t *testing.T) {
	needChromium(t)
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is missing: apt-get install iproute2")
	}
	name := fmt.Sprintf("lcdn-brtest-%d", os.Getpid())
	ip(t, "netns", "add", name)
	t.Cleanup(func() { ip(t, "netns", "del", name) })
	ip(t, "-n", name, "link", "set", "lo", "up")
	nsPath := filepath.Join("/run/netns", name)

	ln, err := inNetns(nsPath, func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") })
	require.NoError(t, err)
	site := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><title>inside %s</title>", name)
	})}
	go func() { _ = site.Serve(ln) }() // ends with Close
	t.Cleanup(func() { require.NoError(t, site.Close()) })

	page := browser.New(t, browser.Options{
		Netns: name,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return inNetns(nsPath, func() (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			})
		},
	})
	var title string
	require.NoError(t, chromedp.Run(page,
		chromedp.Navigate("http://"+ln.Addr().String()+"/"),
		chromedp.Title(&title)))
	require.Equal(t, "inside "+name, title)
}

// needChromium skips, rather than fails, where no browser is installed: these
// tests check the helpers, and the tests that use them demand Chromium.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(browser.ChromiumPath); err != nil {
		t.Skipf("%s is missing (apt-get install chromium): %v", browser.ChromiumPath, err)
	}
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	require.NoError(t, err, "ip %v: %s", args, out)
}

// inNetns runs f on a thread that has entered the network namespace at path,
// so the sockets f creates belong to it (they stay there whichever thread
// uses them later).
func inNetns[T any](path string, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		// Never unlocked: the thread has left the host's namespace, and Go
		// ends a thread whose goroutine exits while locked to it.
		runtime.LockOSThread()
		var r result
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			r.err = fmt.Errorf("open %s: %w", path, err)
			done <- r
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			r.err = fmt.Errorf("enter %s: %w", path, err)
			done <- r
			return
		}
		r.v, r.err = f()
		done <- r
	}()
	r := <-done
	return r.v, r.err
}
