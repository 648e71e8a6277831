package nginx

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// python3 is what runs the edge-status script on a droplet (cloud-init
// depends on it); the tests run Debian's too.
const python3 = "/usr/bin/python3"

// edgeStatusScript installs the script in a temp dir.
func edgeStatusScript(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(python3); err != nil {
		t.Fatalf("%s is missing: apt-get install python3 (cloud-init pulls it in on droplets)", python3)
	}
	script := filepath.Join(t.TempDir(), EdgeStatusScriptName)
	require.NoError(t, os.WriteFile(script, []byte(EdgeStatusScript()), 0o755))
	return script
}

func logLine(addr string, at time.Time, uri string, status int, ua string) string {
	return fmt.Sprintf("%s [%s] \"GET %s\" %d 512 0.000 \"%s\"\n", addr, at.Format(time.RFC3339), uri, status, ua)
}

func readEdgeStatus(t *testing.T, path string) EdgeStatus {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var st EdgeStatus
	require.NoError(t, json.Unmarshal(data, &st), "%s", data)
	return st
}

// TestEdgeStatusScriptCountsLikeCountViewers: the script on the edge and
// `livecdn viewers` (nginx.CountViewers) must agree on the same log, and the
// document must say what the HLS directory holds.
func TestEdgeStatusScriptCountsLikeCountViewers(t *testing.T) {
	script := edgeStatusScript(t)
	dir := t.TempDir()
	hls := filepath.Join(dir, "hls")
	require.NoError(t, os.Mkdir(hls, 0o755))
	now := time.Now()

	var log strings.Builder
	for i := range 40 {
		// 40 players, 25 of them active in the window; the other 15 were
		// last seen a minute ago.
		at := now.Add(-time.Duration(i%10) * time.Second)
		if i >= 25 {
			at = now.Add(-time.Minute)
		}
		ua := fmt.Sprintf("player/%d", i)
		log.WriteString(logLine(fmt.Sprintf("198.51.100.%d", i%7), at, "/hls/show.m3u8", 200, ua))
		log.WriteString(logLine(fmt.Sprintf("198.51.100.%d", i%7), at, "/hls/show.m3u8", 200, ua)) // refetch: same player
	}
	log.WriteString(logLine("203.0.113.9", now, "/hls/show.m3u8", 404, "late"))    // no stream yet: not watching
	log.WriteString(logLine("203.0.113.9", now, "/hls/show-1.ts", 200, "segment")) // not a playlist
	log.WriteString("not a livecdn_viewers line\n")
	logPath := filepath.Join(dir, AccessLogFile)
	require.NoError(t, os.WriteFile(logPath, []byte(log.String()), 0o644))

	require.NoError(t, os.WriteFile(filepath.Join(hls, "show.m3u8"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(hls, "show-1.ts"), nil, 0o644))
	require.NoError(t, os.Chtimes(filepath.Join(hls, "show-1.ts"), now.Add(-20*time.Second), now.Add(-20*time.Second)))
	require.NoError(t, os.WriteFile(filepath.Join(hls, "show_720p.live"), nil, 0o644))

	out := filepath.Join(hls, EdgeStatusFile)
	cmd := exec.Command(python3, script, "--edge", "ams3-1", "--log", logPath, "--hls", hls, "--out", out,
		"--stream", "show_720p", "--stream", "show_480p", "--once")
	combined, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", combined)

	st := readEdgeStatus(t, out)
	f, err := os.Open(logPath)
	require.NoError(t, err)
	defer f.Close()
	want, err := CountViewers(f, now.Add(-ViewerWindow))
	require.NoError(t, err)
	require.Equal(t, 25, want.Viewers)
	require.Equal(t, want.Viewers, st.Viewers, "the edge and `livecdn viewers` count differently")
	require.Equal(t, want.Malformed, st.MalformedLines)
	require.Equal(t, "ams3-1", st.Edge)
	require.Empty(t, st.LogError)
	require.WithinDuration(t, now, st.Time, time.Minute)
	require.NotNil(t, st.SegmentAgeSeconds)
	require.InDelta(t, 20, *st.SegmentAgeSeconds, 5)
	require.NotNil(t, st.PlaylistAgeSeconds)
	require.Less(t, *st.PlaylistAgeSeconds, *st.SegmentAgeSeconds)
	require.Equal(t, []RelayStatus{{Stream: "show_720p", Live: true}, {Stream: "show_480p", Live: false}}, st.Relays)
}

// TestEdgeStatusScriptFollowsTheLog: the running script reads new lines as
// nginx appends them, starts over on a rotated log and says when the log
// is missing, without ever stopping.
func TestEdgeStatusScriptFollowsTheLog(t *testing.T) {
	script := edgeStatusScript(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, AccessLogFile)
	out := filepath.Join(dir, EdgeStatusFile)
	appendLines := func(players ...string) {
		f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		defer f.Close()
		for _, p := range players {
			_, err := f.WriteString(logLine("192.0.2.1", time.Now(), "/hls/show.m3u8", 200, p))
			require.NoError(t, err)
		}
	}
	appendLines("a", "b")
	cmd := exec.Command(python3, script, "--edge", "e", "--log", logPath, "--hls", dir, "--out", out,
		"--stream", "show", "--interval", "0.1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	waitFor := func(what string, ok func(EdgeStatus) bool) {
		t.Helper()
		var last EdgeStatus
		require.Eventually(t, func() bool {
			data, err := os.ReadFile(out)
			if err != nil || json.Unmarshal(data, &last) != nil {
				return false
			}
			return ok(last)
		}, 20*time.Second, 50*time.Millisecond, "%s; last document: %+v; stderr: %s", what, last, stderr.String())
	}
	waitFor("the lines at start", func(s EdgeStatus) bool { return s.Viewers == 2 })
	appendLines("c", "a")
	waitFor("an appended line", func(s EdgeStatus) bool { return s.Viewers == 3 })

	// logrotate: the old file moves away, nginx reopens a new one.
	require.NoError(t, os.Rename(logPath, logPath+".1"))
	waitFor("a missing log", func(s EdgeStatus) bool { return s.LogError != "" && s.Viewers == 3 })
	appendLines("d")
	waitFor("the new log", func(s EdgeStatus) bool { return s.LogError == "" && s.Viewers == 4 })
}

// edgeStatusVerify checks the status service a droplet runs: its command
// line is the script's with EdgeStatusArgs, the script compiles, and
// systemd loads the unit without a complaint.
func edgeStatusVerify(t *testing.T, tl tools, ud userData, spec EdgeSpec) {
	t.Helper()
	script := filepath.Join(spec.Layout.LibDir, EdgeStatusScriptName)
	require.Equal(t, EdgeStatusScript(), ud.file(t, script).Content)
	require.Equal(t, "0755", ud.file(t, script).Permissions)
	compile := exec.Command(python3, "-c", "import ast,sys; ast.parse(sys.stdin.read())")
	compile.Stdin = strings.NewReader(EdgeStatusScript())
	out, err := compile.CombinedOutput()
	require.NoError(t, err, "the edge-status script does not parse:\n%s", out)

	unit := ud.file(t, edgeStatusUnitPath).Content
	require.Contains(t, unit, "\nExecStart="+script+" "+strings.Join(EdgeStatusArgs(spec), " ")+"\n")
	dir := t.TempDir()
	local := filepath.Join(dir, EdgeStatusScriptName)
	require.NoError(t, os.WriteFile(local, []byte(EdgeStatusScript()), 0o755))
	unitPath := filepath.Join(dir, EdgeStatusUnit)
	require.NoError(t, os.WriteFile(unitPath, []byte(strings.Replace(unit, "ExecStart="+script, "ExecStart="+local, 1)), 0o644))
	cmd := exec.Command(tl.systemdAnalyze, "verify", "--man=no", unitPath)
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+dir+":")
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "systemd-analyze verify:\n%s", out)
	require.Empty(t, string(out), "systemd-analyze verify complains about %s", EdgeStatusUnit)

	nodeExporterVerify(t, ud, spec.NodeExporterListen)
	requireOneARGSLine(t, ud, nginxExporterDefaultsPath)
	require.Contains(t, ud.file(t, nginxExporterDefaultsPath).Content, " -web.listen-address="+spec.NginxExporterListen+`"`)
	require.Contains(t, ud.Packages, "prometheus-nginx-exporter")
}

