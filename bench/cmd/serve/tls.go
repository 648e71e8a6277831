package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/livecdn/livecdn/bench/internal/measure"
	"github.com/livecdn/livecdn/internal/throwaway"
	"github.com/livecdn/livecdn/nginx"
)

// tlsBlock is the TLS configuration the edges ship (issue 10). Ours is
// rendered with EdgeSpec.TLS, and stock gets the ssl_ lines ours renders,
// so both run the same settings; the report says whether the renderer's
// lines include every line of this block.
var tlsBlock = []string{
	"ssl_protocols TLSv1.2 TLSv1.3;",
	"ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;",
	"ssl_prefer_server_ciphers off;",
	"ssl_session_cache shared:livecdn:10m;",
	"ssl_session_timeout 1d;",
	"ssl_session_tickets off;",
}

// kTLSDirective asks OpenSSL 3 to hand the symmetric encryption to the
// kernel, so that nginx's sendfile works over TLS (nginx >= 1.21.4). The
// renderer writes it; without kernel TLS OpenSSL falls back to user space.
const kTLSDirective = "ssl_conf_command Options KTLS;"

// kTLSStat exists when the kernel has TLS support (CONFIG_TLS, module tls).
const kTLSStat = "/proc/net/tls_stat"

// The TLS benchmark's files: segments of a 6 Mbps rendition cut every 2 s,
// and a playlist as long as an edge's 20 s hls_playlist_length.
const (
	tlsSegmentBytes    = 1_500_000
	tlsPlaylistEntries = 10
)

// variant is one server of the TLS benchmark.
type variant struct {
	base  string // ours, stock or second instance
	https bool
	// noKTLS drops kTLSDirective: user-space TLS on a kernel that has kTLS.
	noKTLS  bool
	workers int
}

func (v variant) proto() string {
	switch {
	case v.noKTLS:
		return "HTTPS without kTLS"
	case v.https:
		return "HTTPS"
	}
	return "HTTP"
}

