package rehearsal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Addresses the tests give the namespace, as a rehearsal would.
var (
	gateway = netip.MustParseAddr("198.18.0.1")
	encoder = netip.MustParseAddr("203.0.113.1")
	admin   = netip.MustParseAddr("198.51.100.1")
	viewer  = netip.MustParseAddr("192.0.2.77")
)

func testAddresses() []netip.Prefix {
	return []netip.Prefix{
		netip.PrefixFrom(gateway, 24),
		netip.PrefixFrom(encoder, 32),
		netip.PrefixFrom(admin, 32),
		netip.PrefixFrom(viewer, 32),
	}
}

// needRoot skips tests that create namespaces where they cannot.
func needRoot(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces, bridges and nftables")
	}
	for _, tool := range append([]string{"ip", "nft", "dnsmasq", "nsenter", "unshare"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian: iproute2, nftables, dnsmasq-base, util-linux, qemu-system-x86, qemu-utils, genisoimage, openssh-client)", tool)
		}
	}
}

// newTestNetwork makes a network that the test closes, checking that
// Close leaves nothing behind.
func newTestNetwork(t *testing.T, cfg NetworkConfig) *Network {
	t.Helper()
	if cfg.Prefix == "" {
		cfg.Prefix = "lcdn-test"
	}
	if cfg.Addresses == nil {
		cfg.Addresses = testAddresses()
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = filepath.Join(t.TempDir(), "work")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := NewNetwork(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, n.Close())
		requireGone(t, n.Name, n.WorkDir())
	})
	return n
}

// requireGone checks that nothing of a namespace is left.
func requireGone(t *testing.T, name, workDir string) {
	t.Helper()
	for _, p := range []string{filepath.Join(netnsDir, name), filepath.Join(etcNetnsDir, name), stateFile(name), workDir} {
		_, err := os.Stat(p)
		require.ErrorIs(t, err, os.ErrNotExist, "%s must be removed", p)
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	require.NoError(t, err)
	require.NotContains(t, string(out), name)
}

func TestNetworkLifecycle(t *testing.T) {
	needRoot(t)
	n := newTestNetwork(t, NetworkConfig{})
	require.Regexp(t, fmt.Sprintf(`^lcdn-test-%d(-\d+)?$`, os.Getpid()), n.Name)

	// The bridge carries every address; nothing but lo and br0 exists, so
	// there is no way out of the namespace.
	out, err := n.Command(context.Background(), "ip", "-o", "addr", "show").Output()
	require.NoError(t, err)
	for _, p := range testAddresses() {
		require.Contains(t, string(out), "br0    inet "+p.String())
	}
	links, err := n.Command(context.Background(), "ip", "-o", "link", "show").Output()
	require.NoError(t, err)
	require.Len(t, strings.Split(strings.TrimSpace(string(links)), "\n"), 2, string(links))
	routes, err := n.Command(context.Background(), "ip", "route", "show", "default").Output()
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(string(routes)), "no default route out of the namespace")

	// A listener in the namespace sees the source address a client chose.
	l, err := n.Listen("tcp", netip.AddrPortFrom(gateway, 0).String())
	require.NoError(t, err)
	go serveEcho(l)
	for _, from := range []netip.Addr{encoder, admin, viewer} {
		got, err := exchange(context.Background(), func(ctx context.Context) (net.Conn, error) {
			return n.Dial(ctx, "tcp", l.Addr().String(), from)
		})
		require.NoError(t, err)
		require.Equal(t, from.String(), got)
	}
	// The host's namespace cannot reach it.
	_, err = net.DialTimeout("tcp", l.Addr().String(), 300*time.Millisecond)
	require.Error(t, err)

	// Commands get the namespace's network and are killed by Close.
	sleep := n.Command(context.Background(), "sleep", "600")
	require.NoError(t, sleep.Start())
	done := make(chan error, 1)
	go func() { done <- sleep.Wait() }()

	require.NoError(t, n.Close())
	require.NoError(t, n.Close(), "Close is idempotent")
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close left a command running")
	}
	requireGone(t, n.Name, n.WorkDir())
	_, err = n.Listen("tcp", "198.18.0.1:0")
	require.Error(t, err)
}

