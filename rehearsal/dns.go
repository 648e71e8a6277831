package rehearsal

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// dnsReadyTimeout bounds how long ServeDNS waits for dnsmasq's first answer.
const dnsReadyTimeout = 15 * time.Second

// dnsNamePattern accepts plain host names; dnsmasq's host-record has no
// wildcards, so "*.example.com" is refused rather than silently ignored.
var dnsNamePattern = regexp.MustCompile(`^([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

// DNSRecord is one name and all its addresses, like the set of Cloudflare
// records (A and AAAA) that share a name.
type DNSRecord struct {
	// Name is a host name without the trailing dot, e.g. "live.example.com".
	// Required; no wildcards.
	Name string
	// Addrs are returned together in every answer (A for IPv4, AAAA for
	// IPv6), so clients choose among them as they do with several records
	// of one name. Required.
	Addrs []netip.Addr
}

// ServeDNS runs an authoritative-only DNS server (dnsmasq) on listen:53
// inside the namespace, answering exactly records; every other name gets
// NXDOMAIN at once, since there is no upstream to wait for. Answers have TTL
// 0, so a changed record takes effect at the next lookup. Calling it again
// replaces the records (dnsmasq restarts, a gap of a few milliseconds).
// It points the namespace's resolv.conf (for Command) and Resolver at the
// server, and returns once the server answers for the first record's name.
// listen must be one of NetworkConfig.Addresses.
func (n *Network) ServeDNS(listen netip.Addr, records []DNSRecord) error {
	if err := n.serveDNS(listen, records); err != nil {
		return fmt.Errorf("rehearsal %s: serve DNS: %w", n.Name, err)
	}
	return nil
}

func (n *Network) serveDNS(listen netip.Addr, records []DNSRecord) error {
	if !n.hasAddress(listen) {
		return fmt.Errorf("listen address %v is not one of the namespace's addresses", listen)
	}
	args, err := dnsmasqArgs(listen, records)
	if err != nil {
		return err
	}

	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return errClosed
	}
	old := n.dns
	n.dns = nil
	n.dnsAddr = listen
	n.mu.Unlock()
	if old != nil {
		if err := old.kill(); err != nil {
			return fmt.Errorf("stop the previous dnsmasq: %w", err)
		}
	}

	logPath := filepath.Join(n.logDir, "dnsmasq.log")
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.Name, "dnsmasq"}, args...)...)
	c, err := n.startChild("dnsmasq", cmd, logPath)
	if err != nil {
		return err
	}
	n.mu.Lock()
	closed := n.closed
	if !closed {
		n.dns = c
	}
	n.mu.Unlock()
	if closed {
		return errors.Join(errClosed, c.kill())
	}

	// In place, not by rename: processes started by Command have the file
	// bind-mounted, and a new inode would not reach them.
	if err := os.WriteFile(n.resolvConf(), []byte("nameserver "+listen.String()+"\n"), 0o644); err != nil {
		return fmt.Errorf("write resolv.conf: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), dnsReadyTimeout)
	defer cancel()
	r := n.Resolver()
	for {
		attempt, stop := context.WithTimeout(ctx, time.Second)
		_, err := r.LookupNetIP(attempt, "ip", records[0].Name)
		stop()
		if err == nil {
			return nil
		}
		if !c.running() {
			return fmt.Errorf("dnsmasq exited (%v): %s", c.err, tail(logPath, 10))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dnsmasq does not answer for %s after %v: %w; log: %s", records[0].Name, dnsReadyTimeout, err, tail(logPath, 10))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dnsmasqArgs is dnsmasq's command line: foreground, nothing read from the
// host (no resolv.conf, no /etc/hosts, no config file), bound to the one
// address, every name outside the records local and therefore NXDOMAIN,
// every query logged (dnsmasq.log shows which machine asked for what).
func dnsmasqArgs(listen netip.Addr, records []DNSRecord) ([]string, error) {
	if len(records) == 0 {
		return nil, errors.New("no records: give at least one (ServeDNS waits until the first one resolves)")
	}
	args := []string{
		"--keep-in-foreground",
		"--no-resolv",
		"--no-hosts",
		"--conf-file=/dev/null",
		"--pid-file=",
		// Root, because dropping privileges would clear the parent-death
		// signal, and a dnsmasq whose harness was killed would linger until
		// the next run's CleanupStale. It serves a private namespace only.
		"--user=root",
		"--bind-interfaces",
		"--listen-address=" + listen.String(),
		"--port=53",
		"--local=/#/",
		"--log-facility=-",
		"--log-queries",
	}
	seen := map[string]bool{}
	for i, r := range records {
		name := strings.ToLower(strings.TrimSuffix(r.Name, "."))
		if !dnsNamePattern.MatchString(name) || len(name) > 253 {
			return nil, fmt.Errorf("record %d: %q is not a host name", i, r.Name)
		}
		if seen[name] {
			return nil, fmt.Errorf("record %d: %q appears twice: give all its addresses in one record", i, r.Name)
		}
		seen[name] = true
		if len(r.Addrs) == 0 {
			return nil, fmt.Errorf("record %d (%s): no addresses", i, r.Name)
		}
		for _, a := range r.Addrs {
			if !a.IsValid() || a.Zone() != "" {
				return nil, fmt.Errorf("record %d (%s): invalid address %v", i, r.Name, a)
			}
			args = append(args, "--host-record="+name+","+a.Unmap().String())
		}
	}
	return args, nil
}

// DNSServer returns the address ServeDNS listens on, or the zero Addr
// before ServeDNS.
func (n *Network) DNSServer() netip.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dnsAddr
}

// hasAddress reports whether a is on br0 (one of NetworkConfig.Addresses).
func (n *Network) hasAddress(a netip.Addr) bool {
	for _, p := range n.cfg.Addresses {
		if p.Addr() == a {
			return true
		}
	}
	return false
}
