package rehearsal

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livecdn/livecdn/rehearsal/image"
	"github.com/stretchr/testify/require"
)

// testWriter sends a build's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testImage returns the rehearsal image from the repository's cache,
// building it if needed, or skips the test when it cannot exist here.
func testImage(t *testing.T, ctx context.Context) (image.Image, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a VM: about 2 minutes under TCG (drop -short to run it)")
	}
	needRoot(t, "qemu-system-x86_64", "qemu-img", "genisoimage", "ssh", "ssh-keygen")
	cache, err := filepath.Abs(filepath.Join("..", ".cache"))
	require.NoError(t, err)
	img, err := image.Ensure(ctx, cache, image.Spec{Packages: []string{"libnginx-mod-rtmp", "nftables", "nginx"}}, testWriter{t})
	if err != nil {
		if toolsErr := image.CheckTools(); toolsErr != nil {
			t.Skipf("no rehearsal image and it cannot be built here: %v", toolsErr)
		}
		require.NoError(t, err)
	}
	return img, cache
}

// TestVM boots one machine the way a rehearsal does and checks what the
// orchestrator relies on: cloud-init runs the user data, the seed's
// network config gives the VM its address, route and name server, ssh
// works from an admitted address and is dropped from another, power off,
// reset and power on behave like a droplet's, and Close leaves nothing.
func TestVM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	img, cache := testImage(t, ctx)

	began := time.Now()
	accel, err := Accel(img.Kernel, img.Initrd, cache)
	require.NoError(t, err)
	t.Logf("accelerator: %s (decided in %v)", accel, time.Since(began).Round(time.Millisecond))

	pub, key, err := GenerateSSHKey(filepath.Join(t.TempDir(), "ssh"))
	require.NoError(t, err)
	n := newTestNetwork(t, NetworkConfig{SSHKey: key})

	vmAddr := netip.MustParsePrefix("198.18.0.10/24")
	require.NoError(t, n.ServeDNS(gateway, []DNSRecord{
		{Name: "origin.example.com", Addrs: []netip.Addr{vmAddr.Addr()}},
		{Name: image.RepoHost, Addrs: []netip.Addr{gateway}},
	}))
	require.NoError(t, n.SetFirewall([]netip.Addr{vmAddr.Addr()}, []FirewallRule{
		{To: vmAddr.Addr(), Protocol: "tcp", Ports: "22", From: []netip.Prefix{netip.PrefixFrom(admin, 32)}},
	}))
	// Services the VM must reach: one on the gateway by name, one on a
	// /32 client address through its default route.
	for _, addr := range []string{"198.18.0.1:8080", "203.0.113.1:8081"} {
		l, err := n.Listen("tcp", addr)
		require.NoError(t, err)
		srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			_, _ = w.Write([]byte("seen " + host + "\n"))
		})}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })
	}

	began = time.Now()
	vm, err := n.StartVM(ctx, VMConfig{
		Name:              "origin",
		CPUs:              1,
		MemoryMiB:         1024,
		Kernel:            img.Kernel,
		Initrd:            img.Initrd,
		BaseImage:         img.RootFS,
		Address:           vmAddr,
		Gateway:           gateway,
		DNS:               gateway,
		UserData:          "#cloud-config\nruncmd: [ [sh, -c, \"echo hi >> /root/hi\"] ]\n",
		InstanceID:        "rehearsal-origin-1",
		SSHAuthorizedKeys: []string{pub},
		Accel:             accel,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console of %s:\n%s", vm.Name, vm.ConsoleTail(60))
		}
	})
	status, err := vm.WaitCloudInit(ctx, admin)
	require.NoError(t, err)
	t.Logf("first boot: cloud-init done %v after StartVM (%s)", time.Since(began).Round(time.Second), accel)
	require.Contains(t, status, "status: done")

	out, err := vm.SSH(ctx, admin, strings.Join([]string{
		"cat /root/hi", "hostname", "ip -4 -o addr show dev eth0", "ip route show default",
		"grep nameserver /etc/resolv.conf", "getent hosts origin.example.com",
		"curl -sS --max-time 5 http://" + image.RepoHost + ":8080/", "curl -sS --max-time 5 http://203.0.113.1:8081/",
	}, " && "))
	require.NoError(t, err)
	t.Logf("inside the VM:\n%s", out)
	for _, want := range []string{
		"hi\norigin\n", "eth0    inet 198.18.0.10/24", "default via 198.18.0.1 dev eth0",
		"nameserver 198.18.0.1", "198.18.0.10     origin.example.com",
		"seen 198.18.0.10\nseen 198.18.0.10\n",
	} {
		require.Contains(t, out, want)
	}

	// The firewall admits ssh from the operator only, and drops the rest:
	// a timeout, not a refusal.
	began = time.Now()
	_, err = vm.SSH(ctx, viewer, "true")
	var sshErr *SSHError
	require.ErrorAs(t, err, &sshErr)
	require.True(t, sshErr.Connection(), "%v", err)
	require.Contains(t, sshErr.Stderr, "timed out")
	require.GreaterOrEqual(t, time.Since(began), sshConnectTimeout)

	// Reset reboots at once, disk kept; WaitCloudInit waits for this
	// boot's cloud-init, not the last one's. sync first: a hard reset
	// loses unwritten files (the ssh host keys, this soon after the first
	// boot) as a real power cut would.
	_, err = vm.SSH(ctx, admin, "sync")
	require.NoError(t, err)
	banners := func() int {
		b, err := os.ReadFile(vm.ConsoleLog())
		require.NoError(t, err)
		return strings.Count(string(b), "Linux version")
	}
	require.Equal(t, 1, banners())
	began = time.Now()
	require.NoError(t, vm.Reset())
	require.Eventually(t, func() bool { return banners() == 2 }, time.Minute, 200*time.Millisecond, "no new boot after Reset")
	_, err = vm.WaitCloudInit(ctx, admin)
	require.NoError(t, err)
	t.Logf("reset: cloud-init done %v after Reset", time.Since(began).Round(time.Second))
	uptime, err := vm.SSH(ctx, admin, "cut -d. -f1 /proc/uptime")
	require.NoError(t, err)
	secs, err := strconv.Atoi(strings.TrimSpace(uptime))
	require.NoError(t, err)
	require.Less(t, float64(secs), time.Since(began).Seconds(), "uptime counts from the reset")

	// Same disk, same instance: the per-instance runcmd did not run again.
	out, err = vm.SSH(ctx, admin, "cat /root/hi")
	require.NoError(t, err)
	require.Equal(t, "hi\n", out)

	// A failing command is not a connection failure.
	_, err = vm.SSH(ctx, admin, "exit 3")
	require.ErrorAs(t, err, &sshErr)
	require.Equal(t, 3, sshErr.ExitCode)
	require.False(t, sshErr.Connection())

	// A hard power off stops qemu at once.
	require.NoError(t, vm.PowerOff())
	require.False(t, vm.Running())
	require.NoError(t, vm.PowerOff(), "powering off a stopped VM does nothing")
	require.Error(t, vm.Reset(), "a stopped VM cannot be reset")

	// Close kills qemu and dnsmasq and removes everything.
	pids, err := namespacePIDs(n.Name)
	require.NoError(t, err)
	require.NotEmpty(t, pids)
	require.NoError(t, n.Close())
	requireGone(t, n.Name, n.WorkDir())
	for _, pid := range pids {
		err := syscall.Kill(pid, 0)
		require.True(t, errors.Is(err, syscall.ESRCH), "pid %d survived Close", pid)
	}
	out2, _ := exec.Command("pgrep", "-a", "-f", n.WorkDir()).Output()
	require.Empty(t, strings.TrimSpace(string(out2)), "no qemu left")
}

