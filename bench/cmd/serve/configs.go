package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/livecdn/livecdn/bench/internal/measure"
	"github.com/livecdn/livecdn/lab"
	"github.com/livecdn/livecdn/nginx"
)

// config is one nginx.conf to benchmark, with where its files are served.
type config struct {
	name   string
	dir    string // nginx prefix
	text   string
	listen string // HOST:PORT
	prefix string // URL path the HLS files are under
	// workers is the number of nginx worker processes the text starts.
	workers int
	// client is how clients reach an HTTPS listener (trusting the
	// benchmark's throwaway certificate); nil for plain HTTP.
	client *tls.Config
}

func (c config) base() string {
	if c.client != nil {
		return "https://" + c.listen
	}
	return "http://" + c.listen
}

// edgeHTTPS makes renderOurs render an HTTPS edge (EdgeSpec.TLS): the
// certificate, and a client config that trusts it.
type edgeHTTPS struct {
	cert   nginx.TLS
	client *tls.Config
}

// renderOurs renders livecdn's edge config exactly as production does, with
// a lab-style layout under dir and the benchmark's files as its HLS
// directory. Its static pull points at a closed loopback port: the edge
// retries once a second and serves files meanwhile, so what is measured is
// HTTP serving, not HLS muxing. With https the edge serves viewers on its
// HTTPS listener, which the config then names; workers is
// EdgeSpec.Workers (0 for the renderer's default).
func renderOurs(name, dir, files, stream, host string, https *edgeHTTPS, workers int) (config, error) {
	httpAddr, err := measure.FreeAddr(host)
	if err != nil {
		return config{}, err
	}
	rtmpAddr, err := measure.FreeAddr(host)
	if err != nil {
		return config{}, err
	}
	deadOrigin, err := measure.FreeAddr("127.0.0.1")
	if err != nil {
		return config{}, err
	}
	// Production's layout with every path nginx writes moved under dir; the
	// rest (module, helper scripts) stays where the packages put it, and no
	// worker user: both configs run their workers as the same user.
	layout := nginx.ProductionLayout()
	layout.User = ""
	layout.PIDFile = filepath.Join(dir, "nginx.pid")
	layout.LogDir = filepath.Join(dir, "log")
	layout.TempDir = filepath.Join(dir, "tmp")
	layout.HLSDir = files
	layout.WebRoot = filepath.Join(dir, "www")
	layout.RecordDir = filepath.Join(dir, "recordings")
	layout.TLSDir = filepath.Join(dir, "tls")
	for _, d := range []string{layout.LogDir, layout.TempDir, layout.WebRoot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return config{}, err
		}
	}
	spec := nginx.EdgeSpec{
		Layout:     layout,
		Name:       "bench",
		HTTPListen: httpAddr,
		RTMPListen: rtmpAddr,
		Origin:     deadOrigin,
		Stream:     lab.LabStream(stream, false),
		RelayToken: nginx.RelayToken("bench-stream-key"),
		AdminCIDRs: []string{"127.0.0.0/8"},
		Workers:    workers,
	}
	c := config{name: name, dir: dir, listen: httpAddr, prefix: nginx.HLSPath, workers: max(1, workers)}
	if https != nil {
		if c.listen, err = measure.FreeAddr(host); err != nil {
			return config{}, err
		}
		spec.TLS, spec.HTTPSListen, c.client = &https.cert, c.listen, https.client
		// What cloud-init's write_files does on an edge.
		if err := os.MkdirAll(layout.TLSDir, 0o755); err != nil {
			return config{}, err
		}
		if err := os.WriteFile(layout.TLSChainPath(), []byte(https.cert.Chain), 0o644); err != nil {
			return config{}, err
		}
		if err := os.WriteFile(layout.TLSKeyPath(), []byte(https.cert.Key), 0o600); err != nil {
			return config{}, err
		}
	}
	if c.text, err = nginx.RenderEdgeConf(spec); err != nil {
		return config{}, fmt.Errorf("render edge config: %w", err)
	}
	return c, nil
}

// renderStock renders Debian's stock config (stock.conf.tmpl) over files.
func renderStock(name, dir, files, host string) (config, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return config{}, err
	}
	addr, err := measure.FreeAddr(host)
	if err != nil {
		return config{}, err
	}
	var text bytes.Buffer
	if err := stockConf.Execute(&text, map[string]string{
		"Prefix": dir, "Listen": addr, "Root": files, "MimeTypes": mimeTypes,
	}); err != nil {
		return config{}, fmt.Errorf("render stock config: %w", err)
	}
	return config{name: name, dir: dir, text: text.String(), listen: addr, prefix: "/", workers: 1}, nil
}

// ablation is our config with one thing changed, to attribute the cost
// difference to stock to individual directives. edit returns false when the
// rendered config no longer has what it changes (the template moved on).
type ablation struct {
	name  string
	edit  func(text, files string) (string, bool)
	about string
}

