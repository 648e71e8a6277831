package rehearsal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// qmpReadyTimeout bounds how long StartVM waits for qemu's QMP socket,
	// which appears once qemu has opened its disks and tap.
	qmpReadyTimeout = 30 * time.Second
	// powerOffTimeout bounds how long PowerOff waits for qemu to exit after
	// "quit" before it kills it.
	powerOffTimeout = 30 * time.Second
	// consoleTailLines is how much of the serial console errors quote.
	consoleTailLines = 25
	// maxUnixPath is the longest path a unix socket can bind (sun_path).
	maxUnixPath = 107
)

// vmNamePattern is a host name label: the VM's name is its hostname.
var vmNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// VMConfig describes one machine, as a droplet's settings do.
type VMConfig struct {
	// Name is the machine's name, e.g. "origin" or "ams3-1": its hostname
	// (NoCloud local-hostname) and the seed of its MAC address. Required;
	// a host name label, unique among the network's VMs.
	Name string
	// CPUs and MemoryMiB size the VM. Optional: default 1 and 1024.
	CPUs, MemoryMiB int
	// Kernel and Initrd are booted directly (no boot loader). Required.
	Kernel, Initrd string
	// BaseImage is a raw ext4 image without a partition table, mounted as
	// root=/dev/vda. It is never written: the VM writes to a qcow2 overlay
	// in the network's WorkDir. Required.
	BaseImage string
	// Address is the VM's address and prefix on br0, e.g. 198.18.0.10/24.
	// Required.
	Address netip.Prefix
	// Gateway is the VM's default gateway, normally the namespace's address
	// in the VMs' subnet (198.18.0.1), through which the VM reaches the
	// namespace's /32 client addresses. Optional: no default route.
	Gateway netip.Addr
	// DNS is the VM's name server, normally ServeDNS's address. Optional.
	DNS netip.Addr
	// UserData is the cloud-init user data, byte for byte as the droplet
	// gets it. Optional (empty: cloud-init runs with none).
	UserData string
	// InstanceID is NoCloud's instance-id, on DigitalOcean the droplet's
	// ID. cloud-init runs its once-per-instance work again only when it
	// changes. Required.
	InstanceID string
	// SSHAuthorizedKeys are the public keys cloud-init installs for root,
	// as DigitalOcean passes the droplet's SSH keys. Optional; VM.SSH needs
	// the public half of NetworkConfig.SSHKey here.
	SSHAuthorizedKeys []string
	// TrustedCAs are PEM CA certificates the machine trusts besides
	// Debian's, given as NoCloud vendor-data (cloud-init's ca_certs), the
	// channel a cloud uses for its own settings: a rehearsal's stand-ins for
	// public services (the Spaces bucket) have certificates no public CA
	// signed. Optional.
	TrustedCAs []string
	// Accel is "kvm" or "tcg". Optional: default Accel(Kernel, Initrd, "")
	// (a probe boot, cached in memory only); pass Accel's answer with a
	// cache directory to skip the probe across runs.
	Accel string
}

// VM is one QEMU virtual machine on the network's bridge.
type VM struct {
	// Name is VMConfig.Name.
	Name string
	// Address is the VM's address on br0.
	Address netip.Addr
	// MAC is the virtual NIC's address, derived from Name.
	MAC string
	// Tap is the tap device, inside the namespace, that the NIC uses.
	Tap string

	net     *Network
	cfg     VMConfig
	args    []string
	overlay string
	seedISO string
	seedDir string
	console string
	qemuLog string
	qmpPath string

	mu        sync.Mutex
	proc      *child
	destroyed bool
}