// nodeExporterVerify checks the node exporter a droplet runs, an edge or
// the origin: Debian's package, listening on listen, with the one set of
// collectors status reads (the ARGS line every droplet shares).
func nodeExporterVerify(t *testing.T, ud userData, listen string) {
	t.Helper()
	requireOneARGSLine(t, ud, nodeExporterDefaultsPath)
	args := exporterARGS.FindStringSubmatch(ud.file(t, nodeExporterDefaultsPath).Content)[1]
	require.Equal(t, "--web.listen-address="+listen+" "+nodeExporterCollectors, args)
	require.Contains(t, ud.Packages, "prometheus-node-exporter")
}

// nodeExporterCollectors are the collectors every droplet enables: cpu and
// netdev for status, the others for a person looking closer.
const nodeExporterCollectors = "--collector.disable-defaults --collector.cpu --collector.netdev --collector.meminfo --collector.loadavg --collector.filesystem"

// exporterARGS is the ARGS line of an exporter's /etc/default file.
var exporterARGS = regexp.MustCompile(`(?m)^ARGS="([^"]*)"$`)

func requireOneARGSLine(t *testing.T, ud userData, path string) {
	t.Helper()
	require.Regexp(t, `(?m)^ARGS="[^"$\\`+"`"+`]*"$`, ud.file(t, path).Content, "%s: one ARGS line the shell and systemd read alike", path)
}

