package rehearsal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// bridgeName is the bridge inside the namespace that every VM's tap joins
	// and that carries the namespace's own addresses.
	bridgeName = "br0"
	// netnsDir is where `ip netns` keeps its named namespaces.
	netnsDir = "/run/netns"
	// etcNetnsDir holds per-namespace files that `ip netns exec` bind-mounts
	// over /etc (our resolv.conf). Nothing else may go there: every file in it
	// is mounted over its namesake in /etc.
	etcNetnsDir = "/etc/netns"
	// stateDir records who created each namespace, so that a later run can
	// tell a killed run's leftovers from a live run's namespace. It is under
	// /run like /run/netns, so both vanish together on reboot.
	stateDir = "/run/livecdn-rehearsal"
	// workDirMarker in a work directory names the namespace that owns it;
	// CleanupStale removes a stale work directory only when it finds it.
	workDirMarker = ".livecdn-rehearsal"

	// killTimeout bounds how long Close and CleanupStale wait for killed
	// processes to disappear.
	killTimeout = 15 * time.Second
)

// prefixPattern keeps namespace names safe in paths, command lines and
// nftables/dnsmasq arguments.
var prefixPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// netnsSeq numbers the namespaces of this process after the first, so that
// parallel tests with the same prefix get distinct names.
var netnsSeq atomic.Int64

// NetworkConfig says how to build a Network.
type NetworkConfig struct {
	// Prefix starts the namespace's name, which is PREFIX-PID (PREFIX-PID-N
	// for the Nth namespace of one process), e.g. "lcdn-dev". Required:
	// lower-case letters, digits and '-'. NewNetwork first removes what dead
	// processes left under the same prefix (see CleanupStale).
	Prefix string
	// Addresses are assigned to br0 inside the namespace. Put the VMs'
	// gateway and the services first with the VMs' prefix length
	// (198.18.0.1/24); add /32s for the clients a test plays (encoder
	// 203.0.113.1/32, operator 198.51.100.1/32, viewer 192.0.2.77/32): VMs
	// reach those through their gateway, which is this namespace, so no
	// routing is involved. Required.
	Addresses []netip.Prefix
	// WorkDir holds the overlays, seeds, QMP sockets and logs. Created if
	// missing; it must be empty, since Close removes it. Optional: default a
	// new directory under os.TempDir().
	WorkDir string
	// LogDir receives the VMs' console and qemu logs and dnsmasq's log, and
	// keeps them after Close (for a failed run's artifacts). Optional:
	// default WorkDir, removed on Close.
	LogDir string
	// SSHKey is the path of the private key VM.SSH authenticates with; give
	// its public half to VMConfig.SSHAuthorizedKeys (GenerateSSHKey makes a
	// pair). Optional: without it VM.SSH fails.
	SSHKey string
}

// Network is one rehearsal's network namespace: a bridge "br0" that the VMs'
// taps join, and addresses on the bridge for the processes that play the
// encoder, the operator, the viewers and the services (DNS, apt repository).
// The namespace has no link to any other namespace, so nothing in it reaches
// the host or the internet.
type Network struct {
	// Name is the network namespace's name (`ip netns`), PREFIX-PID[-N].
	Name string

	cfg     NetworkConfig
	nsPath  string
	workDir string
	logDir  string
	spawn   *spawner

	closeOnce sync.Once
	closeErr  error

	mu         sync.Mutex
	closed     bool
	vms        []*VM
	nextTap    int
	dns        *child
	dnsAddr    netip.Addr
	closers    []io.Closer
	transports []*http.Transport
	commands   []*exec.Cmd
}

// ownerState is what stateDir records about a namespace.
type ownerState struct {
	Name   string `json:"name"`
	Prefix string `json:"prefix"`
	PID    int    `json:"pid"`
	// Start is the owner's start time (clock ticks since boot, field 22 of
	// /proc/PID/stat), so that a reused PID is not taken for the owner.
	Start   uint64 `json:"start"`
	WorkDir string `json:"workDir"`
}

