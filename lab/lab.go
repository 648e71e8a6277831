// Package lab runs the whole CDN on this machine: an origin and N edges as
// private nginx-rtmp instances on loopback addresses, rendered by the same
// nginx package that feeds the droplets, supervised the way systemd would,
// and fed by an ffmpeg test pattern standing in for Wirecast.
//
// Nothing is written outside a temporary directory and nothing listens
// outside 127.0.0.0/8. The lab never imports the Pulumi SDK or components.
package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/livecdn/livecdn/internal/fakebucket"
	"github.com/livecdn/livecdn/nginx"
)

// Source selects what publishes to the origin.
type Source string

const (
	// SourceTestPattern publishes ffmpeg's testsrc2 with a 440 Hz tone.
	SourceTestPattern Source = "testsrc"
	// SourceNone publishes nothing: bring your own encoder.
	SourceNone Source = "none"
)

// Options shape a lab. The zero value is not valid; start from DefaultOptions.
type Options struct {
	// Edges is how many edges to run, 1 to 50. Default 2.
	Edges int
	// Renditions turns on the origin's ABR ladder. Default false.
	Renditions bool
	// Source is what publishes. Default SourceTestPattern.
	Source Source
	// SourceSize is the test pattern's frame size, e.g. "1280x720".
	SourceSize string
	// StreamKey is the publish key. Default: random.
	StreamKey string
	// StreamName is the RTMP stream name. Default "lab".
	StreamName string
	// IngestCIDRs may publish. Default 127.0.0.1/32, where the encoder runs.
	IngestCIDRs []string
	// HLSJS is a local copy of hls.min.js (see `make hlsjs`) served with the
	// player page. Optional: without it the page cannot play in browsers that
	// lack native HLS, and Start says so.
	HLSJS string
	// Dir is where the lab's temporary directory is made. Default os.TempDir().
	Dir string
	// Log receives the supervisor's messages. Default io.Discard.
	Log io.Writer
	// ReadyTimeout bounds Start's wait for every node. Default 60 s.
	ReadyTimeout time.Duration
	// TLS serves viewers over HTTPS (plain HTTP then redirects, as in
	// production) and takes RTMPS on the origin beside RTMP, with a
	// certificate from a throwaway CA made in Dir (Info.CA). Default false.
	TLS bool
	// CORSOrigins restricts which web origins' pages may fetch the edges'
	// HLS; see nginx.EdgeSpec.CORSOrigins. The edges' own origins are added,
	// so the player page still fails over between them. Default: any origin.
	CORSOrigins []string
	// EdgeWorkers is each edge's nginx worker processes; see
	// nginx.EdgeSpec.Workers. Default 1.
	EdgeWorkers int
	// Record makes the origin record in chunks and upload them, with the
	// shipped uploader, to an in-process S3 bucket (Info.Recordings).
	// Default false.
	Record bool
	// RecordChunk is the chunk length with Record. Default DefaultRecordChunk.
	RecordChunk time.Duration
}

// DefaultOptions is what `livecdn lab` runs without flags.
func DefaultOptions() Options {
	return Options{
		Edges:        2,
		Source:       SourceTestPattern,
		SourceSize:   "1280x720",
		StreamName:   "lab",
		IngestCIDRs:  []string{"127.0.0.1/32"},
		ReadyTimeout: 60 * time.Second,
	}
}

// LabStream is the stream settings the lab runs with: 2 s fragments to match
// the test pattern's 2 s keyframe interval.
func LabStream(name string, renditions bool) nginx.Stream {
	s := nginx.Stream{Name: name, FragmentSeconds: 2, PlaylistSeconds: 12, AudioKbps: 96}
	if renditions {
		s.Renditions = []nginx.Rendition{
			{Name: "360p", Width: 640, Height: 360, VideoKbps: 800},
			{Name: "240p", Width: 426, Height: 240, VideoKbps: 400},
		}
	}
	return s
}

