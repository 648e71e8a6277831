// Package status gathers what `livecdn status` shows: per edge its health,
// viewers, egress, CPU, segment age and relays; for the origin its
// publisher, bitrates, frame rate, relays, recording, egress and CPU;
// totals next to the plan's capacity.
//
// Every figure comes from an admin-only endpoint of the machine itself: the
// edge's /healthz and status document (nginx.EdgeStatus, written on the edge,
// so status never downloads a log), Debian's prometheus-node-exporter and
// prometheus-nginx-exporter, the origin's rtmp_stat and its recordings
// document. Machines are fetched concurrently with a short timeout each; a
// machine that does not answer is reported as such and never hides the
// others. The package knows nothing of Pulumi or the lab: callers describe
// the machines as Targets.
package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/livecdn/livecdn/nginx"
)

// Targets are the machines of one CDN and where their figures are served.
type Targets struct {
	// Name is what the screen's title calls the CDN, e.g. the stack's name. Required.
	Name string
	// Stream is the event's stream: names the pulls and the playlist. Required.
	Stream nginx.Stream
	// Origin is the origin. Required.
	Origin OriginTarget
	// Edges are the edges, in the order the screen lists them. Required.
	Edges []EdgeTarget
	// PlannedViewers is the audience the stack was planned for; 0 when the
	// stack plans none.
	PlannedViewers int
}

// OriginTarget is where the origin's figures are served.
type OriginTarget struct {
	// StatURL is its rtmp_stat page. Required.
	StatURL string
	// RecordingsURL is its recordings uploader's status (see
	// RecordingReport). Optional: empty (a stack or lab that does not
	// record), or a 404 (the uploader has not run yet), shows "recording: n/a".
	RecordingsURL string
	// NodeExporterURL is its prometheus-node-exporter's /metrics, as on an
	// edge. Optional: without it (a lab, a bring-your-own origin) CPU and
	// egress are not known.
	NodeExporterURL string
	// NICGbps is its network cap; 0 when unknown (then no NIC share).
	NICGbps float64
}

// EdgeTarget is where one edge's figures are served.
type EdgeTarget struct {
	// Name is the edge's name, as in its X-LiveCDN-Edge header. Required.
	Name string
	// Region is its region; optional (the lab has none).
	Region string
	// HealthURL is its /healthz. Required.
	HealthURL string
	// StatusURL is its status document (nginx.EdgeStatusPath). Required.
	StatusURL string
	// NodeExporterURL is its prometheus-node-exporter's /metrics. Optional:
	// without it CPU and egress are not known.
	NodeExporterURL string
	// NginxExporterURL is its prometheus-nginx-exporter's /metrics.
	// Optional: without it connections are not known.
	NginxExporterURL string
	// NICGbps is its network cap; 0 when unknown (then no NIC share).
	NICGbps float64
	// CapacityViewers is how many viewers the plan gives it; 0 when unknown.
	CapacityViewers int
}

// Thresholds at which a figure turns red (docs/STATUS.md says what to do).
const (
	// NICWarnPercent: the plan fills 70% of a NIC (plan.UtilizationTarget);
	// past 85% bursts start to queue.
	NICWarnPercent = 85
	// CPUWarnPercent: TLS and the pull share the CPU; past 85% segments queue.
	CPUWarnPercent = 85
	// StaleSegmentFragments: a segment older than this many fragment
	// lengths means the edge cuts no new ones.
	StaleSegmentFragments = 3
	// StaleDocumentIntervals: a status document older than this many of its
	// intervals means the edge's status script stopped.
	StaleDocumentIntervals = 3
)

// Collector fetches the targets' figures. Rates (egress, CPU) need two
// samples: the first Collect takes two, RateWindow apart; later ones use
// the previous Collect's sample.
type Collector struct {
	targets Targets
	client  *http.Client
	// RateWindow separates the two samples of a first Collect. Default 1 s.
	RateWindow time.Duration

	mu sync.Mutex
	// prev is each node exporter's last sample, by URL.
	prev map[string]nodeSample
}

// SetTargets replaces the machines the next Collect fetches, as a rolling
// `pulumi up` replaces edges; call it between Collects. Rates of exporters
// at unchanged URLs go on from their last sample.
func (c *Collector) SetTargets(t Targets) { c.targets = t }