func TestNewNetworkRejects(t *testing.T) {
	for name, cfg := range map[string]NetworkConfig{
		"no prefix":     {Addresses: testAddresses()},
		"bad prefix":    {Prefix: "Lcdn_dev", Addresses: testAddresses()},
		"no addresses":  {Prefix: "lcdn-test"},
		"invalid addrs": {Prefix: "lcdn-test", Addresses: []netip.Prefix{{}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewNetwork(context.Background(), cfg)
			require.Error(t, err)
		})
	}
	t.Run("non-empty work dir", func(t *testing.T) {
		needRoot(t)
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "keep"), nil, 0o644))
		_, err := NewNetwork(context.Background(), NetworkConfig{Prefix: "lcdn-test", Addresses: testAddresses(), WorkDir: dir})
		require.ErrorContains(t, err, "not empty")
		_, err = os.Stat(filepath.Join(dir, "keep"))
		require.NoError(t, err, "a work dir that is not ours must be left alone")
	})
}

// TestCleanupStale kills a process that built a rehearsal and checks that
// the next one removes its namespace, processes and files.
func TestCleanupStale(t *testing.T) {
	needRoot(t)
	const prefix = "lcdn-stale"
	work := filepath.Join(t.TempDir(), "work")
	helper := exec.Command(os.Args[0], "-test.run=^TestStaleHelper$")
	helper.Env = append(os.Environ(), "LCDN_STALE_HELPER="+work)
	stdout, err := helper.StdoutPipe()
	require.NoError(t, err)
	helper.Stderr = os.Stderr
	require.NoError(t, helper.Start())
	t.Cleanup(func() {
		_ = helper.Process.Kill() // already dead when the test passes
		_ = helper.Wait()
	})
	var name string
	var leftover int
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "READY %s %d", &name, &leftover); err == nil {
			break
		}
	}
	require.NotEmpty(t, name, "helper did not start a rehearsal")
	require.Equal(t, fmt.Sprintf("%s-%d", prefix, helper.Process.Pid), name)

	// A live owner's namespace is left alone.
	require.NoError(t, CleanupStale(prefix))
	_, err = os.Stat(filepath.Join(netnsDir, name))
	require.NoError(t, err)

	require.NoError(t, helper.Process.Signal(syscall.SIGKILL))
	_, _ = helper.Process.Wait()
	// What the kill left: the namespace, its files and a process that
	// escaped the parent-death signal.
	require.NoError(t, syscall.Kill(leftover, 0), "the helper's detached process must survive it")
	for _, p := range []string{filepath.Join(netnsDir, name), filepath.Join(etcNetnsDir, name), work} {
		_, err := os.Stat(p)
		require.NoError(t, err)
	}

	require.NoError(t, CleanupStale(prefix))
	requireGone(t, name, work)
	require.Eventually(t, func() bool { return syscall.Kill(leftover, 0) != nil }, 5*time.Second, 50*time.Millisecond,
		"the process left in the namespace must be killed")
}

// TestStaleHelper is TestCleanupStale's victim: it builds a rehearsal,
// starts a process that does not die with it, and waits to be killed.
func TestStaleHelper(t *testing.T) {
	work := os.Getenv("LCDN_STALE_HELPER")
	if work == "" {
		t.Skip("helper process for TestCleanupStale")
	}
	n, err := NewNetwork(context.Background(), NetworkConfig{Prefix: "lcdn-stale", Addresses: testAddresses(), WorkDir: work})
	require.NoError(t, err)
	require.NoError(t, n.ServeDNS(gateway, []DNSRecord{{Name: "origin.example.com", Addrs: []netip.Addr{netip.MustParseAddr("198.18.0.10")}}}))
	detached := exec.Command("ip", "netns", "exec", n.Name, "sleep", "600")
	detached.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	require.NoError(t, detached.Start())
	fmt.Printf("READY %s %d\n", n.Name, detached.Process.Pid)
	time.Sleep(10 * time.Minute)
}

// serveEcho answers each connection with the client's address and a
// newline, then closes it: enough to prove a connection was established
// both ways and from which source.
func serveEcho(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			_, _ = io.WriteString(c, host+"\n")
		}()
	}
}

// exchange dials within 1 s and reads serveEcho's line.
func exchange(ctx context.Context, dial func(context.Context) (net.Conn, error)) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := dial(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// isDrop reports whether a failed connection looks like a firewall drop
// (a timeout) rather than a rejection or a closed port (refused).
func isDrop(err error) bool {
	var ne net.Error
	return err != nil && !errors.Is(err, syscall.ECONNREFUSED) &&
		(errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()))
}
