package rehearsal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/internal/fakebucket"
	"github.com/livecdn/livecdn/internal/throwaway"
	"github.com/livecdn/livecdn/nginx"
	"github.com/livecdn/livecdn/rehearsal/image"
)

// Options shape a rehearsal.
type Options struct {
	// Stack names the stack; the namespace's name starts with it. Required.
	Stack string
	// Settings are the stack's settings (config.LoadStackFile). Required.
	Settings *config.Settings
	// StreamKey is the publish key the machines are rendered with. Optional;
	// default random (a stack file holds the real one encrypted).
	StreamKey string
	// Certificate and CertificateKey are the PEM certificate chain and key
	// the machines serve on a stack with a domain. Optional; default a
	// certificate for DOMAIN and *.DOMAIN from a CA made for this rehearsal
	// (Info.CAFile), since a stack file holds the real one encrypted.
	Certificate, CertificateKey string
	// TrustedCA is the PEM CA the ready checks trust besides the system's,
	// for a Certificate that no public CA signed. Optional. (The
	// rehearsal's own CA, which signs a default Certificate and the Spaces
	// endpoint's, is trusted anyway, by the checks and the VMs.)
	TrustedCA string
	// MaxEdgesPerRegion boots only the first N edges of each region, to keep
	// a rehearsal of a large stack affordable. Optional; 0 boots every edge.
	MaxEdgesPerRegion int
	// CacheDir holds the image cache (the repository's .cache). Required.
	CacheDir string
	// LogDir keeps the VMs' consoles and the services' logs after Close.
	// Optional; default: removed with the rest.
	LogDir string
	// Log receives progress lines. Optional.
	Log io.Writer
	// BootTimeout bounds the wait for every machine to finish cloud-init.
	// Optional; default 20 minutes (three VMs take about 6 under emulation
	// on two cores).
	BootTimeout time.Duration
	// MemoryMiB and CPUs size each VM. Optional; default 1024 and 1.
	MemoryMiB, CPUs int
}

// Info is what a running rehearsal prints: where to publish from, where to
// watch, and every machine.
type Info struct {
	Netns          string `json:"netns"`
	EncoderAddress string `json:"encoderAddress"`
	AdminAddress   string `json:"adminAddress"`
	ViewerAddress  string `json:"viewerAddress"`
	Ingest         string `json:"ingest"`
	IngestRTMPS    string `json:"ingestRtmps,omitempty"`
	// CAFile holds the CA the machines' certificate chains to when it is not
	// a public one (curl --cacert, ffmpeg -ca_file); empty otherwise.
	CAFile    string        `json:"caFile,omitempty"`
	Stream    string        `json:"stream"`
	StreamKey string        `json:"streamKey"`
	Domain    string        `json:"domain"`
	Accel     string        `json:"accel"`
	Machines  []MachineInfo `json:"machines"`
	// Recordings is the stand-in for the stack's Spaces bucket, for a
	// stack with livecdn:recordings.
	Recordings *fakebucket.Info `json:"recordings,omitempty"`
}

// MachineInfo is one booted machine.
type MachineInfo struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	Region  string `json:"region,omitempty"`
	Address string `json:"address"`
	HLS     string `json:"hls,omitempty"`
	Player  string `json:"player,omitempty"`
	Health  string `json:"health,omitempty"`
	// BootSeconds is from starting the VM to cloud-init done.
	BootSeconds float64 `json:"bootSeconds"`
	// ServingSeconds is from starting the VM to serving livecdn's config,
	// as the ready check `pulumi up` runs decides it: an edge answers its
	// /healthz with its own header, an origin's stat page shows the ingest
	// application.
	ServingSeconds float64 `json:"servingSeconds"`
}

// Rehearsal is a running stack of VMs. Close stops it.
type Rehearsal struct {
	opts    Options
	net     *Network
	vms     map[string]*VM
	files   map[string]blueprint.Files
	clients clients
	sshKey  string
	caFile  string
	spaces  *spaces
	info    Info
}

// clients are the addresses the namespace's processes act from.
type clients struct {
	encoder, admin, viewer netip.Addr
}

// machineNet is where the VMs live: a range no stack's ingest or admin
// networks should hold (RFC 2544's benchmarking range).
var machineNets = []netip.Prefix{
	netip.MustParsePrefix("198.18.0.0/24"),
	netip.MustParsePrefix("100.64.0.0/24"),
	netip.MustParsePrefix("10.99.0.0/24"),
}