// NewCollector collects from targets, giving each request timeout.
func NewCollector(t Targets, timeout time.Duration) *Collector {
	return &Collector{
		targets:    t,
		client:     &http.Client{Timeout: timeout},
		RateWindow: time.Second,
		prev:       map[string]nodeSample{},
	}
}

// Report is one refresh of the screen, and what --json prints.
type Report struct {
	// Time is when the refresh began.
	Time time.Time `json:"time"`
	// Name is Targets.Name.
	Name   string       `json:"name"`
	Origin OriginReport `json:"origin"`
	Edges  []EdgeReport `json:"edges"`
	// Viewers is the sum over the edges that answered.
	Viewers int `json:"viewers"`
	// EgressMbps is the sum over the edges whose exporter answered; null
	// when none did.
	EgressMbps *float64 `json:"egressMbps"`
	// Problems are what is wrong beyond one machine, e.g. the stack's
	// outputs could not be read again.
	Problems []string `json:"problems"`
	// HealthyEdges counts the healthy edges.
	HealthyEdges int `json:"healthyEdges"`
	// CapacityViewers is the plan's viewers over every edge; 0 when unknown.
	CapacityViewers int `json:"capacityViewers"`
	// PlannedViewers is Targets.PlannedViewers.
	PlannedViewers int `json:"plannedViewers"`
}

// EdgeReport is one edge. Pointers are null when the figure is not known
// (the machine or its exporter did not answer).
type EdgeReport struct {
	Name   string `json:"name"`
	Region string `json:"region,omitempty"`
	// Healthy is /healthz answering 200 "ok": the edge serves a fresh stream.
	Healthy bool `json:"healthy"`
	// Problems say why an edge is unhealthy and what else is red.
	Problems []string `json:"problems"`
	// Viewers are distinct players within nginx.ViewerWindow, from the
	// edge's status document.
	Viewers *int `json:"viewers"`
	// CapacityViewers is EdgeTarget.CapacityViewers.
	CapacityViewers int `json:"capacityViewers"`
	// Load is the edge's egress and CPU.
	Load
	// Connections are nginx's open connections (stub_status).
	Connections *int `json:"connections"`
	// SegmentAgeSeconds is the newest segment's age.
	SegmentAgeSeconds *float64 `json:"segmentAgeSeconds"`
	// Relays are the edge's static pulls, as the edge sees them.
	Relays []nginx.RelayStatus `json:"relays"`
	// OriginRelays counts the relay sessions the origin shows for this
	// edge; null when the origin did not answer.
	OriginRelays *int `json:"originRelays"`
}

// OriginReport is the origin.
type OriginReport struct {
	// Reachable is false when rtmp_stat did not answer; Error says why.
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// Publishing is true while the encoder publishes.
	Publishing bool `json:"publishing"`
	// PublisherAddress is the encoder's address as the origin sees it.
	PublisherAddress string `json:"publisherAddress,omitempty"`
	// BitrateKbps is the incoming stream, VideoKbps plus AudioKbps.
	BitrateKbps int `json:"bitrateKbps"`
	VideoKbps   int `json:"videoKbps"`
	AudioKbps   int `json:"audioKbps"`
	// FrameRate, Width and Height are what the encoder announced.
	FrameRate float64 `json:"frameRate"`
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	// Load is the origin's egress (the edges' pulls) and CPU (the
	// transcoder's), known even when rtmp_stat does not answer.
	Load
	// Relays lists, per pulled stream (rendition), the edges relaying it.
	Relays []StreamRelays `json:"relays"`
	// Recording is the recordings document; null when the origin serves none.
	Recording *RecordingReport `json:"recording"`
	// RecordingError says why the document could not be read, when it exists.
	RecordingError string `json:"recordingError,omitempty"`
	// Problems are what is red about the origin.
	Problems []string `json:"problems"`
}

// Load is what a machine's node exporter says of it, the same figures for
// an edge and the origin. Each is null while not known: no exporter (the
// lab), one that did not answer, or the first refresh after it restarted.
type Load struct {
	// EgressMbps is what the machine sends on every interface but loopback.
	EgressMbps *float64 `json:"egressMbps"`
	// NICPercent is EgressMbps in percent of the NIC's cap.
	NICPercent *float64 `json:"nicPercent"`
	// CPUPercent is the share of all CPUs not idle.
	CPUPercent *float64 `json:"cpuPercent"`
}