func (v variant) name() string {
	return fmt.Sprintf("%s, %s, %d %s", v.base, v.proto(), v.workers, plural(v.workers, "worker", "workers"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

const (
	baseOurs   = "ours"
	baseStock  = "stock"
	baseSecond = "second instance"
)

// tlsBench measures HTTPS against HTTP on the edge: CPU seconds per GB and
// requests/s for segments and playlists, with keep-alive and with a new
// connection (a full handshake: wrk 4.1 does not resume sessions) per
// request; with one and two workers; ours against stock with the same TLS
// block; a second nginx without the RTMP module serving the HLS directory;
// and kTLS where the kernel has it.
func tlsBench(ctx context.Context, stdout, stderr io.Writer, o options, work string) error {
	set, err := syntheticFiles(filepath.Join(work, "hls"), o.segments)
	if err != nil {
		return err
	}
	cert, client, err := throwawayCert()
	if err != nil {
		return err
	}
	https := &edgeHTTPS{cert: cert, client: client}
	_, statErr := os.Stat(kTLSStat)
	kernelKTLS := statErr == nil

	// Ours come first: stock takes its TLS lines from ours.
	var variants []variant
	for _, base := range []string{baseOurs, baseStock} {
		for _, workers := range []int{1, 2} {
			variants = append(variants, variant{base: base, workers: workers}, variant{base: base, https: true, workers: workers})
			if kernelKTLS {
				variants = append(variants, variant{base: base, https: true, noKTLS: true, workers: workers})
			}
		}
	}
	variants = append(variants, variant{base: baseSecond, https: true, workers: 2})

	stem := strings.TrimSuffix(set.playlist, ".m3u8")
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	var tlsLines []string // the ssl_ directives ours renders
	for i, v := range variants {
		dir := filepath.Join(work, fmt.Sprintf("tls-%d", i))
		var c config
		switch {
		case v.base == baseStock:
			c, err = renderStock(v.name(), dir, set.dir, "127.0.0.3")
		case v.https:
			c, err = renderOurs(v.name(), dir, set.dir, stem, "127.0.0.2", https, v.workers)
		default:
			c, err = renderOurs(v.name(), dir, set.dir, stem, "127.0.0.2", nil, v.workers)
		}
		if err != nil {
			return err
		}
		if v.base == baseOurs && v.https && tlsLines == nil {
			tlsLines = sslLines(c.text)
		}
		if c, err = shape(c, v, tlsLines, client); err != nil {
			return err
		}
		s, err := startServer(ctx, c)
		if err != nil {
			return err
		}
		servers = append(servers, s)
		if err := s.checkServes(ctx, set); err != nil {
			return err
		}
	}

	workloads := []workload{
		{name: "segments", desc: fmt.Sprintf("%d .ts files of %d B round-robin, keep-alive", len(set.segments), tlsSegmentBytes), files: set.segments},
		{name: "playlist", desc: fmt.Sprintf("the media playlist (%d B), keep-alive", set.playlistBytes), files: []string{set.playlist}},
		{name: "playlist, new connections", desc: "the playlist with `Connection: close`: one TCP connection (and, over HTTPS, one full handshake) per request", files: []string{set.playlist}, header: "Connection: close"},
	}
	results := map[string]map[string][]wrkRun{}
	ktlsUsed := map[string]int64{}
	for _, w := range workloads {
		results[w.name] = map[string][]wrkRun{}
		for round := range o.rounds {
			order := servers
			if round%2 == 1 {
				order = reversed(servers)
			}
			for _, s := range order {
				fmt.Fprintf(stderr, "serve -tls: %s, round %d, %s\n", w.name, round+1, s.name)
				before := kTLSTxSessions()
				r, err := s.bench(ctx, work, w, o)
				if err != nil {
					return err
				}
				ktlsUsed[s.name] += kTLSTxSessions() - before
				results[w.name][s.name] = append(results[w.name][s.name], r)
			}
		}
	}
	var negotiated string
	for _, s := range servers {
		if s.client != nil {
			negotiated = opensslNegotiates(ctx, s.listen)
			break
		}
	}
	return tlsReport(stdout, o, variants, servers, workloads, results, kernelKTLS, ktlsUsed, negotiated, tlsLines)
}

// opensslNegotiates is the protocol and cipher suite a client with
// OpenSSL's defaults (as wrk uses them) gets from addr, as `openssl
// s_client -brief` reports them.
func opensslNegotiates(ctx context.Context, addr string) string {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, "openssl", "s_client", "-connect", addr, "-brief")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err != nil && len(out) == 0 {
		return fmt.Sprintf("unknown (openssl s_client: %v)", err)
	}
	var got []string
	for _, line := range strings.Split(string(out), "\n") {
		for _, key := range []string{"Protocol version: ", "Ciphersuite: ", "Peer Temp Key: "} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), key); ok {
				got = append(got, v)
			}
		}
	}
	if len(got) == 0 {
		return "unknown (openssl s_client printed no handshake)"
	}
	return strings.Join(got, ", ")
}

func reversed(s []*server) []*server {
	out := make([]*server, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}

// sslLines are the ssl_ directives of a rendered config, in order.
func sslLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "ssl_") {
			out = append(out, t)
		}
	}
	return out
}

