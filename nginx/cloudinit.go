package nginx

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// ApplyScriptPath is where the user data installs the script that puts the
// written files into service. cloud-init runs it once at first boot; an
// operator re-runs it after changing one of those files by hand.
const ApplyScriptPath = "/usr/local/sbin/livecdn-apply"

// Where the user data writes on a Debian 12 droplet.
const (
	nginxConfPath    = "/etc/nginx/nginx.conf"
	nginxDropInPath  = "/etc/systemd/system/nginx.service.d/livecdn.conf"
	sysctlConfPath   = "/etc/sysctl.d/60-livecdn.conf"
	nftablesConfPath = "/etc/nftables.conf"

	edgeStatusUnitPath        = "/etc/systemd/system/" + EdgeStatusUnit
	nodeExporterDefaultsPath  = "/etc/default/prometheus-node-exporter"
	nginxExporterDefaultsPath = "/etc/default/prometheus-nginx-exporter"
)

// MetadataAddress is the cloud's metadata service, where DigitalOcean (like
// most clouds) serves a droplet its user data.
const MetadataAddress = "169.254.169.254"

const (
	// wwwDataID is www-data's uid and gid. Debian's base-passwd makes it a
	// static 33 on every install, and a tmpfs takes only numeric ids.
	wwwDataID = 33
	// ephemeralPortsFrom starts the source-port range the user data gives the
	// kernel. nginx must listen below it, or an outgoing connection made at
	// boot (apt, a pull) could hold the port nginx needs.
	ephemeralPortsFrom = 10240
	// passthroughKbps sizes an edge's HLS tmpfs when it relays the encoder's
	// own stream, whose bitrate livecdn does not know: 1080p60 at up to 9 Mbps
	// plus audio.
	passthroughKbps = 10000
	// minTmpfsMiB keeps the tmpfs roomy for small streams; it costs RAM only
	// as far as it is filled.
	minTmpfsMiB = 64
)

// SiteFile is one file of an edge's player page. The user data writes it
// under Layout.WebRoot, so callers need not know where that is.
type SiteFile struct {
	// Path is relative to Layout.WebRoot, e.g. "index.html" or
	// "js/player.js". Required: clean, relative, [A-Za-z0-9._/-].
	Path string
	// Content is the file's text (UTF-8). Optional: empty writes an empty file.
	Content string
}

// cloudConfig is the part of cloud-init's schema the user data uses, in the
// order a reader wants it. A key added here must also join the allowlist in
// golden_test.go, because cloud-init schema passes unknown top-level keys.
type cloudConfig struct {
	PackageUpdate bool         `yaml:"package_update"`
	Packages      []string     `yaml:"packages"`
	Mounts        []mountEntry `yaml:"mounts,omitempty"`
	WriteFiles    []writeFile  `yaml:"write_files"`
	RunCmd        []string     `yaml:"runcmd"`
}

// writeFile is one write_files entry. Every file is deferred: cloud-init then
// writes it in its final stage, after the packages are installed. dpkg thus
// never finds (or replaces) our /etc/nginx/nginx.conf, the nginx the package
// starts is Debian's stock one, and nothing of ours (a refused reload, a
// config naming a module not yet unpacked) can fail the package install. The
// apply script, which runcmd runs after the deferred files are written, then
// checks the config and restarts nginx into it.
type writeFile struct {
	Path        string `yaml:"path"`
	Owner       string `yaml:"owner"`
	Permissions string `yaml:"permissions"`
	Defer       bool   `yaml:"defer"`
	Content     string `yaml:"content"`
}

// mountEntry is one fstab line: spec, mount point, type, options, dump, pass.
type mountEntry [6]string

// MarshalYAML writes the line on one line, as fstab does, with every field a
// string (cloud-init's schema wants "0", not 0).
func (m mountEntry) MarshalYAML() (any, error) {
	var n yaml.Node
	if err := n.Encode([]string(m[:])); err != nil {
		return nil, fmt.Errorf("mount %s: %w", m[1], err)
	}
	n.Style = yaml.FlowStyle
	return &n, nil
}