// StreamRelays are the edges relaying one stream.
type StreamRelays struct {
	Stream string   `json:"stream"`
	Edges  []string `json:"edges"`
}

// RecordingReport is the part status reads of the uploader's status the
// origin serves at blueprint.RecordingsStatusURL (docs/RECORDINGS.md).
type RecordingReport struct {
	// Updated is when the uploader wrote it; older than
	// RecordingStaleAfter means the uploader is not running.
	Updated time.Time `json:"updated"`
	// Recording counts the chunks nginx is writing: 1 while the encoder
	// publishes, else 0.
	Recording int `json:"recording"`
	// Pending and PendingBytes are closed chunks not yet verified in the
	// bucket: the upload backlog, what a lost origin would cost.
	Pending      int   `json:"pending"`
	PendingBytes int64 `json:"pendingBytes"`
	// Failures counts consecutive failed upload passes; LastError is the
	// last failure's message.
	Failures  int    `json:"failures"`
	LastError string `json:"lastError"`
}

// Collect fetches every machine at once and returns the report. It never
// fails: what did not answer is in the report.
func (c *Collector) Collect(ctx context.Context) Report {
	r := Report{Time: time.Now().UTC(), Name: c.targets.Name, PlannedViewers: c.targets.PlannedViewers, Problems: []string{}}
	r.Edges = make([]EdgeReport, len(c.targets.Edges))
	var wg sync.WaitGroup
	for i, e := range c.targets.Edges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Edges[i] = c.edge(ctx, e)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.Origin = c.origin(ctx)
	}()
	wg.Wait()

	// The origin's view of each edge's relays.
	relays := map[string]int{}
	for _, s := range r.Origin.Relays {
		for _, e := range s.Edges {
			relays[e]++
		}
	}
	want := len(c.targets.Stream.PulledStreams())
	for i := range r.Edges {
		e := &r.Edges[i]
		if r.Origin.Reachable {
			n := relays[e.Name]
			e.OriginRelays = &n
			if n < want && r.Origin.Publishing {
				e.Problems = append(e.Problems, fmt.Sprintf("origin relays %d of %d streams to it", n, want))
			}
		}
		if e.Healthy {
			r.HealthyEdges++
		}
		if e.Viewers != nil {
			r.Viewers += *e.Viewers
		}
		if e.EgressMbps != nil {
			sum := *e.EgressMbps
			if r.EgressMbps != nil {
				sum += *r.EgressMbps
			}
			r.EgressMbps = &sum
		}
		r.CapacityViewers += e.CapacityViewers
	}
	return r
}

func (c *Collector) edge(ctx context.Context, t EdgeTarget) EdgeReport {
	e := EdgeReport{Name: t.Name, Region: t.Region, CapacityViewers: t.CapacityViewers, Problems: []string{}, Relays: []nginx.RelayStatus{}}
	var wg sync.WaitGroup
	var healthErr, docErr, nginxErr error
	var doc nginx.EdgeStatus
	var loadProblems []string
	var conns int
	wg.Add(3)
	go func() {
		defer wg.Done()
		healthErr = c.health(ctx, t.HealthURL)
	}()
	go func() {
		defer wg.Done()
		doc, docErr = c.edgeStatus(ctx, t.StatusURL)
	}()
	go func() {
		defer wg.Done()
		e.Load, loadProblems = c.load(ctx, t.NodeExporterURL, t.NICGbps)
	}()
	if t.NginxExporterURL != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns, nginxErr = c.connections(ctx, t.NginxExporterURL)
		}()
	}
	wg.Wait()

	e.Healthy = healthErr == nil
	if healthErr != nil {
		e.Problems = append(e.Problems, "unhealthy: "+healthErr.Error())
	}
	if docErr != nil {
		e.Problems = append(e.Problems, "status document: "+docErr.Error())
	} else {
		e.Viewers = &doc.Viewers
		e.SegmentAgeSeconds = doc.SegmentAgeSeconds
		e.Relays = doc.Relays
		if age := time.Since(doc.Time); doc.IntervalSeconds > 0 && age > time.Duration(StaleDocumentIntervals*doc.IntervalSeconds*float64(time.Second)) {
			e.Problems = append(e.Problems, fmt.Sprintf("status document is %s old: the edge-status service stopped (systemctl status %s)", age.Round(time.Second), nginx.EdgeStatusUnit))
		}
		if doc.LogError != "" {
			e.Problems = append(e.Problems, doc.LogError)
		}
		frag := float64(c.targets.Stream.FragmentSeconds)
		if a := doc.SegmentAgeSeconds; a != nil && frag > 0 && *a > StaleSegmentFragments*frag {
			e.Problems = append(e.Problems, fmt.Sprintf("newest segment is %.0fs old: no media arrives", *a))
		}
		for _, rl := range doc.Relays {
			if !rl.Live {
				e.Problems = append(e.Problems, fmt.Sprintf("relay %s is down", rl.Stream))
			}
		}
		if t.CapacityViewers > 0 && doc.Viewers > t.CapacityViewers {
			e.Problems = append(e.Problems, fmt.Sprintf("%d viewers, over the planned %d per edge", doc.Viewers, t.CapacityViewers))
		}
	}
	e.Problems = append(e.Problems, loadProblems...)
	if nginxErr != nil {
		e.Problems = append(e.Problems, "nginx exporter: "+nginxErr.Error())
	} else if t.NginxExporterURL != "" {
		e.Connections = &conns
	}
	return e
}