// viewerCandidates are addresses a viewer may have: the first outside the
// stack's ingest and admin networks is taken.
var viewerCandidates = []netip.Addr{
	netip.MustParseAddr("192.0.2.77"),
	netip.MustParseAddr("198.51.100.177"),
	netip.MustParseAddr("203.0.113.177"),
	netip.MustParseAddr("100.127.0.77"),
}

// Start boots the stack's origin and edges from their exact user data and
// returns once cloud-init has finished without error on every machine and
// each runs livecdn's nginx config. On error everything is torn down.
func Start(ctx context.Context, opts Options) (_ *Rehearsal, err error) {
	if err := opts.withDefaults(); err != nil {
		return nil, err
	}
	// The rehearsal's CA stands in for the public ones: it signs what a
	// stack file cannot give (its certificate, held encrypted there) and
	// what public services would serve (the Spaces endpoint).
	ca, err := opts.standInCA()
	if err != nil {
		return nil, err
	}
	st, err := blueprint.New(opts.Settings)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", opts.Stack, err)
	}
	if st.Origin.BYO {
		return nil, fmt.Errorf("stack %s: its origin is the team's own server (livecdn:origin.byo), which a rehearsal cannot boot; rehearse a copy of the stack with origin.region and origin.size", opts.Stack)
	}
	edges := limitEdges(st.Edges, opts.MaxEdgesPerRegion)
	machines := append([]blueprint.Machine{st.Origin}, edges...)

	// r, not the result, is what the deferred clean-ups close: an error
	// return sets the result to nil.
	r := &Rehearsal{opts: opts, vms: map[string]*VM{}, files: map[string]blueprint.Files{}}
	subnet, err := machineNet(opts.Settings)
	if err != nil {
		return nil, err
	}
	gateway := subnet.Addr().Next()
	addrs := map[string]netip.Addr{}
	next := gateway.Next()
	for _, m := range machines {
		next = next.Next()
		addrs[m.Name] = next
	}
	if r.clients, err = clientAddresses(opts.Settings, subnet); err != nil {
		return nil, err
	}

	// Render every machine as the cloud would: the origin's reserved IP is
	// the origin VM's address; the Spaces key is the stand-in bucket's.
	cloud := blueprint.Cloud{
		OriginAddress: addrs[st.Origin.Name], StreamKey: opts.StreamKey,
		Certificate: opts.Certificate, CertificateKey: opts.CertificateKey,
	}
	if rec := opts.Settings.Recordings; rec != nil {
		if r.spaces, err = newSpaces(rec, addrs[st.Origin.Name]); err != nil {
			return nil, err
		}
		cloud.SpacesAccessKey, cloud.SpacesSecretKey = r.spaces.info.AccessKey, r.spaces.info.SecretKey
	}
	var packages []string
	for _, m := range machines {
		f, err := m.Render(cloud)
		if err != nil {
			return nil, err
		}
		r.files[m.Name] = f
		p, err := userDataPackages(f.UserData)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name, err)
		}
		packages = append(packages, p...)
	}

	// Ensure checks the build tools itself, and only when it must build.
	img, err := image.Ensure(ctx, opts.CacheDir, image.Spec{Packages: packages}, opts.Log)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	accel, err := Accel(img.Kernel, img.Initrd, filepath.Join(opts.CacheDir, "rehearsal"))
	if err != nil {
		return nil, fmt.Errorf("accelerator: %w", err)
	}
	r.logf("booting %d machines under %s from image %s", len(machines), accel, img.Key[:12])

	// The machines' root key, kept with the image: it opens only VMs in
	// namespaces of this machine, and a killed run leaves no key behind.
	keyDir := filepath.Join(opts.CacheDir, "rehearsal", "ssh")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return nil, err
	}
	pub, priv, err := GenerateSSHKey(keyDir)
	if err != nil {
		return nil, err
	}
	r.sshKey = priv

	hostAddrs := []netip.Prefix{netip.PrefixFrom(gateway, subnet.Bits()), netip.PrefixFrom(metadataAddress, 32)}
	for _, a := range []netip.Addr{r.clients.encoder, r.clients.admin, r.clients.viewer} {
		if p := netip.PrefixFrom(a, 32); !slices.Contains(hostAddrs, p) {
			hostAddrs = append(hostAddrs, p)
		}
	}
	r.net, err = NewNetwork(ctx, NetworkConfig{
		Prefix:    "lcdn-" + namespaceLabel(opts.Stack),
		Addresses: hostAddrs,
		LogDir:    opts.LogDir,
		SSHKey:    priv,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.Close())
		}
	}()
	// Processes in the namespace reach the origin as the encoder and the
	// edges as a viewer without binding an address (ffmpeg and browsers
	// cannot): the routes name the source. The operator binds adminAddress.
	if err := r.sourceRoutes(ctx, subnet, addrs[st.Origin.Name]); err != nil {
		return nil, err
	}

	var vmCAs []string
	if trusted := opts.TrustedCA; trusted != "" || ca != nil {
		if ca != nil {
			trusted += ca.PEM()
			vmCAs = []string{ca.PEM()}
		}
		r.caFile = filepath.Join(r.net.WorkDir(), "ca.pem")
		if err := os.WriteFile(r.caFile, []byte(trusted), 0o644); err != nil {
			return nil, err
		}
	}
	records := dnsRecords(st.Records, addrs, gateway)
	if r.spaces != nil {
		if err := r.serveSpaces(gateway, ca); err != nil {
			return nil, err
		}
		records = append(records, r.spaces.records(gateway)...)
	}
	if err := r.serveRepo(gateway, img.Repo); err != nil {
		return nil, err
	}
	if err := r.serveMetadata(addrs); err != nil {
		return nil, err
	}
	if err := r.net.ServeDNS(gateway, records); err != nil {
		return nil, err
	}
	guarded, rules := firewallRules(machines, addrs)
	if err := r.net.SetFirewall(guarded, rules); err != nil {
		return nil, err
	}

	started := map[string]time.Time{}
	for _, m := range machines {
		vm, err := r.net.StartVM(ctx, VMConfig{
			Name: m.Name, CPUs: opts.CPUs, MemoryMiB: opts.MemoryMiB,
			Kernel: img.Kernel, Initrd: img.Initrd, BaseImage: img.RootFS,
			Address: netip.PrefixFrom(addrs[m.Name], subnet.Bits()),
			Gateway: gateway, DNS: gateway,
			UserData:          r.files[m.Name].UserData,
			InstanceID:        instanceID(m.Name, r.files[m.Name].UserData),
			SSHAuthorizedKeys: []string{pub},
			TrustedCAs:        vmCAs,
			Accel:             accel,
		})
		if err != nil {
			return nil, err
		}
		r.vms[m.Name] = vm
		started[m.Name] = time.Now()
	}

	bootCtx, cancel := context.WithTimeout(ctx, opts.BootTimeout)
	defer cancel()
	booted := make([]MachineInfo, len(machines))
	var wg sync.WaitGroup
	errs := make([]error, len(machines))
	for i, m := range machines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var boot, serving time.Duration
			boot, serving, errs[i] = r.waitReady(bootCtx, m, started[m.Name])
			booted[i] = r.machineInfo(m, boot, serving)
			if errs[i] != nil {
				r.logf("%s: %v", m.Name, errs[i])
			} else {
				r.logf("%s: cloud-init done after %.0f s, serving after %.0f s", m.Name, booted[i].BootSeconds, booted[i].ServingSeconds)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	stream := blueprint.Stream(opts.Settings.Stream)
	r.info = Info{
		Netns:          r.net.Name,
		EncoderAddress: r.clients.encoder.String(),
		AdminAddress:   r.clients.admin.String(),
		ViewerAddress:  r.clients.viewer.String(),
		Ingest:         blueprint.IngestServer(blueprint.HostOf(addrs[st.Origin.Name])),
		CAFile:         r.caFile,
		Stream:         stream.Name,
		StreamKey:      opts.StreamKey,
		Domain:         opts.Settings.Domain,
		Accel:          accel,
		Machines:       booted,
	}
	if r.spaces != nil {
		r.info.Recordings = &r.spaces.info
	}
	if st.Origin.TLSName != "" {
		r.info.IngestRTMPS = blueprint.RTMPSIngestServer(st.Origin.TLSName)
	}
	return r, nil
}