// TestExporterArgsRunOnDebiansExporters starts Debian's exporters with the
// exact ARGS the user data writes, but on loopback ports and, for the nginx
// exporter, a stand-in stub_status: a flag their versions do not know would
// stop them on every edge at boot.
func TestExporterArgsRunOnDebiansExporters(t *testing.T) {
	userData, err := RenderEdgeUserData(exampleEdge("ams3-1"), exampleSite())
	require.NoError(t, err)
	ud := parseUserData(t, userData)
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What nginx's stub_status answers.
		fmt.Fprint(w, "Active connections: 3 \nserver accepts handled requests\n 10 10 42 \nReading: 0 Writing: 1 Waiting: 2 \n")
	}))
	defer stub.Close()
	for _, c := range []struct {
		defaults, bin, metric string
		replace               map[string]string
	}{
		{nodeExporterDefaultsPath, "prometheus-node-exporter", "node_cpu_seconds_total", map[string]string{"--web.listen-address=:9100": "--web.listen-address="}},
		{nginxExporterDefaultsPath, "prometheus-nginx-exporter", "nginx_connections_active 3", map[string]string{
			"-web.listen-address=:9113": "-web.listen-address=", "-nginx.scrape-uri=http://127.0.0.1:80/stub_status": "-nginx.scrape-uri=" + stub.URL + "/stub_status",
		}},
	} {
		t.Run(c.bin, func(t *testing.T) {
			bin, err := exec.LookPath(c.bin)
			require.NoError(t, err, "apt-get install %s (make deps)", c.bin)
			line := exporterARGS.FindStringSubmatch(ud.file(t, c.defaults).Content)
			require.NotNil(t, line)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			addr := ln.Addr().String()
			require.NoError(t, ln.Close())
			args := strings.Fields(line[1])
			for old, repl := range c.replace {
				i := slices.Index(args, old)
				require.GreaterOrEqual(t, i, 0, "%s not in %v", old, args)
				if strings.HasSuffix(repl, "=") {
					repl += addr
				}
				args[i] = repl
			}
			cmd := exec.Command(bin, args...)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			require.Eventually(t, func() bool {
				resp, err := http.Get("http://" + addr + "/metrics")
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp.StatusCode == 200 && strings.Contains(string(body), c.metric)
			}, 15*time.Second, 100*time.Millisecond, "%s %v did not serve %s: %s", bin, args, c.metric, &out)
		})
	}
}