// health is nil while the edge's /healthz answers 200 "ok", else why not.
func (c *Collector) health(ctx context.Context, url string) error {
	body, err := c.get(ctx, url)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(body)) != nginx.HealthyBody {
		return fmt.Errorf("%s answers %q, not %q: not a livecdn edge", url, strings.TrimSpace(string(body)), nginx.HealthyBody)
	}
	return nil
}

func (c *Collector) edgeStatus(ctx context.Context, url string) (nginx.EdgeStatus, error) {
	var doc nginx.EdgeStatus
	body, err := c.get(ctx, url)
	if err != nil {
		return doc, err
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return doc, fmt.Errorf("%s: %w", url, err)
	}
	return doc, nil
}

// load reads a machine's node exporter at url, none when url is empty:
// its figures against a NIC of nicGbps (0: unknown), and what is red about
// them or why they are not known.
func (c *Collector) load(ctx context.Context, url string, nicGbps float64) (Load, []string) {
	if url == "" {
		return Load{}, nil
	}
	rates, err := c.nodeRates(ctx, url)
	if err != nil {
		return Load{}, []string{"node exporter: " + err.Error()}
	}
	l := Load{EgressMbps: &rates.egressMbps, CPUPercent: &rates.cpuPercent}
	var problems []string
	if nicGbps > 0 {
		p := round1(100 * rates.egressMbps / (nicGbps * 1000))
		l.NICPercent = &p
		if p > NICWarnPercent {
			problems = append(problems, fmt.Sprintf("NIC at %.0f%% of %.0f Gbps", p, nicGbps))
		}
	}
	if rates.cpuPercent > CPUWarnPercent {
		problems = append(problems, fmt.Sprintf("CPU at %.0f%%", rates.cpuPercent))
	}
	return l, problems
}

// origin reads the origin's node exporter while originStat reads the rest:
// one that does not answer leaves the other's figures standing.
func (c *Collector) origin(ctx context.Context) OriginReport {
	t := c.targets.Origin
	var load Load
	var loadProblems []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		load, loadProblems = c.load(ctx, t.NodeExporterURL, t.NICGbps)
	}()
	o := c.originStat(ctx)
	<-done
	o.Load = load
	o.Problems = append(o.Problems, loadProblems...)
	return o
}