func (o *Options) withDefaults() error {
	switch {
	case o.Stack == "":
		return errors.New("rehearsal: Options.Stack is required")
	case o.Settings == nil:
		return errors.New("rehearsal: Options.Settings is required")
	case o.CacheDir == "":
		return errors.New("rehearsal: Options.CacheDir is required")
	case o.MaxEdgesPerRegion < 0:
		return fmt.Errorf("--max-edges-per-region %d: give 1 or more, or 0 for every edge", o.MaxEdgesPerRegion)
	}
	if o.StreamKey == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		o.StreamKey = hex.EncodeToString(b)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if (o.Certificate == "") != (o.CertificateKey == "") {
		return errors.New("rehearsal: give Options.Certificate and Options.CertificateKey together")
	}
	if o.BootTimeout == 0 {
		o.BootTimeout = 20 * time.Minute
	}
	if o.MemoryMiB == 0 {
		o.MemoryMiB = 1024
	}
	if o.CPUs == 0 {
		o.CPUs = 1
	}
	return nil
}

// standInCA makes the rehearsal's CA when something needs it, and from it
// the stack's certificate unless one was given; nil when nothing does.
func (o *Options) standInCA() (*throwaway.CA, error) {
	s := o.Settings
	needCert := s.HTTPS() && o.Certificate == ""
	if !needCert && s.Recordings == nil {
		return nil, nil
	}
	ca, err := throwaway.NewCA("livecdn rehearsal " + o.Stack)
	if err != nil {
		return nil, err
	}
	if needCert {
		leaf, err := ca.IssueForDomain(s.Domain, time.Now().AddDate(0, 0, 90))
		if err != nil {
			return nil, err
		}
		o.Certificate, o.CertificateKey = leaf.Chain, leaf.Key
	}
	return ca, nil
}

