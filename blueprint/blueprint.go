// Package blueprint is the one place that turns a stack into machines: for
// each machine its name, role, region, size, firewall rules, DNS names and
// one function that renders its complete files from the values only the
// cloud knows (the origin's address) and the stream key.
//
// The Pulumi program (its preflight and each component's ApplyT), `livecdn
// render` and the rehearsal harness all call it, so what a test or a
// reviewer sees is what a droplet gets. It is pure: no Pulumi, no I/O.
package blueprint

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/nginx"
	"github.com/livecdn/livecdn/plan"
)

// Role is what a machine does in the CDN. DigitalOcean tags are named after
// roles, so a firewall can admit "every edge" without listing them.
type Role string

const (
	// RoleOrigin takes the encoder's stream and relays it to the edges.
	RoleOrigin Role = "origin"
	// RoleEdge pulls the stream once and serves viewers.
	RoleEdge Role = "edge"
)

// OriginName is the origin machine's name.
const OriginName = "origin"

// Stack is everything one stack deploys, computed once from its settings.
type Stack struct {
	// Settings are the stack's validated settings.
	Settings *config.Settings
	// Plan is the capacity plan the edges come from.
	Plan plan.Result
	// Scheme is how viewers reach the edges.
	Scheme Scheme
	// Origin is the origin machine; Origin.BYO says it is the team's own.
	Origin Machine
	// Edges are the edge machines, region by region.
	Edges []Machine
	// Records are the DNS records a stack with DNS declares; nil without.
	Records []Record
}

// Machine is one machine of a stack.
type Machine struct {
	// Name is "origin" or REGION-N, e.g. "ams3-1": the Pulumi name, the DNS
	// label and the X-LiveCDN-Edge header. N counts from 1 within the
	// region, so adding an edge never renames another.
	Name string
	// Role is what the machine does.
	Role Role
	// Region and Size are DigitalOcean slugs; empty for a bring-your-own origin.
	Region, Size string
	// BYO is the team's own origin server, set up over ssh: no droplet, no
	// cloud firewall, Address below is its address.
	BYO bool
	// Address is known before deployment only for a bring-your-own origin.
	Address netip.Addr
	// Inbound is what the machine's cloud firewall admits; outbound is open
	// (a DigitalOcean firewall without outbound rules blocks apt and pulls).
	// Empty for a bring-your-own origin, whose firewall is its owner's.
	Inbound []Rule
	// Hostnames are the DNS names that answer with this machine's address;
	// nil without DNS.
	Hostnames []string
	// Name under the stack's domain that the certificate covers and URLs
	// use (EdgeHost, IngestHost); empty when the stack serves plain HTTP.
	TLSName string
	// Recordings is where the origin uploads its recording (the stack's
	// livecdn:recordings); nil on edges and without uploads. Its key comes
	// from Cloud.
	Recordings *config.Recordings

	render func(Cloud) (Files, error)
}

// Cloud holds the values a stack file cannot: what the cloud assigns and the
// stream key, a secret that reaches the program only as a secret Output.
type Cloud struct {
	// OriginAddress is the origin's reserved IP (or a bring-your-own
	// origin's address): where the edges pull from.
	OriginAddress netip.Addr
	// StreamKey is the publish key; edges get a relay token derived from it.
	StreamKey string
	// Certificate and CertificateKey are the stack's PEM certificate chain
	// and its key, which the edges (HTTPS) and the origin (RTMPS) serve;
	// both empty on a stack that serves plain HTTP.
	Certificate, CertificateKey string
	// SpacesAccessKey and SpacesSecretKey are the Spaces key, limited to the
	// recordings bucket, that the program creates for the origin's uploads;
	// both empty on a stack without livecdn:recordings.
	SpacesAccessKey, SpacesSecretKey string
}

// Files are the complete text one machine gets.
type Files struct {
	// NginxConf is the machine's /etc/nginx/nginx.conf.
	NginxConf string
	// UserData is a droplet's cloud-init user data; empty for a
	// bring-your-own origin.
	UserData string
	// Bootstrap is the script `pulumi up` runs over ssh on a bring-your-own
	// origin; empty otherwise.
	Bootstrap string
	// Site is the player page an edge serves, also inside its UserData.
	Site []nginx.SiteFile
}

// Render renders the machine's files. The result holds the stream key or
// the relay token: inside Pulumi, call it in an ApplyT of secret Outputs.
func (m Machine) Render(c Cloud) (Files, error) {
	f, err := m.render(c)
	if err != nil {
		return Files{}, fmt.Errorf("%s %s: %w", m.Role, m.Name, err)
	}
	return f, nil
}

// Production ports.
const (
	// RTMPPort takes the encoder and the edges' pulls on the origin.
	RTMPPort = 1935
	// StatPort serves the origin's rtmp_stat and stub_status to admins.
	StatPort = 8080
	// HTTPPort serves viewers on the edges.
	HTTPPort = 80
	// HTTPSPort serves viewers over TLS on the edges of a stack with a domain.
	HTTPSPort = 443
	// RTMPSPort takes the encoder over TLS on the origin of a stack with a
	// domain: the port venue networks let out, where 1935 is often blocked.
	RTMPSPort = 443
	// SSHPort lets admins in.
	SSHPort = 22
	// NodeExporterPort serves a droplet's prometheus-node-exporter (CPU,
	// network), an edge's or the origin's, to admins; `livecdn status`
	// reads it.
	NodeExporterPort = 9100
	// NginxExporterPort serves an edge's prometheus-nginx-exporter
	// (stub_status as metrics) to admins. The origin runs none: its
	// figures come from rtmp_stat.
	NginxExporterPort = 9113
	// authListen is the origin's loopback-only on_publish/on_play server.
	authListen = "127.0.0.1:8086"
	// edgeRTMPListen is the edge-local RTMP server the pulls feed.
	edgeRTMPListen = "127.0.0.1:1935"
	// rtmpsBackendListen is the origin's loopback RTMP listener behind
	// RTMPS: the stream module forwards each encoder to it with the PROXY
	// protocol, so the ingest rules judge the encoder's own address.
	rtmpsBackendListen = "127.0.0.1:1936"
)

// New computes a stack's machines from its validated settings. It renders
// nothing yet; Check does, with stand-ins for the cloud's values.
func New(s *config.Settings) (*Stack, error) {
	p, err := plan.Plan(plan.InputFrom(s))
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	st := &Stack{Settings: s, Plan: p, Scheme: SchemeOf(s)}
	stream := Stream(s.Stream)
	site, err := site(s, stream)
	if err != nil {
		return nil, err
	}

	originSpec := func(c Cloud) nginx.OriginSpec {
		spec := nginx.OriginSpec{
			Layout:      nginx.ProductionLayout(),
			RTMPListen:  strconv.Itoa(RTMPPort),
			StatListen:  strconv.Itoa(StatPort),
			AuthListen:  authListen,
			Stream:      stream,
			StreamKey:   c.StreamKey,
			IngestCIDRs: CIDRs(s.IngestCIDRs),
			// Edges are admitted by their relay token; the cloud firewall
			// admits RTMP only from the edges' tag.
			AdminCIDRs: CIDRs(s.AdminCIDRs),
			Record:     s.Stream.Record,
			// A droplet only: the bootstrap of a team's own server
			// installs no exporter.
			NodeExporterListen: exporterListen(NodeExporterPort),
		}
		if r := s.Recordings; r != nil {
			spec.Recordings = &nginx.Recordings{
				ChunkInterval: time.Duration(r.ChunkMinutes) * time.Minute,
				Endpoint:      config.SpacesEndpoint(r.Region),
				Provider:      nginx.ProviderSpaces,
				Region:        r.Region,
				Bucket:        r.Bucket,
				Prefix:        r.Prefix,
				AccessKey:     c.SpacesAccessKey,
				SecretKey:     c.SpacesSecretKey,
			}
		}
		if s.HTTPS() {
			spec.TLS = c.tls()
			spec.RTMPSListen = strconv.Itoa(RTMPSPort)
			spec.RTMPSBackendListen = rtmpsBackendListen
		}
		return spec
	}
	st.Origin = Machine{Name: OriginName, Role: RoleOrigin, Region: s.Origin.Region, Size: s.Origin.Size, Recordings: s.Recordings}
	if s.HTTPS() {
		st.Origin.TLSName = IngestHost(s.Domain)
	}
	byo := s.Origin.BYO
	if byo != nil {
		st.Origin.Region, st.Origin.Size = "", ""
		st.Origin.BYO, st.Origin.Address = true, byo.Address
	} else {
		st.Origin.Inbound = originInbound(s)
	}
	// A droplet gets cloud-init user data; the team's own server the
	// bootstrap script `pulumi up` sends over ssh.
	st.Origin.render = func(c Cloud) (Files, error) {
		spec := originSpec(c)
		conf, err := nginx.RenderOriginConf(spec)
		if err != nil {
			return Files{}, err
		}
		if byo != nil {
			script, err := nginx.RenderOriginBootstrap(spec)
			return Files{NginxConf: conf, Bootstrap: script}, err
		}
		userData, err := nginx.RenderOriginUserData(spec)
		return Files{NginxConf: conf, UserData: userData}, err
	}

	for _, r := range p.Regions {
		for i := 1; i <= r.Edges; i++ {
			name := r.Region + "-" + strconv.Itoa(i)
			// Worker 0 pulls and cuts the HLS; the others serve viewers, so
			// that TLS can use the share of vCPUs the planner counted on.
			size, ok := config.LookupSize(r.Size)
			if !ok {
				return nil, fmt.Errorf("edges in %s: size %q is not in the catalog", r.Region, r.Size)
			}
			workers := plan.EdgeWorkers(size)
			tlsName := ""
			if s.HTTPS() {
				tlsName = EdgeHost(s.Domain, name)
			}
			st.Edges = append(st.Edges, Machine{
				Name: name, Role: RoleEdge, Region: r.Region, Size: r.Size,
				Inbound: edgeInbound(s), TLSName: tlsName,
				render: func(c Cloud) (Files, error) {
					if !c.OriginAddress.IsValid() {
						return Files{}, errors.New("the origin's address is not known")
					}
					spec := nginx.EdgeSpec{
						Layout:         nginx.ProductionLayout(),
						Name:           name,
						HTTPListen:     strconv.Itoa(HTTPPort),
						HTTPListenIPv6: "[::]:" + strconv.Itoa(HTTPPort),
						RTMPListen:     edgeRTMPListen,
						Origin:         OriginPull(c.OriginAddress),
						Stream:         stream,
						RelayToken:     nginx.RelayToken(c.StreamKey),
						AdminCIDRs:     CIDRs(s.AdminCIDRs),
						Workers:        workers,

						NodeExporterListen:  exporterListen(NodeExporterPort),
						NginxExporterListen: exporterListen(NginxExporterPort),
					}
					if s.HTTPS() {
						spec.TLS = c.tls()
						spec.HTTPSListen = strconv.Itoa(HTTPSPort)
						spec.HTTPSListenIPv6 = "[::]:" + strconv.Itoa(HTTPSPort)
						if spec.CORSOrigins = CORSOrigins(s); spec.CORSOrigins != nil {
							spec.CORSDomain = s.Domain
						}
					}
					conf, err := nginx.RenderEdgeConf(spec)
					if err != nil {
						return Files{}, err
					}
					userData, err := nginx.RenderEdgeUserData(spec, site)
					return Files{NginxConf: conf, UserData: userData, Site: site}, err
				},
			})
		}
	}
	if s.DNS.Enabled {
		st.Records = records(s.Domain, st.Origin, st.Edges, s.DNS.LoadBalancing)
		for i := range st.Edges {
			st.Edges[i].Hostnames = hostnamesOf(st.Records, st.Edges[i].Name)
		}
		st.Origin.Hostnames = hostnamesOf(st.Records, st.Origin.Name)
	}
	return st, nil
}

// Host is how URLs name the machine at address: its TLSName when the stack
// serves HTTPS (the certificate covers names, not addresses), the address
// otherwise.
func (m Machine) Host(address netip.Addr) string {
	if m.TLSName != "" {
		return m.TLSName
	}
	return HostOf(address)
}

// Machines lists the origin, then the edges.
func (st *Stack) Machines() []Machine {
	return append([]Machine{st.Origin}, st.Edges...)
}