// originStat reads the origin's rtmp_stat and recordings document.
func (c *Collector) originStat(ctx context.Context) OriginReport {
	o := OriginReport{Relays: []StreamRelays{}, Problems: []string{}}
	var wg sync.WaitGroup
	var stat []byte
	var statErr, recErr error
	var rec *RecordingReport
	wg.Add(1)
	go func() {
		defer wg.Done()
		stat, statErr = c.get(ctx, c.targets.Origin.StatURL)
	}()
	if u := c.targets.Origin.RecordingsURL; u != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, recErr = c.recording(ctx, u)
		}()
	}
	wg.Wait()
	o.Recording = rec
	if recErr != nil {
		o.RecordingError = recErr.Error()
		o.Problems = append(o.Problems, "recordings: "+recErr.Error())
	}
	if statErr != nil {
		o.Error = statErr.Error()
		o.Problems = append(o.Problems, "unreachable: "+statErr.Error())
		return o
	}
	s, err := nginx.ParseRTMPStat(stat)
	if err != nil {
		o.Error = err.Error()
		o.Problems = append(o.Problems, err.Error())
		return o
	}
	o.Reachable = true
	st := c.targets.Stream
	if in := s.Stream(nginx.IngestApp, st.Name); in != nil {
		if p := in.Publisher(); p != nil {
			o.Publishing = true
			o.PublisherAddress = p.Address
			o.VideoKbps, o.AudioKbps = in.BwVideo/1000, in.BwAudio/1000
			o.BitrateKbps = o.VideoKbps + o.AudioKbps
			o.FrameRate, o.Width, o.Height = in.Meta.Video.FrameRate, in.Meta.Video.Width, in.Meta.Video.Height
		}
	}
	if !o.Publishing {
		o.Problems = append(o.Problems, "no encoder publishes "+st.Name)
	}
	app := nginx.IngestApp
	if len(st.Renditions) > 0 {
		app = nginx.LadderApp
	}
	for _, name := range st.PulledStreams() {
		sr := StreamRelays{Stream: name, Edges: []string{}}
		if ss := s.Stream(app, name); ss != nil {
			for _, cl := range ss.Clients {
				if edge, ok := nginx.EdgeOfRelay(cl.PageURL); ok && cl.Publishing == nil {
					sr.Edges = append(sr.Edges, edge)
				}
			}
		}
		slices.Sort(sr.Edges)
		o.Relays = append(o.Relays, sr)
	}
	if rec != nil {
		o.Problems = append(o.Problems, rec.problems(o.Publishing, time.Now())...)
	}
	return o
}

// What turns the recording red (docs/STATUS.md).
const (
	// RecordingBacklogWarnChunks: more closed chunks than this waiting for
	// upload means the uploader is stuck or the uplink too slow.
	RecordingBacklogWarnChunks = 3
	// RecordingStaleAfter: the uploader rewrites its status after every
	// pass; docs/RECORDINGS.md calls one older than a minute not running.
	RecordingStaleAfter = time.Minute
)

func (r *RecordingReport) problems(publishing bool, now time.Time) []string {
	var out []string
	if age := now.Sub(r.Updated); !r.Updated.IsZero() && age > RecordingStaleAfter {
		out = append(out, fmt.Sprintf("recordings status is %s old: the uploader is not running", age.Round(time.Second)))
	}
	if publishing && r.Recording == 0 {
		out = append(out, "the encoder publishes but nothing is recorded")
	}
	if r.Pending > RecordingBacklogWarnChunks {
		out = append(out, fmt.Sprintf("%d recorded chunks wait for upload", r.Pending))
	}
	if r.Failures > 0 {
		out = append(out, fmt.Sprintf("upload failed %d times in a row: %s", r.Failures, r.LastError))
	}
	return out
}

// recording reads the recordings document; nil, nil when the origin serves
// none (404).
func (c *Collector) recording(ctx context.Context, url string) (*RecordingReport, error) {
	body, err := c.get(ctx, url)
	var se *statusError
	if errors.As(err, &se) && se.code == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r RecordingReport
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return &r, nil
}

type statusError struct {
	url  string
	code int
	body string
}

func (e *statusError) Error() string {
	if e.body != "" {
		return fmt.Sprintf("%s: %d %s", e.url, e.code, e.body)
	}
	return fmt.Sprintf("%s: %d %s", e.url, e.code, http.StatusText(e.code))
}

// get fetches url; a status other than 200 is an error carrying the body's
// first line (/healthz says why it is 503).
func (c *Collector) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		first, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		if len(first) > 120 || strings.HasPrefix(first, "<") {
			first = "" // an HTML error page says nothing the code does not
		}
		return nil, &statusError{url: url, code: resp.StatusCode, body: first}
	}
	return body, nil
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }
