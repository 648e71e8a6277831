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
	"strings"
	"time"

	"github.com/livecdn/livecdn/bench/internal/measure"
	"github.com/livecdn/livecdn/internal/throwaway"
)

// tlsBlock is the TLS configuration the edges ship (issue 10), applied
// word for word to every HTTPS server here: ours, stock and the second
// instance. Only the certificate lines are added to it.
var tlsBlock = []string{
	"ssl_protocols TLSv1.2 TLSv1.3;",
	"ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;",
	"ssl_prefer_server_ciphers off;",
	"ssl_session_cache shared:livecdn:10m;",
	"ssl_session_timeout 1d;",
	"ssl_session_tickets off;",
}

// kTLSDirective asks OpenSSL 3 to hand the symmetric encryption to the
// kernel, so that nginx's sendfile works over TLS (nginx >= 1.21.4).
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
	base    string // ours, stock or second instance
	https   bool
	kTLS    bool
	workers int
}

func (v variant) proto() string {
	switch {
	case v.kTLS:
		return "HTTPS + kTLS"
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
	cert, key, client, err := throwawayCert(work)
	if err != nil {
		return err
	}
	_, statErr := os.Stat(kTLSStat)
	kernelKTLS := statErr == nil

	var variants []variant
	for _, base := range []string{baseOurs, baseStock} {
		for _, workers := range []int{1, 2} {
			variants = append(variants, variant{base: base, workers: workers}, variant{base: base, https: true, workers: workers})
			if kernelKTLS {
				variants = append(variants, variant{base: base, https: true, kTLS: true, workers: workers})
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
	for i, v := range variants {
		dir := filepath.Join(work, fmt.Sprintf("tls-%d", i))
		var c config
		if v.base == baseStock {
			c, err = renderStock(v.name(), dir, set.dir, "127.0.0.3")
		} else {
			c, err = renderOurs(v.name(), dir, set.dir, stem, "127.0.0.2")
		}
		if err != nil {
			return err
		}
		if c, err = shape(c, v, cert, key, client); err != nil {
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
	return tlsReport(stdout, o, set, variants, servers, workloads, results, kernelKTLS, ktlsUsed, negotiated)
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

// shape turns a rendered HTTP config into variant v: worker count, the TLS
// block on its listener, kTLS, or (the second instance) no RTMP at all.
func shape(c config, v variant, cert, key string, client *tls.Config) (config, error) {
	var ok bool
	if c.text, ok = replaceLine(c.text, func(l string) bool { return l == "worker_processes 1;" },
		fmt.Sprintf("worker_processes %d;", v.workers)); !ok {
		return c, fmt.Errorf("%s: no `worker_processes 1;` to change", c.name)
	}
	c.workers = v.workers
	if v.base == baseSecond {
		if c.text, ok = dropLines(c.text, "load_module "); !ok {
			return c, fmt.Errorf("%s: no load_module line to drop", c.name)
		}
		if c.text, ok = dropNested(c.text, "rtmp {"); !ok {
			return c, fmt.Errorf("%s: no rtmp block to drop", c.name)
		}
		// The admin /stat location keeps its access rules and loses its
		// handler; it is not what this instance is measured on.
		if c.text, ok = dropLines(c.text, "rtmp_stat"); !ok {
			return c, fmt.Errorf("%s: no rtmp_stat to drop", c.name)
		}
	}
	if !v.https {
		return c, nil
	}
	block := append([]string{"ssl_certificate " + cert + ";", "ssl_certificate_key " + key + ";"}, tlsBlock...)
	if v.kTLS {
		block = append(block, kTLSDirective)
	}
	lines := strings.Split(c.text, "\n")
	found := false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		rest, isListen := strings.CutPrefix(t, "listen "+c.listen)
		if !isListen || found {
			continue
		}
		found = true
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		added := make([]string, len(block))
		for j, b := range block {
			added[j] = indent + b
		}
		lines[i] = indent + "listen " + c.listen + " ssl http2" + rest
		lines = append(lines[:i+1], append(added, lines[i+1:]...)...)
	}
	if !found {
		return c, fmt.Errorf("%s: no `listen %s` line to add TLS to", c.name, c.listen)
	}
	c.text = strings.Join(lines, "\n")
	c.client = client
	return c, nil
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

// throwawayCert writes a chain (an ECDSA P-256 leaf for the loopback
// addresses the servers use, then its throwaway CA: two certificates, as a
// Let's Encrypt chain sends) and its key, and returns a client config that
// trusts the CA.
func throwawayCert(dir string) (chainFile, keyFile string, client *tls.Config, err error) {
	ca, err := throwaway.NewCA("livecdn benchmark CA")
	if err != nil {
		return "", "", nil, err
	}
	leaf, err := ca.Issue([]string{"127.0.0.2", "127.0.0.3"}, time.Now().Add(24*time.Hour))
	if err != nil {
		return "", "", nil, err
	}
	chainFile, keyFile = filepath.Join(dir, "chain.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(chainFile, []byte(leaf.Chain), 0o644); err != nil {
		return "", "", nil, err
	}
	// The nginx master reads the key before its workers start.
	if err := os.WriteFile(keyFile, []byte(leaf.Key), 0o600); err != nil {
		return "", "", nil, err
	}
	return chainFile, keyFile, &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}, nil
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

func tlsReport(w io.Writer, o options, set fileSet, variants []variant, servers []*server, workloads []workload,
	results map[string]map[string][]wrkRun, kernelKTLS bool, ktlsUsed map[string]int64, negotiated string) error {
	fmt.Fprintln(w, "### Edge HTTPS: HTTP vs HTTPS, 1 vs 2 workers, ours vs stock (same TLS block)")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Same nginx binary, the same files, wrk -t1 -c%d on loopback, %d rounds of %s per workload and server, every server back to back in each round and in reverse order every other round. HTTPS = the edges' TLS block (TLS 1.2/1.3, ECDHE AES-GCM/CHACHA20, shared session cache, no tickets) with a throwaway ECDSA P-256 certificate (chain: leaf and CA); wrk negotiates TLS 1.3 with HTTP/1.1 and never resumes a session, so every new connection is a full handshake. CPU = utime+stime of all nginx workers from /proc/PID/stat around each wrk run; GB = bytes wrk read (headers included), 10^9. Busy = CPU / wall time (2 workers can exceed 100%%).\n\n",
		o.connections, o.rounds, o.duration)
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
		fmt.Fprintf(w, "kTLS: not measured: this kernel (%s) has no TLS support (%s is missing; CONFIG_TLS unset). Debian's OpenSSL 3.0 is built with kTLS, and Debian 12's 6.1 kernels ship the tls module.\n\n", kernelRelease(), kTLSStat)
	} else {
		for _, v := range variants {
			if v.kTLS {
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
			if v.kTLS {
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