// Info is what the lab prints once everything is up: where to publish, where
// to watch, and the pids of the processes it supervises.
type Info struct {
	Ingest string `json:"ingest"`
	// IngestRTMPS is the same ingest over RTMPS, with Options.TLS.
	IngestRTMPS string `json:"ingestRtmps,omitempty"`
	// CA is the PEM file of the CA that signed the lab's certificate, with
	// Options.TLS: `curl --cacert CA`.
	CA         string `json:"ca,omitempty"`
	Stream     string `json:"stream"`
	StreamKey  string `json:"streamKey"`
	OriginStat string `json:"originStat"`
	// Renditions says the origin runs the lab's ABR ladder (LabStream).
	Renditions bool       `json:"renditions"`
	Origin     NodeInfo   `json:"origin"`
	Edges      []EdgeInfo `json:"edges"`
	// Recordings is the bucket the origin uploads to, with Options.Record.
	Recordings *fakebucket.Info `json:"recordings,omitempty"`
}

// NodeInfo identifies a running process.
type NodeInfo struct {
	PID int `json:"pid"`
}

// EdgeInfo is where one edge serves viewers.
type EdgeInfo struct {
	Name string `json:"name"`
	// HTTP is the edge's plain HTTP base URL. With Options.TLS it answers
	// /healthz and redirects everything else to HTTPS.
	HTTP   string `json:"http"`
	HLS    string `json:"hls"`
	Player string `json:"player"`
	Health string `json:"health"`
	PID    int    `json:"pid"`
	// Status is the edge's status document (nginx.EdgeStatusPath), on HTTP.
	Status string `json:"status"`
	// NginxExporter is its prometheus-nginx-exporter's metrics; empty when
	// Debian's exporter is not installed.
	NginxExporter string `json:"nginxExporter,omitempty"`
}

// Lab is a running CDN. Close stops it and removes its files.
type Lab struct {
	opts   Options
	dir    string
	stream nginx.Stream
	key    string
	origin *node
	// originRTMP is the origin's RTMP address, where the edges pull from.
	originRTMP string
	edges      []*node
	source     *process
	// pki is the throwaway CA and certificate, with Options.TLS.
	pki labPKI
	// bucket and uploader run with Options.Record.
	bucket   *bucketServer
	uploader *process
	logs     []io.Closer
	info     Info

	closeOnce sync.Once
	closeErr  error
}

// node is one nginx instance of the lab.
type node struct {
	name   string
	dir    string
	layout nginx.Layout
	proc   *process
	// helpers run beside an edge's nginx: its status script and exporter.
	helpers []*process
}