// shape turns a rendered config into variant v. Ours is rendered with its
// workers and TLS already; stock gets the worker count and, for HTTPS, ours'
// ssl_ lines on its listener; the second instance loses the RTMP module;
// noKTLS drops kTLSDirective.
func shape(c config, v variant, tlsLines []string, client *tls.Config) (config, error) {
	var ok bool
	switch v.base {
	case baseStock:
		if c.text, ok = replaceLine(c.text, func(l string) bool { return l == "worker_processes 1;" },
			fmt.Sprintf("worker_processes %d;", v.workers)); !ok {
			return c, fmt.Errorf("%s: no `worker_processes 1;` to change", c.name)
		}
		c.workers = v.workers
		if v.https {
			if c.text, ok = listenTLS(c.text, c.listen, tlsLines); !ok {
				return c, fmt.Errorf("%s: no `listen %s` line to add TLS to", c.name, c.listen)
			}
			c.client = client
		}
	case baseSecond:
		if c.text, ok = dropLines(c.text, "load_module "); !ok {
			return c, fmt.Errorf("%s: no load_module line to drop", c.name)
		}
		if c.text, ok = dropNested(c.text, "rtmp {"); !ok {
			return c, fmt.Errorf("%s: no rtmp block to drop", c.name)
		}
		// rtmp_stat, where the renderer still writes it, needs the module;
		// /stat is not what this instance is measured on.
		c.text, _ = dropLines(c.text, "rtmp_stat")
	}
	if v.noKTLS {
		if c.text, ok = dropLines(c.text, kTLSDirective); !ok {
			return c, fmt.Errorf("%s: no %q to drop", c.name, kTLSDirective)
		}
	}
	return c, nil
}

// listenTLS turns the `listen ADDR ...;` line into `listen ADDR ssl http2
// ...;` followed by lines, at the same indentation.
func listenTLS(text, addr string, lines []string) (string, bool) {
	all := strings.Split(text, "\n")
	for i, l := range all {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), "listen "+addr)
		if !ok {
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		added := make([]string, len(lines))
		for j, b := range lines {
			added[j] = indent + b
		}
		all[i] = indent + "listen " + addr + " ssl http2" + rest
		all = append(all[:i+1], append(added, all[i+1:]...)...)
		return strings.Join(all, "\n"), true
	}
	return text, false
}

// dropNested removes the block opened by the line first, counting braces,
// so blocks nested inside it go too.
func dropNested(text, first string) (string, bool) {
	var out []string
	found, depth := false, 0
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case depth > 0:
			depth += strings.Count(t, "{") - strings.Count(t, "}")
		case !found && t == first:
			found, depth = true, 1
		default:
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n"), found
}

// syntheticFiles writes what an edge serves for a 6 Mbps rendition: n
// segments of tlsSegmentBytes (pseudo-random bytes: nginx neither parses nor
// compresses them) and a playlist listing tlsPlaylistEntries of them.
func syntheticFiles(dir string, n int) (fileSet, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fileSet{}, err
	}
	set := fileSet{dir: dir, playlist: "bench.m3u8"}
	files := map[string][]byte{}
	rng := mrand.NewChaCha8([32]byte{'l', 'i', 'v', 'e', 'c', 'd', 'n'})
	const first = 1_764_374_400_000 // timestamp naming, in milliseconds
	var playlist strings.Builder
	fmt.Fprintf(&playlist, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:%d\n#EXT-X-TARGETDURATION:2\n", first/2000)
	for i := range tlsPlaylistEntries {
		name := fmt.Sprintf("bench-%d.ts", first+2000*i)
		fmt.Fprintf(&playlist, "#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF:2.000,\n%s\n",
			time.UnixMilli(int64(first+2000*i)).UTC().Format("2006-01-02T15:04:05.000Z"), name)
		if i < n {
			data := make([]byte, tlsSegmentBytes)
			_, _ = rng.Read(data)
			files[name] = data
			set.segments = append(set.segments, name)
			set.segmentBytes = append(set.segmentBytes, tlsSegmentBytes)
		}
	}
	files[set.playlist] = []byte(playlist.String())
	set.playlistBytes = int64(playlist.Len())
	return set, writeAhead(dir, files)
}

// throwawayCert issues an ECDSA P-256 leaf for the loopback addresses the
// servers use from a throwaway CA: the chain (leaf, then CA: two
// certificates, as a Let's Encrypt chain sends), its key, and a client
// config that trusts the CA.
func throwawayCert() (nginx.TLS, *tls.Config, error) {
	ca, err := throwaway.NewCA("livecdn benchmark CA")
	if err != nil {
		return nginx.TLS{}, nil, err
	}
	leaf, err := ca.Issue([]string{"127.0.0.2", "127.0.0.3"}, time.Now().Add(24*time.Hour))
	if err != nil {
		return nginx.TLS{}, nil, err
	}
	return nginx.TLS{Chain: leaf.Chain, Key: leaf.Key}, &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}, nil
}