// NewNetwork creates the namespace, its bridge and addresses. It first
// removes stale namespaces of the same prefix (CleanupStale). On error
// everything created so far is removed again.
func NewNetwork(ctx context.Context, cfg NetworkConfig) (*Network, error) {
	if err := validateNetworkConfig(cfg); err != nil {
		return nil, err
	}
	if err := CleanupStale(cfg.Prefix); err != nil {
		return nil, fmt.Errorf("rehearsal: clean up stale namespaces: %w", err)
	}
	start, err := processStart(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("rehearsal: %w", err)
	}
	name := fmt.Sprintf("%s-%d", cfg.Prefix, os.Getpid())
	if seq := netnsSeq.Add(1); seq > 1 {
		name = fmt.Sprintf("%s-%d", name, seq)
	}
	if _, err := os.Stat(filepath.Join(netnsDir, name)); err == nil {
		return nil, fmt.Errorf("rehearsal: namespace %s already exists and its creator is alive", name)
	}

	n := &Network{Name: name, cfg: cfg, nsPath: filepath.Join(netnsDir, name), spawn: newSpawner()}
	if err := n.setUp(ctx, start); err != nil {
		return nil, errors.Join(fmt.Errorf("rehearsal %s: %w", name, err), n.Close())
	}
	return n, nil
}

func validateNetworkConfig(cfg NetworkConfig) error {
	if !prefixPattern.MatchString(cfg.Prefix) {
		return fmt.Errorf("rehearsal: NetworkConfig.Prefix %q: want lower-case letters, digits and '-', starting with a letter or digit", cfg.Prefix)
	}
	if len(cfg.Addresses) == 0 {
		return errors.New("rehearsal: NetworkConfig.Addresses is empty: give at least the VMs' gateway, e.g. 198.18.0.1/24")
	}
	for _, p := range cfg.Addresses {
		if !p.IsValid() || p.Addr().Zone() != "" {
			return fmt.Errorf("rehearsal: NetworkConfig.Addresses: invalid prefix %v", p)
		}
	}
	return nil
}

// setUp does NewNetwork's work; the caller undoes it with Close on error.
func (n *Network) setUp(ctx context.Context, start uint64) error {
	n.workDir = n.cfg.WorkDir
	if n.workDir == "" {
		dir, err := os.MkdirTemp("", n.Name+"-")
		if err != nil {
			return fmt.Errorf("create work dir: %w", err)
		}
		n.workDir = dir
	} else {
		if err := os.MkdirAll(n.workDir, 0o755); err != nil {
			return fmt.Errorf("create work dir: %w", err)
		}
		entries, err := os.ReadDir(n.workDir)
		if err != nil {
			return fmt.Errorf("read work dir: %w", err)
		}
		if len(entries) > 0 {
			dir := n.workDir
			n.workDir = "" // not ours: Close must leave it alone
			return fmt.Errorf("work dir %s is not empty (Close removes it, so it must belong to the rehearsal alone)", dir)
		}
	}
	if abs, err := filepath.Abs(n.workDir); err == nil {
		n.workDir = abs
	}
	if err := os.WriteFile(filepath.Join(n.workDir, workDirMarker), []byte(n.Name+"\n"), 0o644); err != nil {
		return fmt.Errorf("mark work dir: %w", err)
	}
	n.logDir = n.workDir
	if n.cfg.LogDir != "" {
		if err := os.MkdirAll(n.cfg.LogDir, 0o755); err != nil {
			return fmt.Errorf("create log dir: %w", err)
		}
		n.logDir = n.cfg.LogDir
	}

	// Record the owner before the namespace exists, so that no moment
	// leaves a namespace that a later run could not attribute.
	state, err := json.Marshal(ownerState{Name: n.Name, Prefix: n.cfg.Prefix, PID: os.Getpid(), Start: start, WorkDir: n.workDir})
	if err != nil {
		return fmt.Errorf("encode owner state: %w", err)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", stateDir, err)
	}
	if err := os.WriteFile(stateFile(n.Name), state, 0o644); err != nil {
		return fmt.Errorf("write owner state: %w", err)
	}

	// Until ServeDNS runs, names resolve nowhere (glibc then asks
	// 127.0.0.1, which refuses at once) rather than with the host's server,
	// which is unreachable from the namespace.
	if err := os.MkdirAll(filepath.Join(etcNetnsDir, n.Name), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Join(etcNetnsDir, n.Name), err)
	}
	if err := os.WriteFile(n.resolvConf(), []byte("# rehearsal "+n.Name+": no DNS server yet\n"), 0o644); err != nil {
		return fmt.Errorf("write resolv.conf: %w", err)
	}

	if err := run(ctx, "ip", "netns", "add", n.Name); err != nil {
		return err
	}
	// A bridge takes the lowest MAC of its ports unless one is set: without
	// a fixed one the gateway's MAC would change under the VMs' ARP caches
	// whenever a tap joins or leaves.
	brMAC := stableMAC("02", "bridge:"+n.Name)
	steps := [][]string{
		{"ip", "-n", n.Name, "link", "set", "lo", "up"},
		{"ip", "-n", n.Name, "link", "add", bridgeName, "address", brMAC, "type", "bridge", "stp_state", "0", "forward_delay", "0"},
		// With addresses from several subnets on br0, ARP requests must
		// carry the address of the VMs' subnet as their sender.
		{"ip", "netns", "exec", n.Name, "sysctl", "-q", "-w", "net.ipv4.conf.all.arp_announce=2", "net.ipv4.conf." + bridgeName + ".arp_announce=2"},
	}
	for _, p := range n.cfg.Addresses {
		args := []string{"ip", "-n", n.Name, "addr", "add", p.String(), "dev", bridgeName}
		if p.Addr().Is6() {
			args = append(args, "nodad") // usable at once rather than after duplicate detection
		}
		steps = append(steps, args)
	}
	steps = append(steps, []string{"ip", "-n", n.Name, "link", "set", bridgeName, "up"})
	for _, s := range steps {
		if err := run(ctx, s[0], s[1:]...); err != nil {
			return err
		}
	}
	// The firewall between VMs relies on bridged IPv4/IPv6 traffic passing
	// the inet family's forward hook (br_netfilter), where conntrack works;
	// the bridge family has no conntrack on these kernels.
	if err := run(ctx, "ip", "netns", "exec", n.Name, "sysctl", "-q", "-w",
		"net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1"); err != nil {
		return fmt.Errorf("enable br_netfilter (the firewall between VMs needs the br_netfilter module: modprobe br_netfilter): %w", err)
	}
	return nil
}

