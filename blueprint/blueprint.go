// Package blueprint says what every machine of a stack runs: it turns the
// stack's validated settings and plan into the nginx package's specs, with
// the production ports and layout. The Pulumi components and the CLI both
// use it, so what `livecdn render` shows is what the droplets get.
//
// It is pure: no Pulumi, no I/O. Values that exist only after deployment
// (the origin's reserved IP) and secrets are arguments.
package blueprint

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/nginx"
	"github.com/livecdn/livecdn/plan"
)

// Production ports.
const (
	// RTMPPort takes the encoder and the edges' pulls on the origin.
	RTMPPort = 1935
	// StatPort serves the origin's rtmp_stat and stub_status to admins.
	StatPort = 8080
	// HTTPPort serves viewers on the edges.
	HTTPPort = 80
	// authListen is the origin's loopback-only on_publish/on_play server.
	authListen = "127.0.0.1:8086"
	// edgeRTMPListen is the edge-local RTMP server the pulls feed.
	edgeRTMPListen = "127.0.0.1:1935"
)

// Edge is one edge machine of the plan.
type Edge struct {
	// Name is REGION-N, e.g. "ams3-1": the Pulumi name, the DNS label and the
	// X-LiveCDN-Edge header. N counts from 1 within the region, so adding an
	// edge never renames another.
	Name string
	// Region and Size are DigitalOcean slugs.
	Region, Size string
}

// Edges lists the edges a plan deploys, region by region.
func Edges(p plan.Result) []Edge {
	var out []Edge
	for _, r := range p.Regions {
		for i := 1; i <= r.Edges; i++ {
			out = append(out, Edge{Name: r.Region + "-" + strconv.Itoa(i), Region: r.Region, Size: r.Size})
		}
	}
	return out
}

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

// OriginSpec is the origin's nginx spec. streamKey is the secret's value:
// call it inside an ApplyT so the result stays secret.
func OriginSpec(s *config.Settings, streamKey string) nginx.OriginSpec {
	return nginx.OriginSpec{
		Layout:      nginx.ProductionLayout(),
		RTMPListen:  strconv.Itoa(RTMPPort),
		StatListen:  strconv.Itoa(StatPort),
		AuthListen:  authListen,
		Stream:      Stream(s.Stream),
		StreamKey:   streamKey,
		IngestCIDRs: prefixes(s.IngestCIDRs),
		// Edges are admitted by their relay token; the cloud firewall admits
		// RTMP only from the edges' tag.
		AdminCIDRs: prefixes(s.AdminCIDRs),
		Record:     s.Stream.Record,
	}
}

// EdgeSpec is one edge's nginx spec. originIP is the origin's reserved IP
// and relayToken nginx.RelayToken of the stream key: call it inside an
// ApplyT. Nothing in it depends on other edges.
func EdgeSpec(s *config.Settings, e Edge, originIP, relayToken string) nginx.EdgeSpec {
	return nginx.EdgeSpec{
		Layout:         nginx.ProductionLayout(),
		Name:           e.Name,
		HTTPListen:     strconv.Itoa(HTTPPort),
		HTTPListenIPv6: "[::]:" + strconv.Itoa(HTTPPort),
		RTMPListen:     edgeRTMPListen,
		Origin:         netip.AddrPortFrom(parseAddr(originIP), RTMPPort).String(),
		Stream:         Stream(s.Stream),
		RelayToken:     relayToken,
		AdminCIDRs:     prefixes(s.AdminCIDRs),
	}
}

// Site is the player page every edge serves. It depends on the stack's
// event, stream and domain only, so adding an edge or a region never
// changes it (and never replaces the other edges).
func Site(s *config.Settings) ([]nginx.SiteFile, error) {
	page, err := nginx.RenderPlayer(nginx.PlayerSpec{
		EventName: s.EventName,
		Stream:    Stream(s.Stream),
		HLSJS:     nginx.PublicHLSJS(),
	})
	if err != nil {
		return nil, fmt.Errorf("player page: %w", err)
	}
	return []nginx.SiteFile{{Path: nginx.PlayerIndex, Content: page}}, nil
}

// PlaylistURL is what players open on host.
func PlaylistURL(host string, s nginx.Stream) string {
	return "http://" + host + s.PlaylistPath()
}

func prefixes(in []netip.Prefix) []string {
	out := make([]string, len(in))
	for i, p := range in {
		out[i] = p.String()
	}
	return out
}

// parseAddr accepts what the cloud reports; a bad address yields the zero
// Addr, which the edge spec's validation then names.
func parseAddr(s string) netip.Addr {
	a, _ := netip.ParseAddr(s)
	return a
}