// Info says where everything is.
func (r *Rehearsal) Info() Info { return r.info }

// Network is the rehearsal's namespace.
func (r *Rehearsal) Network() *Network { return r.net }

// VM returns a booted machine by name, nil if there is none.
func (r *Rehearsal) VM(name string) *VM { return r.vms[name] }

// EncoderAddress, AdminAddress and ViewerAddress are where the namespace's
// processes act from.
func (r *Rehearsal) EncoderAddress() netip.Addr { return r.clients.encoder }

// AdminAddress is the operator's address, inside the stack's adminCidrs.
func (r *Rehearsal) AdminAddress() netip.Addr { return r.clients.admin }

// ViewerAddress is a viewer's address, outside ingestCidrs and adminCidrs.
func (r *Rehearsal) ViewerAddress() netip.Addr { return r.clients.viewer }

// SSHKey is the private key the machines accept for root, from
// AdminAddress (the stack's own keys name keys in the DigitalOcean team).
func (r *Rehearsal) SSHKey() string { return r.sshKey }

// Close stops every VM and process and removes the namespace.
func (r *Rehearsal) Close() error {
	if r.net == nil {
		return nil
	}
	return r.net.Close()
}

func (r *Rehearsal) logf(format string, args ...any) {
	fmt.Fprintf(r.opts.Log, "rehearse: "+format+"\n", args...)
}

func (r *Rehearsal) machineInfo(m blueprint.Machine, boot, serving time.Duration) MachineInfo {
	addr := r.vms[m.Name].Address
	mi := MachineInfo{
		Name: m.Name, Role: string(m.Role), Region: m.Region, Address: addr.String(),
		BootSeconds:    boot.Round(time.Second).Seconds(),
		ServingSeconds: serving.Round(time.Second).Seconds(),
	}
	if m.Role == blueprint.RoleEdge {
		host, sc := m.Host(addr), m.Scheme()
		mi.HLS = blueprint.PlaylistURL(sc, host, blueprint.Stream(r.opts.Settings.Stream))
		mi.Player = blueprint.PlayerURL(sc, host)
		mi.Health = blueprint.HealthURL(sc, host)
	}
	return mi
}