// refuseReload replaces `systemctl reload nginx` on every node.
const refuseReload = "echo livecdn: a reload stops nginx-rtmp relays and pulls, run systemctl restart nginx instead >&2; exit 1"

// dropletView is what the cloud-init templates read.
type dropletView struct {
	// Role names the node in file headers: "origin" or "edge NAME".
	Role string
	Edge bool
	Dirs []dirView
	// ClearMarkers (edges) and RefuseReload are /bin/sh -c scripts for the
	// systemd drop-in. They must hold no ', $, %
	// or \, which systemd would interpret.
	ClearMarkers string
	RefuseReload string

	// RecordRecover (origins with recordings) is the drop-in's
	// ExecStartPre: chunks a stopped or crashed nginx left open are closed.
	// RecordUnit is the uploader's unit, which the apply script enables.
	RecordRecover, RecordUnit string

	// MetadataGuard keeps processes other than root's from the metadata
	// service: on droplets, whose user data holds secrets. Never on a
	// bring-your-own origin, whose packet filter is its owner's.
	MetadataGuard bool

	// Edges: the status document's service (its unit, command line and
	// the one directory it writes) and the nginx exporter's arguments.
	StatusUnit, StatusExec, StatusDir string
	NginxExporterArgs                 string
	// NodeExporterListen is where the node exporter listens, on edges and
	// origin droplets; empty where none runs (a bring-your-own origin).
	NodeExporterListen string

	// Set by renderUserData, so the templates name what the Go code writes.
	ApplyScript, SysctlConfPath, NginxDropInPath, NftablesConfPath string
	MetadataAddress                                                string
	EphemeralPortsFrom                                             int
}

// dirView is a directory the apply script makes sure of.
type dirView struct {
	Why                string
	Path, Owner, Group string
	Mode               string
}

// RenderOriginUserData renders the origin droplet's cloud-init user data:
// Debian's nginx and rtmp module (and ffmpeg for a rendition ladder), the
// origin's nginx.conf, and what makes it run well and keep running. The
// result embeds the stream key, so callers must keep it secret.
func RenderOriginUserData(spec OriginSpec) (string, error) {
	cfg, err := originCloudConfig(spec, true)
	if err != nil {
		return "", fmt.Errorf("origin user data: %w", err)
	}
	return cfg.marshal()
}

// RenderOriginBootstrap renders a shell script that sets up a
// bring-your-own origin (a Debian 12 server livecdn reaches over ssh) with
// exactly the packages, files and apply step of the origin's user data. It
// embeds the stream key: send it on stdin, never on a command line.
func RenderOriginBootstrap(spec OriginSpec) (string, error) {
	cfg, err := originCloudConfig(spec, false)
	if err != nil {
		return "", fmt.Errorf("origin bootstrap: %w", err)
	}
	return cfg.bootstrap()
}