func stateFile(name string) string { return filepath.Join(stateDir, name+".json") }

func (n *Network) resolvConf() string {
	return filepath.Join(etcNetnsDir, n.Name, "resolv.conf")
}

// WorkDir is the directory holding the VMs' overlays and seeds; Close
// removes it.
func (n *Network) WorkDir() string { return n.workDir }

// LogDir is where console, qemu and dnsmasq logs go.
func (n *Network) LogDir() string { return n.logDir }

// CleanupStale removes what rehearsals with this prefix left when their
// process died without Close: it kills the processes still inside each such
// namespace (qemu, dnsmasq, commands), deletes the namespace, its /etc/netns
// directory and its work directory. Namespaces whose creator still runs are
// left alone. NewNetwork calls it for its prefix.
func CleanupStale(prefix string) error {
	if !prefixPattern.MatchString(prefix) {
		return fmt.Errorf("rehearsal: prefix %q: want lower-case letters, digits and '-'", prefix)
	}
	candidates := map[string]ownerState{}
	entries, err := os.ReadDir(stateDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", stateDir, err)
	}
	var errs []error
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(stateDir, e.Name()))
		if err != nil {
			errs = append(errs, fmt.Errorf("read owner state: %w", err))
			continue
		}
		var st ownerState
		if err := json.Unmarshal(data, &st); err != nil {
			errs = append(errs, fmt.Errorf("decode %s: %w", e.Name(), err))
			continue
		}
		if st.Prefix == prefix && st.Name+".json" == e.Name() {
			candidates[st.Name] = st
		}
	}
	// A namespace without a state file (its file removed by hand) is
	// recognised by the exact PREFIX-PID form only, so that another
	// prefix that merely starts with this one is never touched.
	entries, err = os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", netnsDir, err)
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix+"-")
		if !ok {
			continue
		}
		if _, known := candidates[e.Name()]; known {
			continue
		}
		if pid, err := strconv.Atoi(rest); err == nil && pid > 0 && strconv.Itoa(pid) == rest {
			candidates[e.Name()] = ownerState{Name: e.Name(), Prefix: prefix, PID: pid}
		}
	}
	names := make([]string, 0, len(candidates))
	for name := range candidates {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		st := candidates[name]
		if ownerAlive(st) {
			continue
		}
		if err := removeStale(st); err != nil {
			errs = append(errs, fmt.Errorf("stale namespace %s (pid %d): %w", name, st.PID, err))
		}
	}
	return errors.Join(errs...)
}

