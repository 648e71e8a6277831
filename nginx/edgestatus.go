package nginx

import (
	"path"
	"strconv"
	"time"
)

// An edge's status document: EdgeStatusScript writes it every
// EdgeStatusInterval into HLSDir/EdgeStatusFile (the tmpfs, so the writes
// cost no disk), and nginx serves it to AdminCIDRs at EdgeStatusPath on every
// HTTP server of the edge, plain HTTP included: `livecdn status` reaches
// edges by address, which an HTTPS certificate does not cover.
const (
	// EdgeStatusScriptName is the script's file name under Layout.LibDir.
	EdgeStatusScriptName = "edge-status"
	// EdgeStatusFile is the document's name in Layout.HLSDir. nginx's HLS
	// locations serve only .m3u8 and .ts there, and hls_cleanup removes
	// only those, so it neither leaks to viewers nor gets deleted.
	EdgeStatusFile = "status.json"
	// EdgeStatusPath is the URL path the document is served at, to admins.
	EdgeStatusPath = "/livecdn/status"
	// EdgeStatusInterval is how often the script rewrites the document: a
	// killed or stalled edge shows within one `livecdn status` refresh.
	EdgeStatusInterval = 5 * time.Second
	// ViewerWindow is how long a player counts as watching after its last
	// playlist fetch. Players refetch every fragment (at most 10 s), and
	// nginx flushes the access log every 5 s: 30 s sees every active one
	// and forgets a closed tab within half a minute.
	ViewerWindow = 30 * time.Second
	// EdgeStatusUnit is the systemd service running the script on a droplet.
	EdgeStatusUnit = "livecdn-edge-status.service"
)

// EdgeStatus is the document EdgeStatusScript writes, as `livecdn status`
// reads it.
type EdgeStatus struct {
	// Edge is the edge's name.
	Edge string `json:"edge"`
	// Time is when the script wrote it (RFC 3339): an old one means the
	// script stopped.
	Time time.Time `json:"time"`
	// IntervalSeconds is how often it is rewritten.
	IntervalSeconds float64 `json:"intervalSeconds"`
	// WindowSeconds is ViewerWindow.
	WindowSeconds float64 `json:"windowSeconds"`
	// Viewers are the distinct (address, user agent) pairs that fetched a
	// playlist with 200 within the window.
	Viewers int `json:"viewers"`
	// MalformedLines counts access log lines of another format since the
	// last write.
	MalformedLines int `json:"malformedLines"`
	// LogError says why the access log could not be read; empty when it was.
	LogError string `json:"logError"`
	// SegmentAgeSeconds is the age of the newest segment; nil when there is none.
	SegmentAgeSeconds *float64 `json:"segmentAgeSeconds"`
	// PlaylistAgeSeconds is the age of the newest playlist; nil when there is none.
	PlaylistAgeSeconds *float64 `json:"playlistAgeSeconds"`
	// Relays are the static pulls, one per rendition.
	Relays []RelayStatus `json:"relays"`
}

// RelayStatus is one static pull of an edge.
type RelayStatus struct {
	// Stream is the pulled stream's name.
	Stream string `json:"stream"`
	// Live is true while its relay marker exists: the pull holds and media
	// arrived since it attached.
	Live bool `json:"live"`
}

// EdgeStatusScript is the Python 3 program that writes an edge's status
// document. Install it as Layout.LibDir/EdgeStatusScriptName, mode 0755, and
// run it with EdgeStatusArgs.
func EdgeStatusScript() string {
	script, err := execute("edge-status.py.tmpl", nil)
	if err != nil {
		panic(err) // a template without actions cannot fail; a test proves it
	}
	return script
}

// EdgeStatusArgs are the script's arguments for an edge; the droplet's
// systemd unit and the lab run it with the same ones.
func EdgeStatusArgs(spec EdgeSpec) []string {
	l := spec.Layout
	args := []string{
		"--edge", spec.Name,
		"--log", path.Join(l.LogDir, AccessLogFile),
		"--hls", l.HLSDir,
		"--out", path.Join(l.HLSDir, EdgeStatusFile),
		"--interval", strconv.Itoa(int(EdgeStatusInterval / time.Second)),
		"--window", strconv.Itoa(int(ViewerWindow / time.Second)),
	}
	for _, s := range spec.Stream.PulledStreams() {
		args = append(args, "--stream", s)
	}
	return args
}

// AccessLogFile is the edges' access log (livecdn_viewers) in Layout.LogDir.
const AccessLogFile = "access.log"

// NginxExporterArgs are the arguments of Debian's prometheus-nginx-exporter
// (0.11) reading stubStatusURL and serving its metrics on listen; the
// droplets (through /etc/default) and the lab run it with them. It exits at
// start while stub_status does not answer: it retries every 5 s for 10
// minutes, longer than a slow boot keeps nginx from starting.
func NginxExporterArgs(stubStatusURL, listen string) []string {
	return []string{
		"-nginx.scrape-uri=" + stubStatusURL,
		"-nginx.retries=120", "-nginx.retry-interval=5s",
		"-web.listen-address=" + listen,
	}
}