// originCloudConfig is the origin's cloud-config; droplet adds what only a
// droplet gets (the metadata guard).
func originCloudConfig(spec OriginSpec, droplet bool) (cloudConfig, error) {
	conf, confErr := RenderOriginConf(spec)
	ladder := len(spec.Stream.Renditions) > 0

	var p problems
	p.debianLayout(spec.Layout, ladder)
	if spec.Record {
		p.plainPath("Layout.RecordDir", spec.Layout.RecordDir)
	}
	p.belowEphemeral("RTMPListen", spec.RTMPListen)
	p.belowEphemeral("StatListen", spec.StatListen)
	p.belowEphemeral("AuthListen", spec.AuthListen)
	if spec.TLS != nil {
		p.tlsLayout(spec.Layout, true)
		p.belowEphemeral("RTMPSListen", spec.RTMPSListen)
		p.belowEphemeral("RTMPSBackendListen", spec.RTMPSBackendListen)
	}
	if droplet {
		p.exporterListen("NodeExporterListen", spec.NodeExporterListen)
	}
	if err := errors.Join(confErr, p.err("origin droplet")); err != nil {
		return cloudConfig{}, err
	}

	view := dropletView{Role: "origin", RefuseReload: refuseReload, MetadataGuard: droplet}
	if spec.Record {
		view.Dirs = append(view.Dirs, dirView{
			Why:  "Recordings, written by nginx's worker.",
			Path: spec.Layout.RecordDir, Owner: spec.Layout.User, Group: spec.Layout.User, Mode: "0750",
		})
	}
	packages := []string{"libnginx-mod-rtmp", "nginx"}
	if ladder {
		packages = append(packages, "ffmpeg")
	}
	if spec.TLS != nil {
		packages = append(packages, streamModulePackage)
	}
	files := tlsFiles(spec.Layout, spec.TLS)
	if spec.Recordings != nil {
		rec, err := recordingFiles(spec, &view)
		if err != nil {
			return cloudConfig{}, err
		}
		files = append(files, rec...)
		packages = append(packages, "rclone")
	}
	if droplet {
		// The node exporter an edge runs, with the same arguments: `livecdn
		// status` reads the origin's CPU (the transcoder's) and egress (the
		// edges' pulls) from it. The origin's own figures come from
		// rtmp_stat, so no nginx exporter.
		view.NodeExporterListen = spec.NodeExporterListen
		f, err := templateFile(nodeExporterDefaultsPath, "node-exporter.default.tmpl", view)
		if err != nil {
			return cloudConfig{}, err
		}
		files = append(files, f)
		packages = append(packages, "prometheus-node-exporter")
	}
	return buildCloudConfig(view, conf, packages, nil, files)
}