// ownerAlive reports whether the process that created a namespace still runs.
func ownerAlive(st ownerState) bool {
	start, err := processStart(st.PID)
	if err != nil {
		return false
	}
	return st.Start == 0 || start == st.Start
}

func removeStale(st ownerState) error {
	var errs []error
	if _, err := os.Stat(filepath.Join(netnsDir, st.Name)); err == nil {
		if err := killNamespaceProcesses(st.Name); err != nil {
			errs = append(errs, err)
		}
		if err := run(context.Background(), "ip", "netns", "del", st.Name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(filepath.Join(etcNetnsDir, st.Name)); err != nil {
		errs = append(errs, err)
	}
	if st.WorkDir != "" {
		marker, err := os.ReadFile(filepath.Join(st.WorkDir, workDirMarker))
		if err == nil && strings.TrimSpace(string(marker)) == st.Name {
			if err := os.RemoveAll(st.WorkDir); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := os.Remove(stateFile(st.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// processStart returns a process's start time in clock ticks since boot.
func processStart(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read start time of pid %d: %w", pid, err)
	}
	// The command name (field 2) may contain spaces and parentheses; the
	// fields after its closing parenthesis start with field 3.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	const startField = 22 - 3
	if len(fields) <= startField {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	start, err := strconv.ParseUint(fields[startField], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat start time: %w", pid, err)
	}
	return start, nil
}

// namespacePIDs lists the processes inside a named namespace.
func namespacePIDs(name string) ([]int, error) {
	out, err := exec.Command("ip", "netns", "pids", name).Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns pids %s: %w%s", name, err, stderrOf(err))
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("ip netns pids %s: unexpected %q", name, f)
		}
		if pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// killNamespaceProcesses SIGKILLs everything inside a namespace until none
// is left, so that the namespace and its devices can go.
func killNamespaceProcesses(name string) error {
	deadline := time.Now().Add(killTimeout)
	for {
		pids, err := namespacePIDs(name)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still run in namespace %s after SIGKILL", pids, name)
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("kill pid %d in namespace %s: %w", pid, name, err)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close stops every VM and process started through the network (Command's
// included: everything inside the namespace is killed), closes its
// listeners, deletes the namespace with its bridge, taps and firewall, and
// removes /etc/netns/NAME and the work directory. LogDir, if given, is kept.
// It is safe to call more than once; later calls return the first result.
func (n *Network) Close() error {
	n.closeOnce.Do(func() { n.closeErr = n.close() })
	return n.closeErr
}

func (n *Network) close() error {
	n.mu.Lock()
	n.closed = true
	vms, dns, closers, transports, commands := n.vms, n.dns, n.closers, n.transports, n.commands
	n.vms, n.dns, n.closers, n.transports, n.commands = nil, nil, nil, nil, nil
	n.mu.Unlock()

	var errs []error
	// A command may not have entered the namespace yet (`ip netns exec`
	// between fork and setns), so the namespace sweep below cannot see it:
	// kill the process groups of the commands started through Command too.
	for _, cmd := range commands {
		if cmd.Process != nil {
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("kill %s: %w", cmd, err))
			}
		}
	}
	for _, vm := range vms {
		if err := vm.kill(); err != nil {
			errs = append(errs, err)
		}
	}
	if dns != nil {
		if err := dns.kill(); err != nil {
			errs = append(errs, fmt.Errorf("stop dnsmasq: %w", err))
		}
	}
	for _, c := range closers {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for _, t := range transports {
		t.CloseIdleConnections()
	}
	if _, err := os.Stat(n.nsPath); err == nil {
		if err := killNamespaceProcesses(n.Name); err != nil {
			errs = append(errs, err)
		}
		if err := run(context.Background(), "ip", "netns", "del", n.Name); err != nil {
			errs = append(errs, err)
		}
	}
	n.spawn.stop()
	if err := os.RemoveAll(filepath.Join(etcNetnsDir, n.Name)); err != nil {
		errs = append(errs, err)
	}
	if n.workDir != "" {
		if err := os.RemoveAll(n.workDir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(stateFile(n.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rehearsal %s: close: %w", n.Name, err)
	}
	return nil
}

// errClosed is returned by methods called after Close.
var errClosed = errors.New("network is closed")

// track registers something Close must close; it fails after Close.
func (n *Network) track(c io.Closer) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errClosed
	}
	n.closers = append(n.closers, c)
	return nil
}

// inNamespace runs f on an OS thread that has entered the network
// namespace at path, so that sockets f creates belong to that namespace
// (a socket keeps its namespace for life, whatever thread uses it later).
// f must not start goroutines that create sockets: they would run on other
// threads, in the host's namespace.
//
// The thread returns to its original namespace before it is unlocked. The
// usual alternative, never unlocking so that Go ends the thread, would kill
// our children: Linux sends a child's parent-death signal when the thread
// that forked it ends, and any thread may have forked one.
func inNamespace(path string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open own network namespace: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open network namespace: %w", err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace %s: %w", path, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Stay locked: the thread ends with this goroutine rather than
			// serve other goroutines in the wrong namespace.
			errc <- errors.Join(ferr, fmt.Errorf("return to own network namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Dial connects from inside the namespace. If from is valid it is the local
// source address, so that a test can act as the encoder, the operator or a
// viewer (it must be one of NetworkConfig.Addresses). A host name is
// resolved with the namespace's DNS server (ServeDNS) and its addresses are
// tried in order.
func (n *Network) Dial(ctx context.Context, network, address string, from netip.Addr) (net.Conn, error) {
	host, portName, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("rehearsal %s: dial %s: %w", n.Name, address, err)
	}
	port, err := net.LookupPort(network, portName)
	if err != nil {
		return nil, fmt.Errorf("rehearsal %s: dial %s: %w", n.Name, address, err)
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		addrs, err = n.Resolver().LookupNetIP(ctx, ipNetwork(network), host)
		if err != nil {
			return nil, fmt.Errorf("rehearsal %s: dial %s: %w", n.Name, address, err)
		}
	}
	var errs []error
	for _, ip := range addrs {
		conn, err := n.dialAddr(ctx, network, netip.AddrPortFrom(ip.Unmap(), uint16(port)), from)
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("rehearsal %s: %w", n.Name, errors.Join(errs...))
}

// ipNetwork is the resolver network matching a dial network.
func ipNetwork(network string) string {
	switch {
	case strings.HasSuffix(network, "4"):
		return "ip4"
	case strings.HasSuffix(network, "6"):
		return "ip6"
	}
	return "ip"
}

func (n *Network) dialAddr(ctx context.Context, network string, to netip.AddrPort, from netip.Addr) (net.Conn, error) {
	var d net.Dialer
	if from.IsValid() {
		ip := from.Unmap().AsSlice()
		if strings.HasPrefix(network, "udp") {
			d.LocalAddr = &net.UDPAddr{IP: ip}
		} else {
			d.LocalAddr = &net.TCPAddr{IP: ip}
		}
	}
	var conn net.Conn
	// One literal address: the dialer creates its socket in this goroutine.
	err := inNamespace(n.nsPath, func() (err error) {
		conn, err = d.DialContext(ctx, network, to.String())
		return err
	})
	return conn, err
}

// Listen listens inside the namespace, e.g. the harness's apt repository on
// 198.18.0.1:80. Close closes the listener if it is still open.
func (n *Network) Listen(network, address string) (net.Listener, error) {
	var l net.Listener
	err := inNamespace(n.nsPath, func() (err error) {
		l, err = net.Listen(network, address)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("rehearsal %s: %w", n.Name, err)
	}
	if err := n.track(l); err != nil {
		return nil, errors.Join(fmt.Errorf("rehearsal %s: listen: %w", n.Name, err), l.Close())
	}
	return l, nil
}

// ListenPacket is Listen for datagrams (e.g. a UDP listener a firewall test
// sends to).
func (n *Network) ListenPacket(network, address string) (net.PacketConn, error) {
	var c net.PacketConn
	err := inNamespace(n.nsPath, func() (err error) {
		c, err = net.ListenPacket(network, address)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("rehearsal %s: %w", n.Name, err)
	}
	if err := n.track(c); err != nil {
		return nil, errors.Join(fmt.Errorf("rehearsal %s: listen: %w", n.Name, err), c.Close())
	}
	return c, nil
}

// Resolver resolves names with the namespace's DNS server (ServeDNS) from
// inside the namespace. The host's /etc/hosts is still consulted first, as
// Go's resolver always does.
func (n *Network) Resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			server := n.DNSServer()
			if !server.IsValid() {
				return nil, errors.New("no DNS server in the namespace: call ServeDNS first")
			}
			return n.Dial(ctx, network, netip.AddrPortFrom(server, 53).String(), netip.Addr{})
		},
	}
}

// HTTPClient returns a client that connects from inside the namespace with
// source address from (any address if from is the zero Addr) and resolves
// names with the namespace's DNS server. It ignores proxy settings in the
// environment. For HTTPS, set the transport's TLSClientConfig
// (client.Transport.(*http.Transport)) to trust the rehearsal's CA.
func (n *Network) HTTPClient(from netip.Addr, timeout time.Duration) *http.Client {
	t := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return n.Dial(ctx, network, addr, from)
		},
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	n.mu.Lock()
	n.transports = append(n.transports, t)
	n.mu.Unlock()
	return &http.Client{Transport: t, Timeout: timeout}
}

// Command returns a command that runs inside the namespace through
// `ip netns exec`, which also bind-mounts /etc/netns/NAME/resolv.conf over
// /etc/resolv.conf, so names resolve with the namespace's DNS server once
// ServeDNS ran. The command gets its own process group; cancelling ctx kills
// the group, and Close kills the group of every command started before it
// as well as whatever else still runs in the namespace.
func (n *Network) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	n.mu.Lock()
	n.commands = append(n.commands, cmd)
	n.mu.Unlock()
	return cmd
}

// run runs a short command and reports its output when it fails.
func run(ctx context.Context, name string, args ...string) error {
	return runInput(ctx, nil, name, args...)
}

func runInput(ctx context.Context, stdin io.Reader, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// stderrOf returns ": STDERR" for an *exec.ExitError with captured stderr.
func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(bytes.TrimSpace(ee.Stderr)) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

// stableMAC derives a locally administered MAC address from a name, so
// that a machine keeps its MAC across runs (and the seed's network-config,
// which matches on it, stays the same). first is the first octet: 52 for
// QEMU guests by convention, 02 for our own devices.
func stableMAC(first, name string) string {
	sum := sha256.Sum256([]byte(name))
	if first == "52" {
		return fmt.Sprintf("52:54:00:%02x:%02x:%02x", sum[0], sum[1], sum[2])
	}
	return fmt.Sprintf("%s:%02x:%02x:%02x:%02x:%02x", first, sum[0], sum[1], sum[2], sum[3], sum[4])
}

// spawner starts long-running children (qemu, dnsmasq) from one OS thread
// that stays locked until Close. Linux delivers a child's parent-death
// signal when the thread that forked it ends, not the process; Go ends a
// thread whenever a goroutine that locked it returns without unlocking, so a
// child forked from an arbitrary thread could be killed at a random moment.
type spawner struct {
	mu     sync.Mutex
	closed bool
	reqs   chan spawnRequest
	done   chan struct{}
}

type spawnRequest struct {
	cmd  *exec.Cmd
	errc chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnRequest), done: make(chan struct{})}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with Close
		defer close(s.done)
		for r := range s.reqs {
			r.errc <- r.cmd.Start()
		}
	}()
	return s
}

func (s *spawner) start(cmd *exec.Cmd) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	errc := make(chan error, 1)
	s.reqs <- spawnRequest{cmd: cmd, errc: errc}
	return <-errc
}

func (s *spawner) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.reqs)
		<-s.done
	}
}

// child is a long-running process started through the spawner.
type child struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// startChild starts cmd (already wrapped in `ip netns exec` as needed) in
// its own process group, with its output appended to logPath.
func (n *Network) startChild(name string, cmd *exec.Cmd, logPath string) (*child, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := n.spawn.start(cmd); err != nil {
		return nil, errors.Join(fmt.Errorf("start %s: %w", name, err), log.Close())
	}
	c := &child{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		log.Close()
		close(c.done)
	}()
	return c, nil
}

func (c *child) running() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// wait waits for the child to exit; false if it still runs after timeout.
func (c *child) wait(timeout time.Duration) bool {
	select {
	case <-c.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// kill SIGKILLs the child's process group and waits for it to exit.
func (c *child) kill() error {
	if !c.running() {
		return nil
	}
	if err := syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s: %w", c.name, err)
	}
	if !c.wait(killTimeout) {
		return fmt.Errorf("%s (pid %d) still runs %v after SIGKILL", c.name, c.cmd.Process.Pid, killTimeout)
	}
	return nil
}

// tail returns the last lines of a file, for error messages about a
// process that failed.
func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