// Start renders and starts every node, publishes the source and returns once
// the origin answers and every edge serves a playable playlist (or, with
// SourceNone, answers HTTP). On error everything started is stopped again.
func Start(ctx context.Context, opts Options) (lab *Lab, err error) {
	if err := opts.withDefaults(); err != nil {
		return nil, err
	}
	if err := CheckTools(opts.Source != SourceNone || opts.Renditions); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("rclone"); opts.Record && err != nil {
		return nil, errors.New("missing rclone, which uploads the recordings with --record: install with `sudo apt-get install rclone` (or run `make deps`)")
	}
	if _, err := os.Stat(nginx.ProductionLayout().StreamModulePath); opts.TLS && err != nil {
		return nil, errors.New("missing libnginx-mod-stream, which takes RTMPS with --tls: install with `sudo apt-get install libnginx-mod-stream` (or run `make deps`)")
	}
	dir, err := os.MkdirTemp(opts.Dir, "livecdn-lab-")
	if err != nil {
		return nil, fmt.Errorf("lab directory: %w", err)
	}
	l := &Lab{opts: opts, dir: dir, key: opts.StreamKey, stream: LabStream(opts.StreamName, opts.Renditions)}
	defer func() {
		if err != nil {
			l.Close()
			lab = nil
		}
	}()
	// Every edge's player page lists all edges, so all addresses are chosen
	// before the first page is written.
	edges, err := planEdges(opts.Edges, opts.TLS)
	if err != nil {
		return nil, err
	}
	if opts.TLS {
		ips := []net.IP{net.IPv4(127, 0, 0, 1)}
		for _, e := range edges {
			ips = append(ips, net.ParseIP(e.host))
		}
		if l.pki, err = newPKI(dir, ips); err != nil {
			return nil, err
		}
		l.info.CA = l.pki.caPath
	}
	if err := l.startOrigin(); err != nil {
		return nil, err
	}
	candidates := make([]string, len(edges))
	for i, e := range edges {
		candidates[i] = e.base()
	}
	for _, e := range edges {
		if err := l.startEdge(e, candidates); err != nil {
			return nil, err
		}
	}
	if opts.Source == SourceTestPattern {
		if err := l.startSource(); err != nil {
			return nil, err
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, opts.ReadyTimeout)
	defer cancel()
	if err := l.WaitReady(waitCtx); err != nil {
		return nil, fmt.Errorf("lab did not become ready: %w\n%s", err, l.logTails())
	}
	return l, nil
}

func (o *Options) withDefaults() error {
	d := DefaultOptions()
	if o.Edges == 0 {
		o.Edges = d.Edges
	}
	if o.Edges < 1 || o.Edges > 50 {
		return fmt.Errorf("edges: %d: run 1 to 50 edges", o.Edges)
	}
	if o.Source == "" {
		o.Source = d.Source
	}
	if o.Source != SourceTestPattern && o.Source != SourceNone {
		return fmt.Errorf("source: %q: use %q or %q", o.Source, SourceTestPattern, SourceNone)
	}
	if o.SourceSize == "" {
		o.SourceSize = d.SourceSize
	}
	if o.StreamName == "" {
		o.StreamName = d.StreamName
	}
	if len(o.IngestCIDRs) == 0 {
		o.IngestCIDRs = d.IngestCIDRs
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = d.ReadyTimeout
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.RecordChunk == 0 {
		o.RecordChunk = DefaultRecordChunk
	}
	if err := CheckRecordChunk(o.RecordChunk); err != nil {
		return fmt.Errorf("record chunk: %w", err)
	}
	if o.EdgeWorkers < 0 || o.EdgeWorkers > nginx.MaxEdgeWorkers {
		return fmt.Errorf("edge workers: %d: run 1 to %d", o.EdgeWorkers, nginx.MaxEdgeWorkers)
	}
	if o.StreamKey == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("stream key: %w", err)
		}
		o.StreamKey = "lab-" + hex.EncodeToString(b)
	}
	return nil
}

