package status

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/nginx"
)

var ladder = nginx.Stream{
	Name: "lab", FragmentSeconds: 2, PlaylistSeconds: 12, AudioKbps: 96,
	Renditions: []nginx.Rendition{{Name: "360p", Width: 640, Height: 360, VideoKbps: 800}, {Name: "240p", Width: 426, Height: 240, VideoKbps: 400}},
}

// serve answers paths on a loopback server; a path not listed is a 404.
func serve(t *testing.T, paths map[string]func(w http.ResponseWriter)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := paths[r.URL.Path]; ok {
			h(w)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func text(code int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(code); fmt.Fprint(w, body) }
}

func doc(t *testing.T, d nginx.EdgeStatus) func(w http.ResponseWriter) {
	data, err := json.Marshal(d)
	require.NoError(t, err)
	return text(200, string(data))
}

func ptr[T any](v T) *T { return &v }

// freeAddr is a loopback address where nothing listens (yet).
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// refused is a base URL where nothing answers: a dead machine.
func refused(t *testing.T) string { return "http://" + freeAddr(t) }

func TestParseStatOfALadderOrigin(t *testing.T) {
	body, err := os.ReadFile("testdata/rtmp_stat_ladder.xml") // captured from a lab with 2 edges
	require.NoError(t, err)
	origin := serve(t, map[string]func(http.ResponseWriter){"/stat": text(200, string(body))})
	c := NewCollector(Targets{Name: "lab", Stream: ladder, Origin: OriginTarget{StatURL: origin + "/stat", RecordingsURL: origin + "/recordings.json"}}, time.Second)
	o := c.Collect(context.Background()).Origin
	require.True(t, o.Reachable)
	require.True(t, o.Publishing)
	require.Equal(t, "127.0.0.1", o.PublisherAddress)
	require.Equal(t, 1267, o.VideoKbps)
	require.Equal(t, 109, o.AudioKbps)
	require.Equal(t, o.VideoKbps+o.AudioKbps, o.BitrateKbps)
	require.Equal(t, 30.0, o.FrameRate)
	require.Equal(t, []int{1280, 720}, []int{o.Width, o.Height})
	require.Equal(t, []StreamRelays{{Stream: "lab_360p", Edges: []string{"edge-1", "edge-2"}}, {Stream: "lab_240p", Edges: []string{"edge-1", "edge-2"}}}, o.Relays,
		"the transcoder playing live/lab is no edge, and the ladder's publishers are not relays")
	require.Nil(t, o.Recording, "an uploader that has not run yet (404) is n/a, not a problem")
	require.Empty(t, o.Problems)
	require.Equal(t, Load{}, o.Load, "a lab's origin has no node exporter: unknown")
	require.Equal(t, map[string]any{"egressMbps": nil, "nicPercent": nil, "cpuPercent": nil}, originLoadJSON(t, o),
		"unknown is null, never 0")
}

// originLoadJSON is the origin's load as --json prints it.
func originLoadJSON(t *testing.T, o OriginReport) map[string]any {
	t.Helper()
	data, err := json.Marshal(Report{Origin: o})
	require.NoError(t, err)
	var r struct{ Origin map[string]any }
	require.NoError(t, json.Unmarshal(data, &r))
	out := map[string]any{}
	for _, k := range []string{"egressMbps", "nicPercent", "cpuPercent"} {
		v, ok := r.Origin[k]
		require.True(t, ok, "the origin object has %s", k)
		out[k] = v
	}
	return out
}

// fakeNodeExporter serves what a node exporter says of a 4-vCPU machine
// that sends mbps and keeps busyPercent of its CPUs busy: counters that
// grow with real time, as the real ones do, and a loopback interface that
// must not count as egress.
func fakeNodeExporter(t *testing.T, mbps, busyPercent float64) string {
	t.Helper()
	start := time.Now()
	metrics := func(w http.ResponseWriter) {
		secs := 100 + time.Since(start).Seconds()
		for cpu := range 4 {
			fmt.Fprintf(w, "node_cpu_seconds_total{cpu=\"%d\",mode=\"idle\"} %f\n", cpu, secs*(1-busyPercent/100))
			fmt.Fprintf(w, "node_cpu_seconds_total{cpu=\"%d\",mode=\"user\"} %f\n", cpu, secs*busyPercent/100)
		}
		fmt.Fprintf(w, "node_network_transmit_bytes_total{device=\"eth0\"} %f\n", secs*mbps*1e6/8)
		fmt.Fprintf(w, "node_network_transmit_bytes_total{device=\"lo\"} %f\n", secs*1e9)
	}
	return serve(t, map[string]func(http.ResponseWriter){"/metrics": metrics}) + "/metrics"
}

// ladderOrigin serves the captured rtmp_stat of a ladder origin.
func ladderOrigin(t *testing.T) string {
	t.Helper()
	body, err := os.ReadFile("testdata/rtmp_stat_ladder.xml")
	require.NoError(t, err)
	return serve(t, map[string]func(http.ResponseWriter){"/stat": text(200, string(body))}) + "/stat"
}

// TestOriginLoad: the origin's egress, NIC share and CPU come from its
// node exporter, computed as an edge's and red past the same thresholds,
// and --json names them as it does an edge's.
func TestOriginLoad(t *testing.T) {
	c := NewCollector(Targets{Stream: ladder, Origin: OriginTarget{StatURL: ladderOrigin(t), NodeExporterURL: fakeNodeExporter(t, 1950, 90), NICGbps: 2}}, time.Second)
	c.RateWindow = 300 * time.Millisecond
	for refresh := range 2 { // the first takes two samples, the second uses the first's
		o := c.Collect(context.Background()).Origin
		require.True(t, o.Publishing, "refresh %d", refresh)
		require.Len(t, o.Relays, 2)
		require.InEpsilon(t, 1950, *o.EgressMbps, 0.05, "loopback is not egress")
		require.InDelta(t, *o.EgressMbps/20, *o.NICPercent, 0.1, "of a 2 Gbps NIC")
		require.Equal(t, 90.0, *o.CPUPercent)
		require.Len(t, o.Problems, 2, "%v", o.Problems)
		require.Regexp(t, `^NIC at 9\d% of 2 Gbps$`, o.Problems[0])
		require.Equal(t, "CPU at 90%", o.Problems[1])
		got := originLoadJSON(t, o)
		require.Equal(t, 90.0, got["cpuPercent"])
		require.Equal(t, *o.EgressMbps, got["egressMbps"])
		require.Equal(t, *o.NICPercent, got["nicPercent"])
	}

	// Without the size's cap there is no share to show.
	c = NewCollector(Targets{Stream: ladder, Origin: OriginTarget{StatURL: ladderOrigin(t), NodeExporterURL: fakeNodeExporter(t, 80, 30)}}, time.Second)
	c.RateWindow = 300 * time.Millisecond
	o := c.Collect(context.Background()).Origin
	require.InEpsilon(t, 80, *o.EgressMbps, 0.05)
	require.Nil(t, o.NICPercent)
	require.Equal(t, 30.0, *o.CPUPercent)
	require.Empty(t, o.Problems)
}

// TestOriginExporterAndStatFailApart: a node exporter that does not answer
// leaves its figures unknown and the stream's standing, and a dead
// rtmp_stat leaves the load standing.
func TestOriginExporterAndStatFailApart(t *testing.T) {
	// The servers first: refused's port is free only until another listens.
	stat, exporter := ladderOrigin(t), fakeNodeExporter(t, 40, 20)
	dead := refused(t)
	c := NewCollector(Targets{Name: "lab", Stream: ladder, Origin: OriginTarget{StatURL: stat, NodeExporterURL: dead + "/metrics", NICGbps: 2}}, time.Second)
	r := c.Collect(context.Background())
	o := r.Origin
	require.True(t, o.Reachable)
	require.True(t, o.Publishing)
	require.Equal(t, 1267, o.VideoKbps)
	require.Len(t, o.Relays, 2)
	require.Equal(t, Load{}, o.Load)
	require.Len(t, o.Problems, 1)
	require.Contains(t, o.Problems[0], "node exporter: ")
	require.Contains(t, o.Problems[0], "connection refused")
	require.Equal(t, map[string]any{"egressMbps": nil, "nicPercent": nil, "cpuPercent": nil}, originLoadJSON(t, o))
	var screen bytes.Buffer
	require.NoError(t, Screen{}.Render(&screen, r))
	require.Contains(t, screen.String(), "\nORIGIN  publishing from 127.0.0.1 ")
	require.Contains(t, screen.String(), "\n        egress Mbps: -   NIC: -   CPU: -\n")
	require.Contains(t, screen.String(), "\n        relays per rendition: lab_360p→2  lab_240p→2\n")
	require.Contains(t, screen.String(), "\n! origin: node exporter: ")

	c = NewCollector(Targets{Stream: ladder, Origin: OriginTarget{StatURL: dead + "/stat", NodeExporterURL: exporter, NICGbps: 2}}, time.Second)
	c.RateWindow = 300 * time.Millisecond
	o = c.Collect(context.Background()).Origin
	require.False(t, o.Reachable)
	require.Equal(t, 20.0, *o.CPUPercent, "the machine answers though its nginx does not")
	require.InDelta(t, 2.0, *o.NICPercent, 0.2)
	require.Len(t, o.Problems, 1)
	require.Contains(t, o.Problems[0], "unreachable: ")
}

func TestOriginProblems(t *testing.T) {
	idle := `<rtmp><server><application><name>live</name><live></live></application></server></rtmp>`
	origin := serve(t, map[string]func(http.ResponseWriter){
		"/stat": text(200, idle),
		// docs/RECORDINGS.md's example, failing and behind.
		"/recordings.json": text(200, `{"updated":"`+time.Now().UTC().Format(time.RFC3339)+`","bucket":"team-recordings","prefix":"animecon-2026",
 "recording":0,"pending":7,"pendingBytes":734003200,"uploaded":4,"lastUploaded":"main-1795914643.flv",
 "failures":2,"lastError":"connection reset","lastErrorAt":"","retryAt":""}`),
	})
	c := NewCollector(Targets{Stream: ladder, Origin: OriginTarget{StatURL: origin + "/stat", RecordingsURL: origin + "/recordings.json"}}, time.Second)
	o := c.Collect(context.Background()).Origin
	require.False(t, o.Publishing)
	require.Equal(t, 7, o.Recording.Pending)
	require.Equal(t, int64(734003200), o.Recording.PendingBytes)
	require.Equal(t, []string{"no encoder publishes lab", "7 recorded chunks wait for upload", "upload failed 2 times in a row: connection reset"}, o.Problems)

	dead := refused(t)
	c = NewCollector(Targets{Stream: ladder, Origin: OriginTarget{StatURL: dead + "/stat", RecordingsURL: dead + "/recordings.json"}}, time.Second)
	o = c.Collect(context.Background()).Origin
	require.False(t, o.Reachable)
	require.Contains(t, o.Error, "connection refused")
	require.Len(t, o.Problems, 2, "the stat page and the recordings document: %v", o.Problems)
}

// TestEdgesAreReportedIndependently: a dead edge, a starved one and a
// stalled status script each show with their reason; the healthy edge and
// the totals are unaffected.
func TestEdgesAreReportedIndependently(t *testing.T) {
	now := time.Now()
	relays := []nginx.RelayStatus{{Stream: "lab_360p", Live: true}, {Stream: "lab_240p", Live: true}}
	good := serve(t, map[string]func(http.ResponseWriter){
		"/healthz":        text(200, "ok\n"),
		"/livecdn/status": doc(t, nginx.EdgeStatus{Edge: "good", Time: now, IntervalSeconds: 5, Viewers: 120, SegmentAgeSeconds: ptr(1.5), Relays: relays}),
	})
	starved := serve(t, map[string]func(http.ResponseWriter){
		"/healthz": text(503, "lab_240p: not receiving from the origin\n"),
		"/livecdn/status": doc(t, nginx.EdgeStatus{Edge: "starved", Time: now, IntervalSeconds: 5, Viewers: 3, SegmentAgeSeconds: ptr(14.0),
			Relays: []nginx.RelayStatus{{Stream: "lab_360p", Live: true}, {Stream: "lab_240p", Live: false}}}),
	})
	stalled := serve(t, map[string]func(http.ResponseWriter){
		"/healthz":        text(200, "ok\n"),
		"/livecdn/status": doc(t, nginx.EdgeStatus{Edge: "stalled", Time: now.Add(-time.Minute), IntervalSeconds: 5, Viewers: 900, SegmentAgeSeconds: ptr(1.0), Relays: relays}),
	})
	dead := refused(t)
	edge := func(name, base string) EdgeTarget {
		return EdgeTarget{Name: name, HealthURL: base + "/healthz", StatusURL: base + "/livecdn/status", CapacityViewers: 500}
	}
	c := NewCollector(Targets{Stream: ladder, Origin: OriginTarget{StatURL: dead + "/stat"},
		Edges: []EdgeTarget{edge("good", good), edge("dead", dead), edge("starved", starved), edge("stalled", stalled)}}, time.Second)
	r := c.Collect(context.Background())

	require.Len(t, r.Edges, 4)
	g, d, s, st := r.Edges[0], r.Edges[1], r.Edges[2], r.Edges[3]
	require.True(t, g.Healthy)
	require.Empty(t, g.Problems)
	require.Equal(t, 120, *g.Viewers)
	require.Nil(t, g.OriginRelays, "the origin did not answer: unknown, not 0")

	require.False(t, d.Healthy)
	require.Nil(t, d.Viewers)
	require.Contains(t, d.Problems[0], "unhealthy: ")
	require.Contains(t, d.Problems[0], "connection refused")

	require.False(t, s.Healthy)
	require.Equal(t, []string{
		"unhealthy: " + starved + "/healthz: 503 lab_240p: not receiving from the origin",
		"newest segment is 14s old: no media arrives",
		"relay lab_240p is down",
	}, s.Problems)

	require.True(t, st.Healthy)
	require.Len(t, st.Problems, 2)
	require.Contains(t, st.Problems[0], "status document is 1m0s old")
	require.Equal(t, "900 viewers, over the planned 500 per edge", st.Problems[1])

	require.Equal(t, 120+3+900, r.Viewers, "the edges that answered")
	require.Equal(t, 2, r.HealthyEdges)
	require.Equal(t, 2000, r.CapacityViewers)
	require.Nil(t, r.EgressMbps, "no exporter answered")
}

func TestRecordingProblems(t *testing.T) {
	now := time.Date(2026, 11, 29, 14, 5, 0, 0, time.UTC)
	fine := RecordingReport{Updated: now.Add(-10 * time.Second), Recording: 1, Pending: 1}
	require.Empty(t, fine.problems(true, now))
	stale := fine
	stale.Updated = now.Add(-3 * time.Minute)
	require.Equal(t, []string{"recordings status is 3m0s old: the uploader is not running"}, stale.problems(true, now))
	idle := fine
	idle.Recording = 0
	require.Equal(t, []string{"the encoder publishes but nothing is recorded"}, idle.problems(true, now))
	require.Empty(t, idle.problems(false, now), "nothing to record without an encoder")
}

func TestRatesBetweenSamples(t *testing.T) {
	at := time.Unix(1000, 0)
	a := nodeSample{at: at, txBytes: 1e9, cpuIdle: 300, cpuAll: 400}
	b := nodeSample{at: at.Add(2 * time.Second), txBytes: 1e9 + 250e6, cpuIdle: 302, cpuAll: 408}
	r, err := ratesBetween(a, b)
	require.NoError(t, err)
	require.Equal(t, 1000.0, r.egressMbps, "250 MB in 2 s")
	require.Equal(t, 75.0, r.cpuPercent, "2 of 8 CPU-seconds idle")
	_, err = ratesBetween(b, a)
	require.ErrorContains(t, err, "restarted")
	_, err = ratesBetween(a, a)
	require.ErrorContains(t, err, "too close")
}

// TestNodeExporterAsDebianShipsIt scrapes Debian's prometheus-node-exporter
// with the collectors the edges enable: the metric names status reads exist
// and give sane rates, and the NIC share follows from the target's cap.
func TestNodeExporterAsDebianShipsIt(t *testing.T) {
	bin, err := exec.LookPath("prometheus-node-exporter")
	require.NoError(t, err, "apt-get install prometheus-node-exporter (make deps)")
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--collector.disable-defaults", "--collector.cpu", "--collector.netdev")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://" + addr + "/metrics"
	require.Eventually(t, func() bool {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "the exporter did not start: %s", &out)

	c := NewCollector(Targets{}, time.Second)
	c.RateWindow = 300 * time.Millisecond
	r, err := c.nodeRates(context.Background(), url)
	require.NoError(t, err)
	require.GreaterOrEqual(t, r.cpuPercent, 0.0)
	require.LessOrEqual(t, r.cpuPercent, 100.0)
	require.GreaterOrEqual(t, r.egressMbps, 0.0)
	_, err = c.nodeRates(context.Background(), url)
	require.NoError(t, err, "the second refresh uses the first one's sample")

	e := c.edge(context.Background(), EdgeTarget{Name: "e", HealthURL: url, StatusURL: url, NodeExporterURL: url, NICGbps: 2})
	require.NotNil(t, e.NICPercent)
	require.InDelta(t, *e.EgressMbps/20, *e.NICPercent, 0.1)

	// The origin runs the same exporter with the same arguments.
	c = NewCollector(Targets{Origin: OriginTarget{StatURL: refused(t) + "/stat", NodeExporterURL: url, NICGbps: 10}}, time.Second)
	c.RateWindow = 300 * time.Millisecond
	o := c.Collect(context.Background()).Origin
	require.NotNil(t, o.CPUPercent, "%v", o.Problems)
	require.NotNil(t, o.NICPercent)
	require.InDelta(t, *o.EgressMbps/100, *o.NICPercent, 0.1)
}

func TestParseMetrics(t *testing.T) {
	samples, err := parseMetrics([]byte(`# HELP x y
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 10.5
node_network_transmit_bytes_total{device="lo"} 1e+06
node_network_transmit_bytes_total{device="eth0"} 2000
weird{a="x,y",b="q\"uote"} 3 1700000000000
nginx_up 1
`))
	require.NoError(t, err)
	require.Len(t, samples, 5)
	require.Equal(t, map[string]string{"a": "x,y", "b": `q"uote`}, samples[3].labels)
	require.Equal(t, 3.0, samples[3].value)
	n, err := nodeSampleOf(samples, time.Now())
	require.NoError(t, err)
	require.Equal(t, 2000.0, n.txBytes, "loopback is not egress")

	_, err = parseMetrics([]byte("broken{a=\"x\" 1\n"))
	require.Error(t, err)
	_, err = nodeSampleOf(samples[4:], time.Now())
	require.ErrorContains(t, err, "enable the cpu and netdev collectors")
}

// TestScreen pins the screen for a day with problems (testdata/screen.golden;
// UPDATE_GOLDEN=1 rewrites it).
func TestScreen(t *testing.T) {
	r := Report{
		Time: time.Date(2026, 11, 29, 14, 5, 0, 0, time.UTC), Name: "animecon",
		Origin: OriginReport{Reachable: true, Publishing: true, PublisherAddress: "198.51.100.23", BitrateKbps: 6128, VideoKbps: 6000, AudioKbps: 128,
			FrameRate: 29.97, Width: 1920, Height: 1080, Load: Load{EgressMbps: ptr(1120.4), NICPercent: ptr(11.2), CPUPercent: ptr(88.0)},
			Relays:    []StreamRelays{{Stream: "con_720p", Edges: []string{"ams3-1", "ams3-2"}}, {Stream: "con_480p", Edges: []string{"ams3-1"}}},
			Recording: &RecordingReport{Updated: time.Date(2026, 11, 29, 14, 4, 55, 0, time.UTC), Recording: 1, Pending: 5, PendingBytes: 3 << 30},
			Problems:  []string{"5 recorded chunks wait for upload", "CPU at 88%"}},
		Edges: []EdgeReport{
			{Name: "ams3-1", Region: "ams3", Healthy: true, Viewers: ptr(812), CapacityViewers: 1365, Load: Load{EgressMbps: ptr(4120.5), NICPercent: ptr(41.2), CPUPercent: ptr(38.0)},
				Connections: ptr(830), SegmentAgeSeconds: ptr(1.2), Relays: []nginx.RelayStatus{{Stream: "con_720p", Live: true}, {Stream: "con_480p", Live: true}}, OriginRelays: ptr(2)},
			{Name: "ams3-2", Region: "ams3", Healthy: false, Problems: []string{"unhealthy: http://203.0.113.12:80/healthz: 503 con_480p: not receiving from the origin", "relay con_480p is down"},
				Viewers: ptr(15), CapacityViewers: 1365, Load: Load{EgressMbps: ptr(80.0), NICPercent: ptr(0.8), CPUPercent: ptr(91.0)}, Connections: ptr(20), SegmentAgeSeconds: ptr(9.5),
				Relays: []nginx.RelayStatus{{Stream: "con_720p", Live: true}, {Stream: "con_480p", Live: false}}, OriginRelays: ptr(1)},
			{Name: "nyc3-1", Region: "nyc3", Problems: []string{"unhealthy: dial tcp 203.0.113.20:80: i/o timeout"}, CapacityViewers: 1365},
		},
		Viewers: 827, EgressMbps: ptr(4200.5), HealthyEdges: 1, CapacityViewers: 4095, PlannedViewers: 2000,
	}
	var plain, color bytes.Buffer
	require.NoError(t, Screen{}.Render(&plain, r))
	require.NoError(t, Screen{Color: true}.Render(&color, r))
	checkGolden(t, "screen.golden", plain.String())
	require.Contains(t, color.String(), "\x1b[31mDOWN\x1b[0m")
	require.NotContains(t, plain.String(), "\x1b[")
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run UPDATE_GOLDEN=1 go test ./status/ and review the new file")
	require.Equal(t, string(want), got, "%s differs: run UPDATE_GOLDEN=1 go test ./status/ if the change is intended", path)
}
