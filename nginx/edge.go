package nginx

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strings"
)

// EdgeSpec is everything an edge's nginx.conf depends on. It holds nothing
// about other edges, so adding or removing an edge never changes this one.
type EdgeSpec struct {
	// Layout says where files live. Required.
	Layout Layout
	// Name identifies the edge in the X-LiveCDN-Edge header, e.g. "ams3-1". Required.
	Name string
	// HTTPListen serves viewers, e.g. "80" (IPv4). Required.
	HTTPListen string
	// HTTPListenIPv6 serves viewers over IPv6 too, e.g. "[::]:80". Optional.
	HTTPListenIPv6 string
	// RTMPListen is the edge-local RTMP server the static pulls feed; nothing
	// outside the node needs it, so keep it on loopback, e.g. "127.0.0.1:1935". Required.
	RTMPListen string
	// Origin is the origin's RTMP address as IP:PORT. An IP, not a name: nginx
	// resolves a pull's host once at start-up and refuses to start when it
	// cannot. Required.
	Origin string
	// Stream is the event's stream. Required.
	Stream Stream
	// RelayToken lets the edge play from the origin; see RelayToken. Required, secret.
	RelayToken string
	// AdminCIDRs may read stub_status and rtmp_stat. Required.
	AdminCIDRs []string

	// TLS is the edge's certificate. Optional: nil serves HTTP only. With it,
	// HTTPSListen serves everything HTTPListen served, and HTTPListen answers
	// HealthPath and redirects every other request to HTTPS with a 301.
	TLS *TLS
	// HTTPSListen serves viewers over HTTPS (HTTP/2 and HTTP/1.1), e.g.
	// "443". Required with TLS, unused without.
	HTTPSListen string
	// HTTPSListenIPv6 serves HTTPS over IPv6 too, e.g. "[::]:443". Optional,
	// and only with TLS.
	HTTPSListenIPv6 string
	// CORSOrigins are the websites whose pages may fetch the HLS with XHR
	// (hls.js), as browsers send Origin, e.g. "https://event.example.org".
	// Optional: empty allows any site ("*"). When set, list every origin the
	// player page may play from too (the edges' own base URLs, its failover
	// candidates), or a page served by one edge cannot move to another.
	CORSOrigins []string
	// CORSDomain, with CORSOrigins, also lets pages on this domain and on
	// every name under it fetch over HTTPS (https://DOMAIN and
	// https://NAME.DOMAIN): the names the player page is served from and
	// fails over between, as a pattern, so that adding an edge never
	// changes another edge's config. Optional, e.g. "live.example.org".
	CORSDomain string
	// Workers is how many nginx worker processes run. Optional: 0 means 1.
	// The static pulls and their HLS run in worker 0 alone; the others only
	// serve HTTP(S), for an edge whose one worker cannot fill its NIC
	// (mostly with TLS). With more than one, /stat is not served: rtmp_stat
	// answers from whichever worker takes the request.
	Workers int

	// NodeExporterListen and NginxExporterListen are where Debian's
	// prometheus-node-exporter and prometheus-nginx-exporter listen on a
	// droplet, e.g. ":9100" and ":9113" (every address: the cloud firewall
	// admits only admins). Required by RenderEdgeUserData, unused by
	// RenderEdgeConf.
	NodeExporterListen, NginxExporterListen string
}

// MaxEdgeWorkers bounds EdgeSpec.Workers: more processes than that buy an
// edge nothing on the droplet sizes livecdn uses.
const MaxEdgeWorkers = 16

// RelayPageURL is the pageUrl an edge's static pulls present to the origin,
// which rtmp_stat shows as the relay session's pageurl: how status tells
// which edge a relay feeds.
func RelayPageURL(edge string) string { return "livecdn-edge:" + edge }

// EdgeOfRelay reads the edge's name back from a relay session's pageurl; ok
// is false for sessions that are not an edge's pull.
func EdgeOfRelay(pageURL string) (edge string, ok bool) {
	return strings.CutPrefix(pageURL, "livecdn-edge:")
}

// RelayMarker is the file name of RelayMarkerScript under Layout.LibDir.
const RelayMarker = "relay-marker"

// RelayMarkerScript is the script an edge's exec_publish hooks run to keep
// the markers /healthz reads. Install it as Layout.LibDir/RelayMarker, mode 0755.
func RelayMarkerScript() string {
	script, err := execute("relay-marker.sh.tmpl", nil)
	if err != nil {
		panic(err) // a template without actions cannot fail; a test proves it
	}
	return script
}

// HLSPath is the URL path under which an edge serves playlists and segments.
const HLSPath = "/hls/"

// EdgeHeader names the edge that answered, on every response of an edge:
// how the player and the checks tell livecdn's config from any other.
const EdgeHeader = "X-LiveCDN-Edge"

// HealthPath is the URL path of an edge's health check: 200 while it
// receives the stream, 503 otherwise, always with the edge's header.
const HealthPath = "/healthz"

// HealthyBody is what HealthPath answers, with 200, while the edge serves
// the stream: the load balancer's monitor expects it, so a page that only
// happens to answer 200 (Debian's stock nginx during first boot) never
// counts as a healthy edge.
const HealthyBody = "ok"

type edgeView struct {
	EdgeSpec
	Pulls    []edgePull
	Variants []edgeVariant
	// SegmentMaxAge is how long a segment may be cached: its name is reused
	// when the encoder restarts (names are stream timestamps), so not long.
	SegmentMaxAge int
	// HLSRoot is HLSDir's parent: nginx's root for the HLS URL path.
	HLSRoot string
	// MarkerWait bounds how long a new relay may take to deliver its first
	// fragment (aligned slicing closes it within two fragment lengths).
	MarkerWait int
	// TLSFiles is where the certificate and key are, with TLS.
	TLSFiles tlsView
	// HTTPSRedirect is the 301 target of plain HTTP requests, with TLS.
	HTTPSRedirect string
	// CORSDomainPattern matches CORSDomain's origins, as an nginx map regex.
	CORSDomainPattern string
	// RelayPageURL is RelayPageURL(Name).
	RelayPageURL string
}

type edgePull struct{ URL, Name string }

type edgeVariant struct {
	Suffix    string
	Bandwidth int
	Width     int
	Height    int
}

// RenderEdgeConf renders an edge's nginx.conf.
func RenderEdgeConf(spec EdgeSpec) (string, error) {
	view, err := spec.view()
	if err != nil {
		return "", err
	}
	return execute("edge.conf.tmpl", view)
}

func (spec EdgeSpec) view() (edgeView, error) {
	var p problems
	l := spec.Layout
	p.absPath("Layout.ModulePath", l.ModulePath)
	p.absPath("Layout.PIDFile", l.PIDFile)
	p.absPath("Layout.LogDir", l.LogDir)
	p.absPath("Layout.TempDir", l.TempDir)
	p.absPath("Layout.HLSDir", l.HLSDir)
	if path.IsAbs(l.HLSDir) && path.Base(l.HLSDir) != path.Base(HLSPath) {
		p.add("Layout.HLSDir", l.HLSDir, "name the directory %q: it is served as the URL path %s", path.Base(HLSPath), HLSPath)
	}
	p.absPath("Layout.WebRoot", l.WebRoot)
	p.absPath("Layout.LibDir", l.LibDir)
	if !nodeNameRE.MatchString(spec.Name) {
		p.add("Name", spec.Name, "use 1 to 63 of a-z, 0-9 and '-', e.g. ams3-1")
	}
	p.listen("HTTPListen", spec.HTTPListen)
	if spec.HTTPListenIPv6 != "" {
		p.listenIPv6("HTTPListenIPv6", spec.HTTPListenIPv6)
	}
	p.listen("RTMPListen", spec.RTMPListen)
	if ap, err := netip.ParseAddrPort(spec.Origin); err != nil || ap.Port() == 0 || ap.Addr().IsUnspecified() {
		p.add("Origin", spec.Origin, "use the origin's reserved IP and RTMP port, e.g. 203.0.113.10:1935")
	}
	p.stream(spec.Stream)
	p.secret("RelayToken", spec.RelayToken)
	spec.AdminCIDRs = p.cidrs("AdminCIDRs", spec.AdminCIDRs, true)
	tlsFiles := p.tls("TLS", spec.TLS, l)
	if spec.TLS != nil {
		p.listen("HTTPSListen", spec.HTTPSListen)
		if spec.HTTPSListenIPv6 != "" {
			p.listenIPv6("HTTPSListenIPv6", spec.HTTPSListenIPv6)
		}
	} else {
		p.unusedWithoutTLS("HTTPSListen", spec.HTTPSListen)
		p.unusedWithoutTLS("HTTPSListenIPv6", spec.HTTPSListenIPv6)
	}
	spec.CORSOrigins = p.webOrigins("CORSOrigins", spec.CORSOrigins, "the event's website, e.g. https://event.example.org")
	if spec.CORSDomain != "" {
		if !domainRE.MatchString(spec.CORSDomain) {
			p.add("CORSDomain", spec.CORSDomain, "use a lowercase DNS name such as live.example.org")
		}
		if len(spec.CORSOrigins) == 0 {
			p.add("CORSDomain", spec.CORSDomain, "set it only with CORSOrigins: without them every site may fetch")
		}
	}
	if spec.Workers < 0 || spec.Workers > MaxEdgeWorkers {
		p.add("Workers", spec.Workers, "use 1 to %d worker processes (0 means 1)", MaxEdgeWorkers)
	}
	if err := p.err(fmt.Sprintf("edge %q", spec.Name)); err != nil {
		return edgeView{}, err
	}

	s := spec.Stream
	spec.Workers = max(1, spec.Workers)
	view := edgeView{
		EdgeSpec: spec, HLSRoot: path.Dir(l.HLSDir),
		SegmentMaxAge: s.PlaylistSeconds, MarkerWait: 5 * s.FragmentSeconds,
		TLSFiles: tlsFiles, RelayPageURL: RelayPageURL(spec.Name),
	}
	if spec.TLS != nil {
		view.HTTPSRedirect = httpsRedirect(spec.HTTPSListen)
	}
	if spec.CORSDomain != "" {
		view.CORSDomainPattern = `^https://([a-z0-9-]+\.)?` + regexp.QuoteMeta(spec.CORSDomain) + `$`
	}
	if len(s.Renditions) == 0 {
		view.Pulls = []edgePull{spec.pull(IngestApp, s.Name)}
		return view, nil
	}
	for _, r := range s.Renditions {
		view.Pulls = append(view.Pulls, spec.pull(LadderApp, s.StreamName(r)))
		view.Variants = append(view.Variants, edgeVariant{
			Suffix:    "_" + r.Name,
			Bandwidth: (r.VideoKbps + s.AudioKbps) * 1000,
			Width:     r.Width,
			Height:    r.Height,
		})
	}
	return view, nil
}

func (spec EdgeSpec) pull(app, name string) edgePull {
	return edgePull{
		URL:  fmt.Sprintf("rtmp://%s/%s/%s?relay=%s", spec.Origin, app, name, spec.RelayToken),
		Name: name,
	}
}