// RenderEdgeUserData renders an edge droplet's cloud-init user data: Debian's
// nginx and rtmp module, a tmpfs for the HLS files, the edge's nginx.conf,
// the player page (site, written under Layout.WebRoot; may be empty) and a
// systemd drop-in that restarts instead of reloading. Like the edge's
// nginx.conf it depends on nothing about other edges. The result embeds the
// relay token, so callers must keep it secret.
func RenderEdgeUserData(spec EdgeSpec, site []SiteFile) (string, error) {
	conf, confErr := RenderEdgeConf(spec)

	var p problems
	p.debianLayout(spec.Layout, false)
	p.plainPath("Layout.HLSDir", spec.Layout.HLSDir)
	p.plainPath("Layout.WebRoot", spec.Layout.WebRoot)
	p.plainPath("Layout.LibDir", spec.Layout.LibDir)
	p.belowEphemeral("HTTPListen", spec.HTTPListen)
	if spec.HTTPListenIPv6 != "" {
		p.belowEphemeral("HTTPListenIPv6", spec.HTTPListenIPv6)
	}
	p.belowEphemeral("RTMPListen", spec.RTMPListen)
	if spec.TLS != nil {
		p.tlsLayout(spec.Layout, false)
		p.belowEphemeral("HTTPSListen", spec.HTTPSListen)
		if spec.HTTPSListenIPv6 != "" {
			p.belowEphemeral("HTTPSListenIPv6", spec.HTTPSListenIPv6)
		}
	}
	p.site(site)
	p.exporterListen("NodeExporterListen", spec.NodeExporterListen)
	p.exporterListen("NginxExporterListen", spec.NginxExporterListen)
	if err := errors.Join(confErr, p.err("edge droplet")); err != nil {
		return "", fmt.Errorf("edge %q user data: %w", spec.Name, err)
	}

	l := spec.Layout
	view := dropletView{
		Role: "edge " + spec.Name,
		Edge: true,
		Dirs: []dirView{
			{
				Why:  "HLS playlists and segments, on the tmpfs mounted at boot.",
				Path: l.HLSDir, Owner: l.User, Group: l.User, Mode: "0755",
			},
			{
				Why:  "The player page; nginx only reads it.",
				Path: l.WebRoot, Owner: "root", Group: "root", Mode: "0755",
			},
		},
		// systemd runs Exec lines without a shell, so the glob needs one.
		ClearMarkers:  "rm -f " + l.HLSDir + "/*.live " + l.HLSDir + "/*.attach",
		RefuseReload:  refuseReload,
		MetadataGuard: true,

		StatusUnit:         EdgeStatusUnit,
		StatusExec:         strings.Join(append([]string{path.Join(l.LibDir, EdgeStatusScriptName)}, EdgeStatusArgs(spec)...), " "),
		StatusDir:          l.HLSDir,
		NodeExporterListen: spec.NodeExporterListen,
		NginxExporterArgs:  strings.Join(NginxExporterArgs(stubStatusURL(spec.HTTPListen), spec.NginxExporterListen), " "),
	}
	mounts := []mountEntry{{
		"tmpfs", l.HLSDir, "tmpfs",
		fmt.Sprintf("size=%dm,mode=0755,uid=%d,gid=%d,nodev,nosuid,noexec", hlsTmpfsMiB(spec.Stream), wwwDataID, wwwDataID),
		"0", "0",
	}}
	files := []writeFile{{
		// Run by nginx's worker from exec_publish; see RelayMarkerScript.
		Path: path.Join(l.LibDir, RelayMarker), Owner: "root:root", Permissions: "0755", Defer: true,
		Content: RelayMarkerScript(),
	}, {
		Path: path.Join(l.LibDir, EdgeStatusScriptName), Owner: "root:root", Permissions: "0755", Defer: true,
		Content: EdgeStatusScript(),
	}}
	for _, f := range []struct{ path, template string }{
		{edgeStatusUnitPath, "edge-status.service.tmpl"},
		{nodeExporterDefaultsPath, "node-exporter.default.tmpl"},
		{nginxExporterDefaultsPath, "nginx-exporter.default.tmpl"},
	} {
		file, err := templateFile(f.path, f.template, view)
		if err != nil {
			return "", fmt.Errorf("edge %q user data: %w", spec.Name, err)
		}
		files = append(files, file)
	}
	files = append(files, tlsFiles(l, spec.TLS)...)
	for _, f := range site {
		files = append(files, writeFile{
			Path: path.Join(l.WebRoot, f.Path), Owner: "root:root", Permissions: "0644", Defer: true, Content: f.Content,
		})
	}
	// Debian's exporters, which `livecdn status` reads; python3 (for the
	// status script) comes with cloud-init itself.
	packages := []string{"libnginx-mod-rtmp", "nginx", "prometheus-nginx-exporter", "prometheus-node-exporter"}
	cfg, err := buildCloudConfig(view, conf, packages, mounts, files)
	if err != nil {
		return "", fmt.Errorf("edge %q user data: %w", spec.Name, err)
	}
	return cfg.marshal()
}

// templateFile renders a world-readable configuration file root owns.
func templateFile(path, template string, view dropletView) (writeFile, error) {
	content, err := execute(template, view)
	if err != nil {
		return writeFile{}, err
	}
	return writeFile{Path: path, Owner: "root:root", Permissions: "0644", Defer: true, Content: content}, nil
}