// StartVM creates the VM's tap (joined to br0), its qcow2 overlay over the
// base image and its NoCloud seed, and boots it in the background. It
// returns once qemu runs (its QMP socket answers), long before the guest
// has booted: use WaitCloudInit or poll SSH. ctx bounds the start only, not
// the VM's life, which ends with PowerOff, Destroy or the network's Close.
func (n *Network) StartVM(ctx context.Context, cfg VMConfig) (*VM, error) {
	cfg, err := n.checkVMConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("vm %q: %w", cfg.Name, err)
	}
	if cfg.Accel == "" {
		if cfg.Accel, err = Accel(cfg.Kernel, cfg.Initrd, ""); err != nil {
			return nil, fmt.Errorf("vm %q: %w", cfg.Name, err)
		}
	}
	v := &VM{
		Name:    cfg.Name,
		Address: cfg.Address.Addr(),
		MAC:     stableMAC("52", cfg.Name),
		net:     n,
		cfg:     cfg,
		overlay: filepath.Join(n.workDir, cfg.Name+".qcow2"),
		seedISO: filepath.Join(n.workDir, cfg.Name+"-seed.iso"),
		seedDir: filepath.Join(n.workDir, cfg.Name+"-seed"),
		console: filepath.Join(n.logDir, cfg.Name+".console.log"),
		qemuLog: filepath.Join(n.logDir, cfg.Name+".qemu.log"),
		qmpPath: filepath.Join(n.workDir, cfg.Name+".qmp"),
	}
	if len(v.qmpPath) > maxUnixPath {
		return nil, fmt.Errorf("vm %q: QMP socket path %s is longer than %d bytes: use a shorter WorkDir", cfg.Name, v.qmpPath, maxUnixPath)
	}

	// Register first, so that Close kills the VM even while it starts.
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, fmt.Errorf("vm %q: %w", cfg.Name, errClosed)
	}
	for _, other := range n.vms {
		switch {
		case other.Name == v.Name:
			n.mu.Unlock()
			return nil, fmt.Errorf("vm %q: a VM with this name exists", cfg.Name)
		case other.MAC == v.MAC:
			n.mu.Unlock()
			return nil, fmt.Errorf("vm %q: its MAC %s collides with vm %q's: rename one", cfg.Name, v.MAC, other.Name)
		case other.Address == v.Address:
			n.mu.Unlock()
			return nil, fmt.Errorf("vm %q: address %v is vm %q's", cfg.Name, v.Address, other.Name)
		}
	}
	v.Tap = fmt.Sprintf("tap%d", n.nextTap)
	n.nextTap++
	n.vms = append(n.vms, v)
	n.mu.Unlock()

	if err := v.create(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("vm %q: %w", cfg.Name, err), v.Destroy())
	}
	return v, nil
}

// checkVMConfig validates cfg and fills in defaults and absolute paths.
func (n *Network) checkVMConfig(cfg VMConfig) (VMConfig, error) {
	if !vmNamePattern.MatchString(cfg.Name) {
		return cfg, errors.New("config: Name: want a host name label (lower-case letters, digits, '-')")
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 1
	}
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = 1024
	}
	if cfg.CPUs < 0 || cfg.MemoryMiB < 128 {
		return cfg, fmt.Errorf("config: CPUs %d, MemoryMiB %d: want at least 1 CPU and 128 MiB", cfg.CPUs, cfg.MemoryMiB)
	}
	for _, f := range []struct {
		name string
		path *string
	}{{"Kernel", &cfg.Kernel}, {"Initrd", &cfg.Initrd}, {"BaseImage", &cfg.BaseImage}} {
		if *f.path == "" {
			return cfg, fmt.Errorf("config: %s is required", f.name)
		}
		abs, err := filepath.Abs(*f.path)
		if err != nil {
			return cfg, fmt.Errorf("config: %s: %w", f.name, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return cfg, fmt.Errorf("config: %s: %w", f.name, err)
		}
		*f.path = abs
	}
	if !cfg.Address.IsValid() || cfg.Address.Addr().Zone() != "" {
		return cfg, fmt.Errorf("config: Address %v: want an address with its prefix length, e.g. 198.18.0.10/24", cfg.Address)
	}
	if n.hasAddress(cfg.Address.Addr()) {
		return cfg, fmt.Errorf("config: Address %v is the namespace's own", cfg.Address)
	}
	if cfg.Gateway.IsValid() && !cfg.Address.Masked().Contains(cfg.Gateway) {
		return cfg, fmt.Errorf("config: Gateway %v is outside the VM's subnet %v", cfg.Gateway, cfg.Address.Masked())
	}
	if cfg.InstanceID == "" {
		return cfg, errors.New("config: InstanceID is required (cloud-init's instance-id; on DigitalOcean the droplet ID)")
	}
	for i, k := range cfg.SSHAuthorizedKeys {
		if strings.ContainsAny(k, "\n\r") || strings.TrimSpace(k) == "" {
			return cfg, fmt.Errorf("config: SSHAuthorizedKeys[%d]: want one public key on one line", i)
		}
	}
	if cfg.Accel != "" && cfg.Accel != "kvm" && cfg.Accel != "tcg" {
		return cfg, fmt.Errorf("config: Accel %q: want kvm, tcg or empty", cfg.Accel)
	}
	return cfg, nil
}