// waitReady waits until m serves and cloud-init has finished on it, and
// says after how long each happened, counted from started. Serving is
// decided by the ready check `pulumi up` runs before anything points at a
// new machine (blueprint.Machine.ReadyCheck), run here from the operator's
// address while the VM boots, so the check is proven against Debian's stock
// nginx of the first boot (an edge's check wants its /healthz answered with
// its own header). Then cloud-init must have finished cleanly and nginx
// must run exactly the rendered nginx.conf.
func (r *Rehearsal) waitReady(ctx context.Context, m blueprint.Machine, started time.Time) (boot, serving time.Duration, err error) {
	vm := r.vms[m.Name]
	admin := r.clients.admin
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s %s (%s): %s; its console log: %s, cloud-init's: /var/log/cloud-init-output.log on the VM", m.Role, m.Name, vm.Address,
			fmt.Sprintf(format, args...), vm.ConsoleLog())
	}
	script, err := m.ReadyCheck(vm.Address, r.vms[blueprint.OriginName].Address)
	if err != nil {
		return 0, 0, err
	}
	checked := make(chan error, 1)
	go func() {
		cmd := r.net.Command(ctx, "sh", "-c", script)
		cmd.Env = append(os.Environ(), "LIVECDN_READY_FROM="+admin.String())
		if r.caFile != "" {
			cmd.Env = append(cmd.Env, "CURL_CA_BUNDLE="+r.caFile)
		}
		out, err := cmd.CombinedOutput()
		serving = time.Since(started)
		if err != nil {
			err = fmt.Errorf("the ready check `pulumi up` runs failed: %w:\n%s", err, out)
		}
		checked <- err
	}()
	if out, err := vm.WaitCloudInit(ctx, admin); err != nil {
		return 0, 0, fail("%v\n%s", err, out)
	}
	boot = time.Since(started)
	if err := <-checked; err != nil {
		return 0, 0, fail("%v", err)
	}

	// nginx runs the rendered file; systemd may be between two states for
	// a moment, so a few tries.
	want := sha256.Sum256([]byte(r.files[m.Name].NginxConf))
	var out string
	for try := 0; ; try++ {
		out, err = vm.SSH(ctx, admin, "sha256sum /etc/nginx/nginx.conf; systemctl is-active nginx || true")
		if err == nil && strings.HasPrefix(out, hex.EncodeToString(want[:])) && strings.Contains(out, "\nactive") {
			break
		}
		if try == 5 {
			return 0, 0, fail("nginx does not run the rendered nginx.conf (%v):\n%s", err, out)
		}
		time.Sleep(2 * time.Second)
	}
	return boot, serving, nil
}

// sourceRoutes makes the encoder's address the source towards the origin
// and the viewer's towards every other machine.
func (r *Rehearsal) sourceRoutes(ctx context.Context, subnet netip.Prefix, origin netip.Addr) error {
	for _, route := range [][]string{
		{"route", "replace", subnet.String(), "dev", bridgeName, "src", r.clients.viewer.String()},
		{"route", "replace", origin.String() + "/32", "dev", bridgeName, "src", r.clients.encoder.String()},
	} {
		if out, err := r.net.Command(ctx, "ip", route...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(route, " "), err, out)
		}
	}
	return nil
}