// buildCloudConfig gathers a node's nginx.conf, the files that run it and
// extra files into one cloud-config.
func buildCloudConfig(view dropletView, conf string, packages []string, mounts []mountEntry, extra []writeFile) (cloudConfig, error) {
	view.ApplyScript = ApplyScriptPath
	view.SysctlConfPath = sysctlConfPath
	view.NginxDropInPath = nginxDropInPath
	view.NftablesConfPath = nftablesConfPath
	view.MetadataAddress = MetadataAddress
	view.EphemeralPortsFrom = ephemeralPortsFrom
	dropIn, err := execute("nginx.service.conf.tmpl", view)
	if err != nil {
		return cloudConfig{}, err
	}
	sysctl, err := execute("sysctl.conf.tmpl", view)
	if err != nil {
		return cloudConfig{}, err
	}
	apply, err := execute("livecdn-apply.sh.tmpl", view)
	if err != nil {
		return cloudConfig{}, err
	}
	files := append([]writeFile{
		// The config holds the stream key or relay token: root only (the
		// master reads it as root; workers never do).
		{Path: nginxConfPath, Owner: "root:root", Permissions: "0600", Defer: true, Content: conf},
		{Path: nginxDropInPath, Owner: "root:root", Permissions: "0644", Defer: true, Content: dropIn},
		{Path: sysctlConfPath, Owner: "root:root", Permissions: "0644", Defer: true, Content: sysctl},
		{Path: ApplyScriptPath, Owner: "root:root", Permissions: "0755", Defer: true, Content: apply},
	}, extra...)
	if view.MetadataGuard {
		nft, err := execute("nftables.conf.tmpl", view)
		if err != nil {
			return cloudConfig{}, err
		}
		files = append(files, writeFile{Path: nftablesConfPath, Owner: "root:root", Permissions: "0755", Defer: true, Content: nft})
		packages = append(packages, "nftables")
	}
	slices.SortFunc(files, func(a, b writeFile) int { return strings.Compare(a.Path, b.Path) })
	packages = slices.Sorted(slices.Values(packages))

	return cloudConfig{
		PackageUpdate: true,
		Packages:      packages,
		Mounts:        mounts,
		WriteFiles:    files,
		RunCmd:        []string{ApplyScriptPath},
	}, nil
}

// marshal renders cloud-init user data.
func (cfg cloudConfig) marshal() (string, error) {
	var buf bytes.Buffer
	buf.WriteString("#cloud-config\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return "", fmt.Errorf("marshal cloud-config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("marshal cloud-config: %w", err)
	}
	return buf.String(), nil
}

// hlsTmpfsMiB sizes an edge's HLS tmpfs. hls_cleanup keeps segments for up to
// twice the playlist length; that is doubled again for the fragments being
// written and a cleanup that runs late.
func hlsTmpfsMiB(s Stream) int {
	kbps := passthroughKbps
	if len(s.Renditions) > 0 {
		kbps = 0
		for _, r := range s.Renditions {
			kbps += r.VideoKbps + s.AudioKbps
		}
	}
	bytes := kbps * 1000 / 8 * (2 * s.PlaylistSeconds) * 2
	return max(minTmpfsMiB, (bytes+1<<20-1)>>20)
}

var (
	// plainPathRE is what may go unquoted into shell, systemd and fstab lines.
	plainPathRE = regexp.MustCompile(`^/[A-Za-z0-9._/-]+$`)
	sitePathRE  = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)
)

// debianLayout checks the Layout fields that Debian's packages, not livecdn,
// decide on a droplet.
func (p *problems) debianLayout(l Layout, ladder bool) {
	prod := ProductionLayout()
	must := func(field, got, want, why string) {
		if got != want {
			p.add(field, got, "must be %q on a droplet: %s; start from ProductionLayout()", want, why)
		}
	}
	must("Layout.ModulePath", l.ModulePath, prod.ModulePath, "libnginx-mod-rtmp installs the module there")
	must("Layout.User", l.User, prod.User, "the HLS tmpfs and nginx's directories belong to Debian's static www-data (uid 33)")
	must("Layout.PIDFile", l.PIDFile, prod.PIDFile, "Debian's nginx.service watches and stops nginx through it")
	if ladder {
		must("Layout.FFmpegPath", l.FFmpegPath, prod.FFmpegPath, "Debian's ffmpeg package installs it there")
	}
}

// streamModulePackage is Debian's package of ngx_stream_module, which an
// origin with TLS loads for RTMPS.
const streamModulePackage = "libnginx-mod-stream"

// tlsLayout checks the Layout fields a droplet with TLS needs.
func (p *problems) tlsLayout(l Layout, origin bool) {
	p.plainPath("Layout.TLSDir", l.TLSDir)
	if origin && l.StreamModulePath != ProductionLayout().StreamModulePath {
		p.add("Layout.StreamModulePath", l.StreamModulePath, "must be %q on a droplet: %s installs the module there; start from ProductionLayout()",
			ProductionLayout().StreamModulePath, streamModulePackage)
	}
}