// Check renders every machine with the secrets in c and, for the origin's
// address, a stand-in, so a stack the renderers refuse is refused before
// anything is created.
func (st *Stack) Check(c Cloud) error {
	c.OriginAddress = PlaceholderOriginAddress
	if st.Origin.BYO {
		c.OriginAddress = st.Origin.Address
	}
	if st.Origin.Recordings != nil && c.SpacesAccessKey == "" {
		c.SpacesAccessKey, c.SpacesSecretKey = PlaceholderSpacesAccessKey, PlaceholderSpacesSecretKey
	}
	var errs []error
	for _, m := range st.Machines() {
		if _, err := m.Render(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("the stack's machines cannot be rendered:\n%w", err)
	}
	return nil
}

// PlaceholderOriginAddress stands in for a droplet origin's reserved IP,
// which DigitalOcean assigns at the first `pulumi up`, wherever a render
// happens before it: a documentation address (RFC 5737), never a machine's.
var PlaceholderOriginAddress = netip.MustParseAddr("192.0.2.1")

// PlaceholderSpacesAccessKey and PlaceholderSpacesSecretKey stand in for the
// Spaces key the program creates at `pulumi up`, wherever a render happens
// before it; they are shaped like a real key so they render, and say what
// they are.
const (
	PlaceholderSpacesAccessKey = "PLACEHOLDERSPACESKEY"
	PlaceholderSpacesSecretKey = "placeholder-secret-created-by-pulumi-up-for-the-bucket"
)

// Stream converts the stack's stream settings.
func Stream(s config.Stream) nginx.Stream {
	out := nginx.Stream{
		Name:            s.Name,
		FragmentSeconds: s.FragmentSeconds,
		PlaylistSeconds: s.PlaylistSeconds,
		AudioKbps:       s.AudioKbps,
	}
	for _, r := range s.Renditions {
		out.Renditions = append(out.Renditions, nginx.Rendition{Name: r.Name, Width: r.Width, Height: r.Height, VideoKbps: r.VideoKbps})
	}
	return out
}

// site is the player page every edge serves. It depends on the stack's
// event, stream and domain only, so adding an edge or a region never
// changes it (and never replaces the other edges).
func site(s *config.Settings, stream nginx.Stream) ([]nginx.SiteFile, error) {
	page, err := nginx.RenderPlayer(nginx.PlayerSpec{
		EventName:  s.EventName,
		Stream:     stream,
		HLSJS:      nginx.PublicHLSJS(),
		Candidates: PlayerCandidates(s),
	})
	if err != nil {
		return nil, fmt.Errorf("player page: %w", err)
	}
	return []nginx.SiteFile{{Path: nginx.PlayerIndex, Content: page}}, nil
}

// PlayerCandidates are the bases the player page may fail over between: with
// DNS, every region's hostname in the catalog, deployed or not (a region
// without edges does not resolve and the page skips it), so adding an edge or
// a region never changes the page. Without DNS there is no name that
// outlives a droplet, and an edge's user data cannot hold the addresses of
// edges created after it: the page plays from the edge that served it.
func PlayerCandidates(s *config.Settings) []string {
	if !s.DNS.Enabled {
		return nil
	}
	var out []string
	for _, r := range config.Regions() {
		out = append(out, BaseURL(SchemeOf(s), RegionHost(s.Domain, r.Slug)))
	}
	return out
}

// CORSOrigins are the websites whose pages may fetch an HTTPS stack's HLS
// with XHR: none (any site) when the stack names none; otherwise the
// edges also admit the stack's own names (nginx.EdgeSpec.CORSDomain), so a
// player page served by one edge can fail over to another.
func CORSOrigins(s *config.Settings) []string {
	if !s.HTTPS() {
		return nil
	}
	return s.CORSOrigins
}

// tls is the certificate the machines serve, nil on a plain-HTTP stack.
func (c Cloud) tls() *nginx.TLS {
	return &nginx.TLS{Chain: c.Certificate, Key: c.CertificateKey}
}

// CIDRs writes networks as nginx's allow lists and the clouds' APIs take
// them, e.g. "203.0.113.0/28".
func CIDRs(in []netip.Prefix) []string {
	out := make([]string, len(in))
	for i, p := range in {
		out[i] = p.String()
	}
	return out
}