// create makes the tap, overlay and seed, then starts qemu.
func (v *VM) create(ctx context.Context) error {
	ns := v.net.Name
	for _, s := range [][]string{
		{"ip", "-n", ns, "tuntap", "add", "dev", v.Tap, "mode", "tap"},
		{"ip", "-n", ns, "link", "set", v.Tap, "master", bridgeName},
		{"ip", "-n", ns, "link", "set", v.Tap, "up"},
		{"qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", v.cfg.BaseImage, v.overlay},
	} {
		if err := run(ctx, s[0], s[1:]...); err != nil {
			return err
		}
	}
	s, err := renderSeed(v.cfg, v.MAC)
	if err != nil {
		return err
	}
	if err := s.writeISO(ctx, v.seedDir, v.seedISO); err != nil {
		return err
	}
	v.args = v.qemuArgs()
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.start(ctx)
}

// qemuArgs is qemu's command line. Devices have fixed PCI addresses so that
// the overlay is always /dev/vda and the seed /dev/vdb.
func (v *VM) qemuArgs() []string {
	cpu := "max"
	accel := "tcg,thread=multi"
	if v.cfg.Accel == "kvm" {
		cpu, accel = "host", "kvm"
	}
	return []string{
		"-name", v.Name,
		"-machine", "q35",
		"-accel", accel,
		"-cpu", cpu,
		"-smp", strconv.Itoa(v.cfg.CPUs),
		"-m", strconv.Itoa(v.cfg.MemoryMiB),
		"-nodefaults", "-no-user-config", "-display", "none",
		// Appended, so a power cycle keeps the earlier boots' lines.
		"-chardev", "file,id=console,path=" + qemuOptValue(v.console) + ",append=on",
		"-serial", "chardev:console",
		"-qmp", "unix:" + qemuOptValue(v.qmpPath) + ",server=on,wait=off",
		"-drive", "if=none,id=root,format=qcow2,file=" + qemuOptValue(v.overlay),
		"-device", "virtio-blk-pci,drive=root,addr=0x4",
		"-drive", "if=none,id=seed,format=raw,readonly=on,file=" + qemuOptValue(v.seedISO),
		"-device", "virtio-blk-pci,drive=seed,addr=0x5",
		"-netdev", "tap,id=net0,ifname=" + v.Tap + ",script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=net0,mac=" + v.MAC + ",addr=0x3",
		"-device", "virtio-rng-pci,addr=0x6",
		"-kernel", v.cfg.Kernel,
		"-initrd", v.cfg.Initrd,
		"-append", "root=/dev/vda console=ttyS0 ds=nocloud",
	}
}