// serveRepo serves the offline apt repository where the image looks for it.
func (r *Rehearsal) serveRepo(at netip.Addr, dir string) error {
	l, err := r.net.Listen("tcp", net.JoinHostPort(at.String(), "80"))
	if err != nil {
		return fmt.Errorf("apt repository: %w", err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	return r.net.track(srv)
}

// metadataAddress is where DigitalOcean's metadata service answers.
var metadataAddress = netip.MustParseAddr(nginx.MetadataAddress)

// MetadataUserDataPath is where DigitalOcean's metadata service serves a
// droplet its user data.
const MetadataUserDataPath = "/metadata/v1/user-data"

// serveMetadata answers like DigitalOcean's metadata service for what the
// user data's own rules are about: each VM asking it gets its user data,
// which holds a secret (cloud-init reads it from the NoCloud seed instead).
func (r *Rehearsal) serveMetadata(addrs map[string]netip.Addr) error {
	byAddr := map[netip.Addr]string{}
	for name, a := range addrs {
		byAddr[a] = r.files[name].UserData
	}
	l, err := r.net.Listen("tcp", net.JoinHostPort(metadataAddress.String(), "80"))
	if err != nil {
		return fmt.Errorf("metadata service: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+MetadataUserDataPath, func(w http.ResponseWriter, req *http.Request) {
		from, err := netip.ParseAddrPort(req.RemoteAddr)
		userData, ok := byAddr[from.Addr()]
		if err != nil || !ok {
			http.NotFound(w, req)
			return
		}
		_, _ = io.WriteString(w, userData)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	return r.net.track(srv)
}

// limitEdges keeps the first max edges of each region (all with max 0).
func limitEdges(edges []blueprint.Machine, max int) []blueprint.Machine {
	if max == 0 {
		return edges
	}
	var out []blueprint.Machine
	count := map[string]int{}
	for _, e := range edges {
		if count[e.Region] < max {
			out = append(out, e)
		}
		count[e.Region]++
	}
	return out
}

// machineNet picks the VMs' network: one that neither the stack's ingest
// nor its admin networks overlap, so the firewall tells them apart.
func machineNet(s *config.Settings) (netip.Prefix, error) {
	for _, n := range machineNets {
		if !overlapsAny(n, s.IngestCIDRs) && !overlapsAny(n, s.AdminCIDRs) {
			return n, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("livecdn:ingestCidrs and livecdn:adminCidrs cover every network a rehearsal can give its machines (%v); narrow them", machineNets)
}

// clientAddresses picks the encoder's address inside ingestCidrs, the
// operator's inside adminCidrs, and a viewer's outside both.
func clientAddresses(s *config.Settings, machines netip.Prefix) (clients, error) {
	var c clients
	var err error
	if c.encoder, err = hostIn(config.KeyIngestCIDRs, s.IngestCIDRs); err != nil {
		return c, err
	}
	if c.admin, err = hostIn(config.KeyAdminCIDRs, s.AdminCIDRs); err != nil {
		return c, err
	}
	for _, a := range viewerCandidates {
		if !containsAny(s.IngestCIDRs, a) && !containsAny(s.AdminCIDRs, a) && !machines.Contains(a) {
			c.viewer = a
			return c, nil
		}
	}
	return c, fmt.Errorf("livecdn:ingestCidrs and livecdn:adminCidrs hold every address a rehearsal can give a viewer (%v); narrow them", viewerCandidates)
}

// hostIn is the first IPv4 host address of the first IPv4 network in cidrs.
func hostIn(key string, cidrs []netip.Prefix) (netip.Addr, error) {
	for _, p := range cidrs {
		if !p.Addr().Is4() {
			continue
		}
		a := p.Masked().Addr()
		if p.Bits() < 31 {
			a = a.Next() // not the network's own address
		}
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("%s has no IPv4 network; a rehearsal needs one to place a client in", key)
}

func containsAny(ps []netip.Prefix, a netip.Addr) bool {
	return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(a) })
}

func overlapsAny(n netip.Prefix, ps []netip.Prefix) bool {
	return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Overlaps(n) })
}

// firewallRules turns every machine's cloud firewall into rules on its VM's
// address; a rule that admits a role admits the VMs of that role.
func firewallRules(machines []blueprint.Machine, addrs map[string]netip.Addr) ([]netip.Addr, []FirewallRule) {
	byRole := map[blueprint.Role][]netip.Prefix{}
	for _, m := range machines {
		byRole[m.Role] = append(byRole[m.Role], netip.PrefixFrom(addrs[m.Name], 32))
	}
	var guarded []netip.Addr
	var rules []FirewallRule
	for _, m := range machines {
		guarded = append(guarded, addrs[m.Name])
		for _, rule := range m.Inbound {
			from := slices.Clone(rule.Sources)
			for _, role := range rule.SourceRoles {
				from = append(from, byRole[role]...)
			}
			rules = append(rules, FirewallRule{To: addrs[m.Name], Protocol: rule.Protocol, Ports: rule.Ports, From: from})
		}
	}
	return guarded, rules
}

// dnsRecords are the stack's records with the VMs' addresses (IPv4 only:
// the VMs have no public IPv6), plus the name the image's apt source uses.
func dnsRecords(records []blueprint.Record, addrs map[string]netip.Addr, repo netip.Addr) []DNSRecord {
	out := []DNSRecord{{Name: image.RepoHost, Addrs: []netip.Addr{repo}}}
	index := map[string]int{}
	for _, rec := range records {
		a, ok := addrs[rec.Machine]
		if !ok {
			continue // an edge left out by MaxEdgesPerRegion
		}
		i, ok := index[rec.Host]
		if !ok {
			i = len(out)
			index[rec.Host] = i
			out = append(out, DNSRecord{Name: rec.Host})
		}
		out[i].Addrs = append(out[i].Addrs, a)
	}
	return out
}

// userDataPackages reads the packages cloud-init installs from user data.
func userDataPackages(userData string) ([]string, error) {
	var doc struct {
		Packages []string `yaml:"packages"`
	}
	if err := yaml.Unmarshal([]byte(userData), &doc); err != nil {
		return nil, fmt.Errorf("read user data: %w", err)
	}
	return doc.Packages, nil
}

// instanceID stands in for the droplet ID DigitalOcean would assign: a new
// one whenever the user data changes, as a new droplet would have.
func instanceID(name, userData string) string {
	sum := sha256.Sum256([]byte(userData))
	return "i-" + name + "-" + hex.EncodeToString(sum[:6])
}

// namespaceLabel shortens a stack name to what a namespace name may hold.
func namespaceLabel(stack string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(stack) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' {
			b.WriteRune(c)
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 16 {
		s = s[:16]
	}
	if s == "" {
		s = "stack"
	}
	return s
}