// TestStartVMRejects covers the configuration errors StartVM reports
// before it creates anything.
func TestStartVMRejects(t *testing.T) {
	needRoot(t)
	n := newTestNetwork(t, NetworkConfig{})
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	good := VMConfig{Name: "origin", Kernel: file, Initrd: file, BaseImage: file, Address: netip.MustParsePrefix("198.18.0.10/24"),
		Gateway: gateway, InstanceID: "i-1", Accel: "tcg"}
	for name, mutate := range map[string]func(*VMConfig){
		"bad name":        func(c *VMConfig) { c.Name = "Origin_1" },
		"no kernel":       func(c *VMConfig) { c.Kernel = "" },
		"missing image":   func(c *VMConfig) { c.BaseImage = filepath.Join(dir, "missing") },
		"no address":      func(c *VMConfig) { c.Address = netip.Prefix{} },
		"namespace's own": func(c *VMConfig) { c.Address = netip.MustParsePrefix("198.18.0.1/24") },
		"far gateway":     func(c *VMConfig) { c.Gateway = netip.MustParseAddr("10.0.0.1") },
		"no instance id":  func(c *VMConfig) { c.InstanceID = "" },
		"two-line key":    func(c *VMConfig) { c.SSHAuthorizedKeys = []string{"ssh-ed25519 A\nssh-ed25519 B"} },
		"bad accel":       func(c *VMConfig) { c.Accel = "hvf" },
		"tiny memory":     func(c *VMConfig) { c.MemoryMiB = 64 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			mutate(&cfg)
			_, err := n.StartVM(context.Background(), cfg)
			require.ErrorContains(t, err, "vm ")
		})
	}
}

// TestStartVMReportsQemuFailure checks that a VM qemu cannot boot fails
// StartVM with qemu's own words, and that the failed VM leaves no tap,
// overlay or seed behind and frees its name.
func TestStartVMReportsQemuFailure(t *testing.T) {
	needRoot(t, "qemu-system-x86_64", "qemu-img", "genisoimage")
	n := newTestNetwork(t, NetworkConfig{})
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	require.NoError(t, os.WriteFile(junk, []byte("not a kernel"), 0o644))
	cfg := VMConfig{Name: "origin", Kernel: junk, Initrd: junk, BaseImage: junk, Address: netip.MustParsePrefix("198.18.0.10/24"),
		InstanceID: "i-1", Accel: "tcg"}
	_, err := n.StartVM(context.Background(), cfg)
	t.Log(err)
	require.ErrorContains(t, err, `vm "origin": qemu exited`)
	require.ErrorContains(t, err, "kernel", "qemu's complaint is quoted")

	links, err := n.Command(context.Background(), "ip", "-o", "link", "show").Output()
	require.NoError(t, err)
	require.NotContains(t, string(links), "tap0")
	entries, err := os.ReadDir(n.WorkDir())
	require.NoError(t, err)
	for _, e := range entries {
		require.Contains(t, []string{workDirMarker, "origin.console.log", "origin.qemu.log"}, e.Name())
	}
	_, err = n.StartVM(context.Background(), cfg)
	require.ErrorContains(t, err, "qemu exited", "the name is free again")
}