// qemuOptValue escapes a value inside qemu's comma-separated options.
func qemuOptValue(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// start runs qemu inside the namespace and waits until its QMP socket
// answers. v.mu must be held.
func (v *VM) start(ctx context.Context) error {
	if err := os.Remove(v.qmpPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale QMP socket: %w", err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", v.net.Name, "qemu-system-x86_64"}, v.args...)...)
	p, err := v.net.startChild("qemu", cmd, v.qemuLog)
	if err != nil {
		return fmt.Errorf("start qemu: %w", err)
	}
	v.proc = p
	deadline := time.Now().Add(qmpReadyTimeout)
	for {
		_, err := v.qmp("query-status")
		if err == nil {
			return nil
		}
		if !p.running() {
			return fmt.Errorf("qemu exited (%v): %s", p.err, tail(v.qemuLog, 10))
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("qemu's QMP socket does not answer: %w: %s", err, tail(v.qemuLog, 10)), p.kill())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// qmp runs one QMP command on a fresh connection (QEMU serves one client
// at a time; callers hold v.mu) and returns its "return" value.
func (v *VM) qmp(command string) (json.RawMessage, error) {
	conn, err := net.DialTimeout("unix", v.qmpPath, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(15 * time.Second)); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(conn)
	var greeting struct {
		QMP json.RawMessage `json:"QMP"`
	}
	if err := dec.Decode(&greeting); err != nil || greeting.QMP == nil {
		return nil, fmt.Errorf("read QMP greeting: %v", err)
	}
	reply := func(cmd string) (json.RawMessage, error) {
		if _, err := fmt.Fprintf(conn, `{"execute":%q}`+"\n", cmd); err != nil {
			return nil, err
		}
		for {
			var msg struct {
				Return json.RawMessage `json:"return"`
				Error  *struct {
					Class, Desc string
				} `json:"error"`
			}
			if err := dec.Decode(&msg); err != nil {
				return nil, err
			}
			if msg.Error != nil {
				return nil, fmt.Errorf("qmp %s: %s: %s", cmd, msg.Error.Class, msg.Error.Desc)
			}
			if msg.Return != nil {
				return msg.Return, nil
			}
			// An asynchronous event: keep reading.
		}
	}
	if _, err := reply("qmp_capabilities"); err != nil {
		return nil, err
	}
	ret, err := reply(command)
	if command == "quit" && errors.Is(err, io.EOF) {
		return nil, nil // qemu may close before it answers
	}
	return ret, err
}

// ConsoleLog is the path of the VM's serial console log (kernel, systemd
// and cloud-init output of every boot, appended).
func (v *VM) ConsoleLog() string { return v.console }

// ConsoleTail returns the last lines of the serial console, for error
// messages.
func (v *VM) ConsoleTail(lines int) string { return tail(v.console, lines) }

// PowerOff cuts the VM's power (QMP "quit": no shutdown inside the guest,
// like a droplet's "power_off" action) and waits for qemu to exit. The
// overlay and seed stay until Destroy or Close. Powering off a stopped VM
// does nothing. Like a real power cut it loses what the guest had not
// written back: files written in the last ~30 s may come back empty (ext4
// delayed allocation). Run `sync` over SSH first unless that is what is
// tested.
func (v *VM) PowerOff() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	p := v.proc
	if p == nil || !p.running() {
		return nil
	}
	if _, err := v.qmp("quit"); err != nil && p.running() {
		return errors.Join(fmt.Errorf("vm %q: power off: %w", v.Name, err), p.kill())
	}
	if !p.wait(powerOffTimeout) {
		if err := p.kill(); err != nil {
			return fmt.Errorf("vm %q: power off: %w", v.Name, err)
		}
	}
	return nil
}

// Reset is a hard reboot (QMP "system_reset"), disk kept, like a droplet's
// "power_cycle" action; see PowerOff about unwritten data.
func (v *VM) Reset() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.proc == nil || !v.proc.running() {
		return fmt.Errorf("vm %q: reset: not running", v.Name)
	}
	if _, err := v.qmp("system_reset"); err != nil {
		return fmt.Errorf("vm %q: reset: %w", v.Name, err)
	}
	return nil
}

// Running reports whether qemu runs. A guest that shuts itself down (e.g.
// `poweroff`) stops qemu too; a guest reboot does not.
func (v *VM) Running() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.proc != nil && v.proc.running()
}

// Destroy powers the VM off and deletes its tap, overlay and seed, like
// deleting a droplet; its name, address and MAC are free again. Logs stay.
func (v *VM) Destroy() error {
	var errs []error
	if err := v.kill(); err != nil {
		errs = append(errs, err)
	}
	v.mu.Lock()
	v.destroyed = true
	v.mu.Unlock()
	n := v.net
	if _, err := os.Stat(n.nsPath); err == nil && v.Tap != "" {
		if out, err := exec.Command("ip", "-n", n.Name, "link", "del", v.Tap).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
			errs = append(errs, fmt.Errorf("delete tap %s: %w: %s", v.Tap, err, strings.TrimSpace(string(out))))
		}
	}
	for _, p := range []string{v.overlay, v.seedISO, v.seedDir, v.qmpPath} {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	n.mu.Lock()
	n.vms = slices.DeleteFunc(n.vms, func(o *VM) bool { return o == v })
	n.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("vm %q: destroy: %w", v.Name, err)
	}
	return nil
}