// CheckTools says which Debian packages are missing for a lab run.
func CheckTools(needFFmpeg bool) error {
	var missing []string
	if _, err := exec.LookPath("nginx"); err != nil {
		missing = append(missing, "nginx")
	}
	if _, err := os.Stat(nginx.ProductionLayout().ModulePath); err != nil {
		missing = append(missing, "libnginx-mod-rtmp")
	}
	if needFFmpeg {
		if _, err := exec.LookPath("ffmpeg"); err != nil {
			missing = append(missing, "ffmpeg")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: install with `sudo apt-get install %s` (or run `make deps`)",
			strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	return nil
}

func (l *Lab) newNode(name string) (*node, error) {
	dir := filepath.Join(l.dir, name)
	n := &node{name: name, dir: dir, layout: nginx.Layout{
		ModulePath:   nginx.ProductionLayout().ModulePath,
		User:         workerUser(),
		PIDFile:      filepath.Join(dir, "nginx.pid"),
		LogDir:       filepath.Join(dir, "log"),
		TempDir:      filepath.Join(dir, "tmp"),
		TLSDir:       filepath.Join(dir, "tls"),
		HLSDir:       filepath.Join(dir, "hls"),
		WebRoot:      filepath.Join(dir, "www"),
		LibDir:       filepath.Join(dir, "lib"),
		RecordDir:    filepath.Join(dir, "recordings"),
		RcloneConfig: filepath.Join(dir, "rclone.conf"),
		FFmpegPath:   ffmpegPath(),

		StreamModulePath: nginx.ProductionLayout().StreamModulePath,
	}}
	for _, d := range []string{n.layout.LogDir, n.layout.TempDir, n.layout.HLSDir, n.layout.WebRoot, n.layout.LibDir, n.layout.RecordDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return n, nil
}

// run writes conf and supervises `nginx -p DIR -c conf` for the node.
func (l *Lab) run(n *node, conf string, prepare func() error) error {
	confPath := filepath.Join(n.dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("%s: %w", n.name, err)
	}
	out, err := logFile(filepath.Join(n.layout.LogDir, "stderr.log"))
	if err != nil {
		return fmt.Errorf("%s: %w", n.name, err)
	}
	l.logs = append(l.logs, out)
	errorLog := filepath.Join(n.layout.LogDir, "error.log")
	n.proc = newProcess(n.name, l.opts.Log, func() *exec.Cmd {
		cmd := exec.Command("nginx", "-p", n.dir, "-c", confPath, "-e", errorLog, "-g", "daemon off;")
		cmd.Stdout, cmd.Stderr = out, out
		return cmd
	})
	n.proc.prepare = prepare
	n.proc.start()
	return nil
}

func (l *Lab) startOrigin() error {
	n, err := l.newNode("origin")
	if err != nil {
		return err
	}
	ports, err := freePorts("127.0.0.1", 5)
	if err != nil {
		return err
	}
	spec := nginx.OriginSpec{
		Layout:      n.layout,
		RTMPListen:  hostPort("127.0.0.1", ports[0]),
		StatListen:  hostPort("127.0.0.1", ports[1]),
		AuthListen:  hostPort("127.0.0.1", ports[2]),
		Stream:      l.stream,
		StreamKey:   l.key,
		IngestCIDRs: l.opts.IngestCIDRs,
		EdgeCIDRs:   []string{"127.0.0.0/8"},
		AdminCIDRs:  []string{"127.0.0.0/8"},
	}
	if l.opts.TLS {
		spec.TLS = &l.pki.leaf
		spec.RTMPSListen = hostPort("127.0.0.1", ports[3])
		spec.RTMPSBackendListen = hostPort("127.0.0.1", ports[4])
		if err := writeTLS(n.layout, l.pki.leaf); err != nil {
			return fmt.Errorf("origin: %w", err)
		}
		l.info.IngestRTMPS = fmt.Sprintf("rtmps://%s/%s", spec.RTMPSListen, nginx.IngestApp)
	}
	var prepare func() error
	if l.opts.Record {
		spec.Record = true
		if spec.Recordings, err = l.setupRecordings(); err != nil {
			return err
		}
		if prepare, err = l.installUploader(n, spec); err != nil {
			return err
		}
	}
	conf, err := nginx.RenderOriginConf(spec)
	if err != nil {
		return err
	}
	if err := l.run(n, conf, prepare); err != nil {
		return err
	}
	l.origin = n
	l.originRTMP = spec.RTMPListen
	l.info.Ingest = fmt.Sprintf("rtmp://%s/%s", spec.RTMPListen, nginx.IngestApp)
	l.info.Stream = l.stream.Name
	l.info.StreamKey = l.key
	l.info.OriginStat = fmt.Sprintf("http://%s/stat", spec.StatListen)
	l.info.Renditions = l.opts.Renditions
	return nil
}

// edgeAddrs is where one edge listens.
type edgeAddrs struct {
	name        string
	host        string
	httpListen  string
	rtmpListen  string
	httpsListen string // with TLS only
	exporter    string // prometheus-nginx-exporter
}

// base is the edge's URL as viewers' players reach it.
func (e edgeAddrs) base() string {
	if e.httpsListen != "" {
		return "https://" + e.httpsListen
	}
	return e.httpBase()
}

// httpBase is the edge's plain HTTP URL.
func (e edgeAddrs) httpBase() string { return "http://" + e.httpListen }

// planEdges chooses the n edges' names and addresses: edge i listens on
// 127.0.0.(i+2), so every edge has an address of its own, as on droplets.
func planEdges(n int, https bool) ([]edgeAddrs, error) {
	edges := make([]edgeAddrs, n)
	for i := range edges {
		addr := fmt.Sprintf("127.0.0.%d", i+2)
		ports, err := freePorts(addr, 4)
		if err != nil {
			return nil, err
		}
		edges[i] = edgeAddrs{
			name:       fmt.Sprintf("edge-%d", i+1),
			host:       addr,
			httpListen: hostPort(addr, ports[0]),
			rtmpListen: hostPort(addr, ports[1]),
			exporter:   hostPort(addr, ports[3]),
		}
		if https {
			edges[i].httpsListen = hostPort(addr, ports[2])
		}
	}
	return edges, nil
}

// startEdge runs one edge whose player page fails over between candidates.
func (l *Lab) startEdge(e edgeAddrs, candidates []string) error {
	name := e.name
	n, err := l.newNode(name)
	if err != nil {
		return err
	}
	spec := nginx.EdgeSpec{
		Layout:     n.layout,
		Name:       name,
		HTTPListen: e.httpListen,
		RTMPListen: e.rtmpListen,
		Origin:     l.originRTMP,
		Stream:     l.stream,
		RelayToken: nginx.RelayToken(l.key),
		AdminCIDRs: []string{"127.0.0.0/8"},
		Workers:    l.opts.EdgeWorkers,
	}
	if len(l.opts.CORSOrigins) > 0 {
		spec.CORSOrigins = append(slices.Clone(l.opts.CORSOrigins), candidates...)
	}
	if l.opts.TLS {
		spec.TLS = &l.pki.leaf
		spec.HTTPSListen = e.httpsListen
		if err := writeTLS(n.layout, l.pki.leaf); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	conf, err := nginx.RenderEdgeConf(spec)
	if err != nil {
		return err
	}
	if err := l.writeSite(n, candidates); err != nil {
		return err
	}
	marker := filepath.Join(n.layout.LibDir, nginx.RelayMarker)
	if err := os.WriteFile(marker, []byte(nginx.RelayMarkerScript()), 0o755); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	// Like the droplets' ExecStartPre: a killed nginx leaves relay markers
	// behind that would make /healthz claim a stream it no longer gets.
	clearMarkers := func() error {
		live, _ := filepath.Glob(filepath.Join(n.layout.HLSDir, "*.live"))
		attach, _ := filepath.Glob(filepath.Join(n.layout.HLSDir, "*.attach"))
		stale := append(live, attach...)
		var errs []error
		for _, f := range stale {
			errs = append(errs, os.Remove(f))
		}
		return errors.Join(errs...)
	}
	if err := l.run(n, conf, clearMarkers); err != nil {
		return err
	}
	l.edges = append(l.edges, n)
	exporter, err := l.startEdgeStatus(n, spec, e.httpBase(), e.exporter)
	if err != nil {
		return err
	}
	base := e.base()
	l.info.Edges = append(l.info.Edges, EdgeInfo{
		Name:          name,
		HTTP:          e.httpBase(),
		HLS:           base + l.stream.PlaylistPath(),
		Player:        base + "/",
		Health:        base + "/healthz",
		Status:        e.httpBase() + nginx.EdgeStatusPath,
		NginxExporter: exporter,
	})
	return nil
}

// writeSite puts the player page (and hls.js, when there is a copy) in the
// edge's web root. The page fails over between candidates, the lab's edges.
func (l *Lab) writeSite(n *node, candidates []string) error {
	page, err := nginx.RenderPlayer(nginx.PlayerSpec{
		EventName:  "livecdn lab",
		Stream:     l.stream,
		HLSJS:      nginx.LocalHLSJS(),
		Candidates: candidates,
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.layout.WebRoot, nginx.PlayerIndex), []byte(page), 0o644); err != nil {
		return err
	}
	if l.opts.HLSJS == "" {
		return nil
	}
	js, err := os.ReadFile(l.opts.HLSJS)
	if err != nil {
		return fmt.Errorf("hls.js: %w (run `make hlsjs` to fetch it)", err)
	}
	return os.WriteFile(filepath.Join(n.layout.WebRoot, nginx.HLSJSFile), js, 0o644)
}

// startSource publishes the test pattern with a tone, keyframes every
// fragment so segments are cut on time, like a well-set-up Wirecast.
func (l *Lab) startSource() error {
	out, err := logFile(filepath.Join(l.dir, "source.log"))
	if err != nil {
		return err
	}
	l.logs = append(l.logs, out)
	url := fmt.Sprintf("%s/%s?key=%s", l.info.Ingest, l.stream.Name, l.key)
	gop := strconv.Itoa(30 * l.stream.FragmentSeconds)
	l.source = newProcess("source", l.opts.Log, func() *exec.Cmd {
		cmd := exec.Command(ffmpegPath(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
			"-re", "-f", "lavfi", "-i", "testsrc2=size="+l.opts.SourceSize+":rate=30",
			"-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
			"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
			"-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-b:v", "1500k",
			"-c:a", "aac", "-b:a", "128k",
			"-f", "flv", url)
		cmd.Stdout, cmd.Stderr = out, out
		return cmd
	})
	l.source.start()
	return nil
}

// Info describes the running lab, with the current pids.
func (l *Lab) Info() Info {
	info := l.info
	info.Origin.PID = l.origin.proc.pid()
	info.Edges = append([]EdgeInfo(nil), l.info.Edges...)
	for i, e := range l.edges {
		info.Edges[i].PID = e.proc.pid()
	}
	return info
}

// Dir is the lab's temporary directory (configs, logs, HLS output).
func (l *Lab) Dir() string { return l.dir }

// Stream is the stream the lab runs.
func (l *Lab) Stream() nginx.Stream { return l.stream }

// KillOrigin, KillEdge and KillSource crash a process as a failing machine
// would; the supervisor restarts it.
func (l *Lab) KillOrigin() error { return l.origin.proc.kill() }

// KillEdge crashes edge i (0-based).
func (l *Lab) KillEdge(i int) error {
	e, err := l.edge(i)
	if err != nil {
		return err
	}
	return e.proc.kill()
}

// StopEdge stops edge i (0-based) and keeps it stopped until StartEdge, as
// a machine that went away: unlike after KillEdge, the supervisor does not
// bring it back, so players have to move to another edge.
func (l *Lab) StopEdge(i int) error {
	e, err := l.edge(i)
	if err != nil {
		return err
	}
	e.proc.pause()
	return nil
}

// StartEdge starts edge i (0-based) again after StopEdge.
func (l *Lab) StartEdge(i int) error {
	e, err := l.edge(i)
	if err != nil {
		return err
	}
	e.proc.resume()
	return nil
}

func (l *Lab) edge(i int) (*node, error) {
	if i < 0 || i >= len(l.edges) {
		return nil, fmt.Errorf("edge %d: the lab has %d edges", i, len(l.edges))
	}
	return l.edges[i], nil
}

// KillSource crashes the encoder.
func (l *Lab) KillSource() error {
	if l.source == nil {
		return errors.New("the lab has no source")
	}
	return l.source.kill()
}

// StopSource stops publishing until StartSource, as an encoder switched off.
func (l *Lab) StopSource() {
	if l.source != nil {
		l.source.pause()
	}
}

// StartSource resumes publishing after StopSource.
func (l *Lab) StartSource() {
	if l.source != nil {
		l.source.resume()
	}
}

// Close stops every process the lab started and removes its directory. It
// may be called more than once.
func (l *Lab) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.close() })
	return l.closeErr
}

func (l *Lab) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if l.source != nil {
		l.source.stop(ctx)
	}
	for _, e := range l.edges {
		if e.proc != nil {
			e.proc.stop(ctx)
		}
		for _, h := range e.helpers {
			h.stop(ctx)
		}
	}
	if l.origin != nil && l.origin.proc != nil {
		l.origin.proc.stop(ctx)
	}
	var errs []error
	errs = append(errs, l.closeRecordings(ctx))
	for _, c := range l.logs {
		errs = append(errs, c.Close())
	}
	errs = append(errs, os.RemoveAll(l.dir))
	return errors.Join(errs...)
}

// logTails is the end of every node's error log, for a failed start.
func (l *Lab) logTails() string {
	var b strings.Builder
	paths, _ := filepath.Glob(filepath.Join(l.dir, "*", "log", "error.log"))
	paths = append(paths, filepath.Join(l.dir, "source.log"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		fmt.Fprintf(&b, "--- %s\n%s\n", p, strings.Join(lines[max(0, len(lines)-8):], "\n"))
	}
	return b.String()
}

// workerUser keeps nginx's workers as the user running the lab, so they can
// write the lab's files (nginx runs them as nobody when started as root).
func workerUser() string {
	if os.Geteuid() != 0 {
		return "" // unprivileged nginx cannot switch users anyway
	}
	return "root"
}

func ffmpegPath() string {
	if p, err := exec.LookPath("ffmpeg"); err == nil {
		return p
	}
	return "/usr/bin/ffmpeg"
}