func (p *problems) plainPath(field, dir string) {
	if !plainPathRE.MatchString(dir) {
		p.add(field, dir, "use only A-Z, a-z, 0-9, '.', '_', '-' and '/' on a droplet: it goes unquoted into shell, systemd and fstab lines")
	}
}

func (p *problems) belowEphemeral(field, addr string) {
	ap, err := parseListen(addr)
	if err != nil {
		return // the nginx.conf renderer reports it
	}
	if ap.Port() >= ephemeralPortsFrom {
		p.add(field, addr, "listen below port %d on a droplet: ports from there up are handed out to outgoing connections", ephemeralPortsFrom)
	}
}

// exporterListen checks an exporter's listen address: a port or ADDR:PORT,
// as the exporters' --web.listen-address takes it.
func (p *problems) exporterListen(field, addr string) {
	ap, err := parseListen(strings.TrimPrefix(addr, ":"))
	switch {
	case err != nil:
		p.add(field, addr, "use :PORT (every address; the cloud firewall admits admins only) or ADDR:PORT, e.g. :9100")
	case ap.Port() >= ephemeralPortsFrom:
		p.add(field, addr, "listen below port %d on a droplet: ports from there up are handed out to outgoing connections", ephemeralPortsFrom)
	}
}

// stubStatusURL is where the nginx exporter on the edge reads stub_status:
// the plain HTTP server, over loopback when it listens on every address.
func stubStatusURL(httpListen string) string {
	ap, err := parseListen(httpListen)
	if err != nil {
		return "" // the nginx.conf renderer reports it
	}
	host := ap.Addr()
	if host.IsUnspecified() {
		host = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return "http://" + netip.AddrPortFrom(host, ap.Port()).String() + "/stub_status"
}

func (p *problems) site(site []SiteFile) {
	seen := map[string]bool{}
	for i, f := range site {
		field := fmt.Sprintf("site[%d]", i)
		switch {
		case !sitePathRE.MatchString(f.Path) || path.Clean(f.Path) != f.Path || hasDotSegment(f.Path):
			p.add(field+".Path", f.Path, "use a clean path relative to Layout.WebRoot of A-Z, a-z, 0-9, '.', '_', '-' and '/', e.g. index.html")
		case seen[f.Path]:
			p.add(field+".Path", f.Path, "site file paths must be unique")
		}
		seen[f.Path] = true
		if !utf8.ValidString(f.Content) {
			p.add(field+".Content", fmt.Sprintf("(%d bytes, not shown)", len(f.Content)), "must be UTF-8 text")
		}
	}
}

// hasDotSegment reports a "." or ".." path segment, which would write outside
// a file of its own under Layout.WebRoot.
func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// bootstrap renders the same cloud-config as a POSIX shell script, for a
// server that does not run cloud-init. File contents travel base64-encoded,
// so no byte of them can end a here-document early.
func (cfg cloudConfig) bootstrap() (string, error) {
	if len(cfg.Mounts) > 0 {
		return "", errors.New("bootstrap: mounts are not supported (only an origin is bootstrapped over ssh)")
	}
	type file struct {
		writeFile
		Base64 []string
	}
	view := struct {
		Packages []string
		Files    []file
		RunCmd   []string
	}{Packages: cfg.Packages, RunCmd: cfg.RunCmd}
	for _, f := range cfg.WriteFiles {
		view.Files = append(view.Files, file{writeFile: f, Base64: wrap(base64.StdEncoding.EncodeToString([]byte(f.Content)), 76)})
	}
	return execute("bootstrap.sh.tmpl", view)
}

func wrap(s string, width int) []string {
	var lines []string
	for len(s) > width {
		lines = append(lines, s[:width])
		s = s[width:]
	}
	return append(lines, s)
}