// kill stops qemu at once, for Close and Destroy.
func (v *VM) kill() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.proc == nil {
		return nil
	}
	if err := v.proc.kill(); err != nil {
		return fmt.Errorf("vm %q: %w", v.Name, err)
	}
	return nil
}

// SSHError is VM.SSH's error when ssh ran: either it could not connect or
// log in, or the command exited non-zero.
type SSHError struct {
	VM       string
	Command  string
	ExitCode int    // the command's, or 255 for ssh's own failures
	Stderr   string // trimmed
	Err      error
}

func (e *SSHError) Error() string {
	return fmt.Sprintf("vm %q: ssh %q: %v: %s", e.VM, e.Command, e.Err, e.Stderr)
}

func (e *SSHError) Unwrap() error { return e.Err }

// Connection reports whether ssh itself failed (no connection, timeout,
// authentication) rather than the remote command: ssh exits 255 then.
func (e *SSHError) Connection() bool { return e.ExitCode == 255 }

// sshConnectTimeout is short: a firewall drop shows as this timeout.
const sshConnectTimeout = 5 * time.Second

// SSH runs command on the VM as root, from source address from (any
// address of the namespace if from is the zero Addr), with
// NetworkConfig.SSHKey, and returns its standard output. Host keys are not
// checked: every boot of a new instance makes new ones. A connection that
// the firewall drops fails after 5 s with a timeout.
func (v *VM) SSH(ctx context.Context, from netip.Addr, command string) (string, error) {
	key := v.net.cfg.SSHKey
	if key == "" {
		return "", fmt.Errorf("vm %q: ssh: NetworkConfig.SSHKey is empty", v.Name)
	}
	args := []string{
		"-F", "/dev/null",
		"-i", key,
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null",
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR",
		"-o", "ConnectTimeout=" + strconv.Itoa(int(sshConnectTimeout.Seconds())),
		"-o", "ServerAliveInterval=5",
		"-o", "ServerAliveCountMax=3",
	}
	if from.IsValid() {
		args = append(args, "-b", from.String())
	}
	args = append(args, "root@"+v.Address.String(), "--", command)
	cmd := v.net.Command(ctx, "ssh", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		return stdout.String(), &SSHError{VM: v.Name, Command: command, ExitCode: code, Stderr: strings.TrimSpace(stderr.String()), Err: err}
	}
	return stdout.String(), nil
}

// cloudInitProbe exits 100 until cloud-init's final stage has finished in
// the current boot, then prints its status. `cloud-init status` alone says
// "error" while later stages still run, so the probe waits for
// boot-finished; that file survives reboots, so it also waits for
// /run/cloud-init/result.json, which the final stage writes on tmpfs.
const cloudInitProbe = `if test -f /var/lib/cloud/instance/boot-finished && test -f /run/cloud-init/result.json; then cloud-init status --long; else exit 100; fi`

// WaitCloudInit waits until cloud-init has finished on the VM (polling
// over SSH from from) and returns `cloud-init status --long`. It fails if
// cloud-init reports errors, if the VM stops, or when ctx ends; errors
// quote the console's last lines. Under TCG, a first boot takes about two
// minutes.
func (v *VM) WaitCloudInit(ctx context.Context, from netip.Addr) (string, error) {
	var last error
	for {
		if !v.Running() {
			return "", fmt.Errorf("vm %q: stopped while waiting for cloud-init; console:\n%s", v.Name, v.ConsoleTail(consoleTailLines))
		}
		attempt, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := v.SSH(attempt, from, cloudInitProbe)
		// An attempt cut short (a loaded host can take longer than the
		// attempt's bound) says nothing about cloud-init: try again.
		cut := attempt.Err() != nil
		cancel()
		if err == nil {
			return out, nil
		}
		var se *SSHError
		if errors.As(err, &se) && !se.Connection() && se.ExitCode != 100 && !cut && ctx.Err() == nil {
			return out, fmt.Errorf("vm %q: cloud-init finished with errors: %s", v.Name, strings.TrimSpace(out))
		}
		last = err
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("vm %q: cloud-init not finished: %w (last attempt: %v); console:\n%s", v.Name, ctx.Err(), last, v.ConsoleTail(consoleTailLines))
		case <-time.After(2 * time.Second):
		}
	}
}