// kTLSTxSessions is the kernel's count of TLS sessions whose transmit side
// it took over (software or device), or 0 without kernel TLS.
func kTLSTxSessions() int64 {
	data, err := os.ReadFile(kTLSStat)
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && (f[0] == "TlsTxSw" || f[0] == "TlsTxDevice") {
			var v int64
			if _, err := fmt.Sscan(f[1], &v); err == nil {
				n += v
			}
		}
	}
	return n
}

// edgeGoalMBps is what an animecon edge must send: 70% of a 10 Gbps NIC.
const edgeGoalMBps = 0.7 * 10e3 / 8

// edgeGoalCores is the CPU it may take for that: half of 4 vCPUs.
const edgeGoalCores = 2.0

func tlsReport(w io.Writer, o options, variants []variant, servers []*server, workloads []workload,
	results map[string]map[string][]wrkRun, kernelKTLS bool, ktlsUsed map[string]int64, negotiated string, tlsLines []string) error {
	fmt.Fprintln(w, "### Edge HTTPS: HTTP vs HTTPS, 1 vs 2 workers, ours vs stock (same TLS settings)")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Same nginx binary, the same files, wrk -t1 -c%d on loopback, %d rounds of %s per workload and server, every server back to back in each round and in reverse order every other round. Ours is nginx.RenderEdgeConf with EdgeSpec.TLS, HTTPSListen and Workers (the HTTPS listener measured); stock gets the ssl_ lines ours renders on its listener; the second instance is ours with 2 workers and without the RTMP module. Certificate: a throwaway ECDSA P-256 leaf and its CA. wrk speaks HTTP/1.1 and never resumes a TLS session, so every new connection is a full handshake. CPU = utime+stime of all nginx workers from /proc/PID/stat around each wrk run; GB = bytes wrk read (headers included), 10^9. Busy = CPU / wall time (2 workers can exceed 100%%).\n\n",
		o.connections, o.rounds, o.duration)
	var settings []string
	for _, l := range tlsLines {
		if !strings.HasPrefix(l, "ssl_certificate") {
			settings = append(settings, l)
		}
	}
	fmt.Fprintf(w, "TLS settings as ours renders them, besides the certificate: `%s`\n\n", strings.Join(settings, " "))
	var missing []string
	for _, l := range tlsBlock {
		if !slices.Contains(tlsLines, l) {
			missing = append(missing, "`"+l+"`")
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(w, "The renderer's TLS settings lack these lines of the edges' TLS block: %s.\n\n", strings.Join(missing, ", "))
	} else {
		fmt.Fprintln(w, "They include every line of the edges' TLS block.")
		fmt.Fprintln(w)
	}
	var rows [][]string
	byName := map[string]wrkRun{}
	for _, wl := range workloads {
		for _, s := range servers {
			runs := results[wl.name][s.name]
			t := total(runs)
			byName[wl.name+"|"+s.name] = t
			rows = append(rows, append(append([]string{wl.name, s.name}, figures(runs)...), fmt.Sprint(t.errors())))
		}
	}
	measure.Table(w, []string{"workload", "server", "requests/s (per round)", "MB/s", "CPU s per GB", "CPU us per request", "busy", "errors"}, rows)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "A client with OpenSSL's defaults (wrk's) negotiates: %s.\n\n", negotiated)
	for _, wl := range workloads {
		fmt.Fprintf(w, "- %s: %s\n", wl.name, wl.desc)
	}
	fmt.Fprintln(w)
	if !kernelKTLS {
		fmt.Fprintf(w, "kTLS: not measured: this kernel (%s) has no TLS support (%s is missing), so every HTTPS row ran user-space TLS even where the config asks for kTLS (`%s`); no `HTTPS without kTLS` rows were run, they would be the same. Debian's OpenSSL 3.0 is built with kTLS, and Debian 12's 6.1 kernels ship the tls module.\n\n", kernelRelease(), kTLSStat, kTLSDirective)
	} else {
		for _, v := range variants {
			if v.https {
				fmt.Fprintf(w, "kTLS: %s: the kernel took over %d TLS transmit sessions during its runs.\n", v.name(), ktlsUsed[v.name()])
			}
		}
		fmt.Fprintln(w)
	}

	get := func(wl string, v variant) (wrkRun, bool) {
		r, ok := byName[wl+"|"+v.name()]
		return r, ok
	}
	var summary []measure.Row
	seg := workloads[0].name
	oursHTTP, _ := get(seg, variant{base: baseOurs, workers: 1})
	worst := 0.0
	var parts []string
	for _, v := range variants {
		if !v.https || v.base == baseStock {
			continue
		}
		r, _ := get(seg, v)
		worst = max(worst, r.cpuPerGB())
		parts = append(parts, fmt.Sprintf("%s %.3f", v.name(), r.cpuPerGB()))
	}
	stockHTTPS, _ := get(seg, variant{base: baseStock, https: true, workers: 1})
	stockHTTP, _ := get(seg, variant{base: baseStock, workers: 1})
	cores := edgeGoalMBps / 1e3 * worst
	fmt.Fprintf(w, "Animecon edge: 0.7 x 10 Gbps = 7 Gbps = %.0f MB/s; at the worst measured HTTPS cost of ours, %.3f CPU s/GB, that takes %.3f GB/s x %.3f = %.2f cores of this machine (goal: at most %.0f of 4 vCPUs).\n\n",
		edgeGoalMBps, worst, edgeGoalMBps/1e3, worst, cores, edgeGoalCores)
	summary = append(summary, measure.Row{
		Metric: "edge HTTPS CPU per GB, segments (1.5 MB)",
		Goal:   fmt.Sprintf("%.0f MB/s (70%% of 10 Gbps) in <= %.0f cores: <= %.2f CPU s/GB", edgeGoalMBps, edgeGoalCores, edgeGoalCores/(edgeGoalMBps/1e3)),
		Measured: fmt.Sprintf("%s CPU s/GB (%.2f cores for %.0f MB/s); HTTP ours %.3f; stock HTTPS %.3f, HTTP %.3f",
			strings.Join(parts, ", "), cores, edgeGoalMBps, oursHTTP.cpuPerGB(), stockHTTPS.cpuPerGB(), stockHTTP.cpuPerGB()),
		Result:  measure.Verdict(cores <= edgeGoalCores),
		Command: o.command,
	})
	for _, wl := range workloads[1:] {
		var m []string
		for _, v := range []variant{{base: baseOurs, workers: 1}, {base: baseOurs, https: true, workers: 1}, {base: baseStock, https: true, workers: 1}} {
			r, _ := get(wl.name, v)
			m = append(m, fmt.Sprintf("%s %.0f req/s, %.1f CPU us/request", v.name(), r.rps(), r.CPU.Seconds()*1e6/float64(r.Requests)))
		}
		summary = append(summary, measure.Row{
			Metric: "edge HTTPS, " + wl.name, Goal: "none (report)", Measured: strings.Join(m, "; "),
			Result: measure.NoGoal, Command: o.command,
		})
	}
	ktls := "not measured: kernel without CONFIG_TLS"
	if kernelKTLS {
		var m []string
		for _, v := range variants {
			if v.https {
				r, _ := get(seg, v)
				m = append(m, fmt.Sprintf("%s %.3f CPU s/GB (%d kTLS sessions)", v.name(), r.cpuPerGB(), ktlsUsed[v.name()]))
			}
		}
		ktls = strings.Join(m, "; ")
	}
	summary = append(summary, measure.Row{
		Metric: "edge HTTPS with kTLS, segments", Goal: "none (report)", Measured: ktls, Result: measure.NoGoal, Command: o.command,
	})
	fmt.Fprintf(w, "Command: `%s`\n\n", o.command)
	return measure.AppendSummary(o.summary, summary...)
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