var ablations = []ablation{
	{
		name:  "ours without `expires`",
		about: "drops `expires -1` (m3u8), `expires 12s` (ts) and `expires 1m`",
		edit:  func(t, _ string) (string, bool) { return dropLines(t, "expires ") },
	},
	{
		name:  "ours without `add_header`",
		about: "drops the five server-level `add_header ... always` (CORS, X-LiveCDN-Edge)",
		edit:  func(t, _ string) (string, bool) { return dropLines(t, "add_header ") },
	},
	{
		name:  "ours without the OPTIONS `if`",
		about: "drops `if ($request_method = OPTIONS) { return 204; }` at server level",
		edit:  func(t, _ string) (string, bool) { return dropBlock(t, "if ($request_method = OPTIONS) {") },
	},
	{
		name:  "ours with `root` instead of `alias $livecdn_file`",
		about: "same regex locations without the named capture, `root` the HLS directory's parent (valid because it is named hls, as in production)",
		edit:  rootInsteadOfAlias,
	},
	{
		name:  "ours with `access_log off`",
		about: "no viewer log at all (for scale: stock logs every request unbuffered)",
		edit: func(t, _ string) (string, bool) {
			return replaceLine(t, func(l string) bool {
				return strings.HasPrefix(l, "access_log ") && strings.Contains(l, "livecdn_viewers")
			}, "access_log off;")
		},
	},
	{
		name:  "ours with `pcre_jit on`",
		about: "JIT-compiles the regex locations (nginx's default is off)",
		edit:  pcreJIT,
	},
	{
		name:  "ours, ts requests not logged",
		about: "`access_log off;` in the .ts location only: viewers are counted from playlist requests, so segment lines are not needed",
		edit: func(t, _ string) (string, bool) {
			return insertAfter(t, func(l string) bool {
				return strings.HasPrefix(l, "location ~ ^"+nginx.HLSPath) && strings.Contains(l, `\.ts)$`)
			}, "access_log off;")
		},
	},
}

// suggested is the cheaper config this benchmark's findings point to: the
// same features (CORS, cache headers, the viewer log of playlist requests)
// with the cheaper directives of the ablations above.
var suggested = ablation{
	name:  "ours, suggested",
	about: "`root` instead of `alias $livecdn_file`, ts requests not logged, `pcre_jit on`",
	edit: func(t, files string) (string, bool) {
		t, ok1 := rootInsteadOfAlias(t, files)
		t, ok2 := insertAfter(t, func(l string) bool {
			return strings.HasPrefix(l, "location ~ ^"+nginx.HLSPath) && strings.Contains(l, `\.ts$ {`)
		}, "access_log off;")
		t, ok3 := pcreJIT(t, files)
		return t, ok1 && ok2 && ok3
	},
}

// pcreJIT turns on PCRE JIT compilation in the main context.
func pcreJIT(text, _ string) (string, bool) {
	return insertAfter(text, func(l string) bool { return l == "worker_processes 1;" }, "pcre_jit on;")
}

// dropLines removes every line whose trimmed text starts with prefix.
func dropLines(text, prefix string) (string, bool) {
	var out []string
	found := false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			found = true
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n"), found
}

// dropBlock removes the block opened by the line first and closed by the
// next line that is only "}".
func dropBlock(text, first string) (string, bool) {
	var out []string
	found, skipping := false, false
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case !found && t == first:
			found, skipping = true, true
		case skipping:
			skipping = t != "}"
		default:
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n"), found
}

// replaceLine replaces the first line matching with repl (indentation kept).
func replaceLine(text string, match func(trimmed string) bool, repl string) (string, bool) {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if t := strings.TrimSpace(l); match(t) {
			lines[i] = l[:len(l)-len(strings.TrimLeft(l, " \t"))] + repl
			return strings.Join(lines, "\n"), true
		}
	}
	return text, false
}

// insertAfter inserts line after the first line matching, indented one
// level deeper.
func insertAfter(text string, match func(trimmed string) bool, line string) (string, bool) {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if match(strings.TrimSpace(l)) {
			indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))] + "    "
			lines = append(lines[:i+1], append([]string{indent + line}, lines[i+1:]...)...)
			return strings.Join(lines, "\n"), true
		}
	}
	return text, false
}

// rootInsteadOfAlias turns `location ~ ^/hls/(?<livecdn_file>RE)$ { alias
// DIR/$livecdn_file;` into `location ~ ^/hls/RE$ { root PARENT;`.
func rootInsteadOfAlias(text, files string) (string, bool) {
	if "/"+filepath.Base(files)+"/" != nginx.HLSPath {
		return text, false
	}
	const capture = "(?<livecdn_file>"
	n := 0
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "location ~ ^"+nginx.HLSPath+capture) && strings.HasSuffix(t, ")$ {") {
			re := strings.TrimSuffix(strings.TrimPrefix(t, "location ~ ^"+nginx.HLSPath+capture), ")$ {")
			lines[i] = strings.Replace(l, t, "location ~ ^"+nginx.HLSPath+re+"$ {", 1)
			n++
		}
		if t == "alias "+files+"/$livecdn_file;" {
			lines[i] = strings.Replace(l, t, "root "+filepath.Dir(files)+";", 1)
			n++
		}
	}
	return strings.Join(lines, "\n"), n == 4
}
