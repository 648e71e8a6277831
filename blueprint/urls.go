package blueprint

import (
	"net"
	"net/netip"
	"strconv"

	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/nginx"
)

// Every hostname, address and URL of a stack is written by exactly one
// function below, so the player page, the outputs, the DNS records and the
// rehearsal can never disagree on one.

// EdgeHost names one edge, e.g. ams3-1.live.example.org.
func EdgeHost(domain, edge string) string { return edge + "." + domain }

// RegionHost names all edges of a region, e.g. ams3.live.example.org.
func RegionHost(domain, region string) string { return region + "." + domain }

// IngestHost names the origin's reserved IP, e.g. ingest.live.example.org.
func IngestHost(domain string) string { return "ingest." + domain }

// HostOf writes an address as the host part of a URL ([v6] in brackets).
func HostOf(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// Scheme is how viewers reach the edges: "https" whenever the stack has a
// domain (a certificate needs a name), "http" otherwise (the dev stack).
type Scheme string

const (
	// HTTP serves viewers without TLS; only a stack without a domain does.
	HTTP Scheme = "http"
	// HTTPS serves viewers over TLS with the stack's certificate.
	HTTPS Scheme = "https"
)

// SchemeOf is the scheme a stack serves viewers with.
func SchemeOf(s *config.Settings) Scheme {
	if s.HTTPS() {
		return HTTPS
	}
	return HTTP
}

// BaseURL is the viewers' URL of a host (a name or HostOf an address) on an
// edge, without a path: what the player page fails over between.
func BaseURL(sc Scheme, host string) string { return string(sc) + "://" + host }

// PlayerURL is the player page on host.
func PlayerURL(sc Scheme, host string) string { return BaseURL(sc, host) + "/" }

// PlaylistURL is what players open on host.
func PlaylistURL(sc Scheme, host string, s nginx.Stream) string {
	return BaseURL(sc, host) + s.PlaylistPath()
}

// HealthURL answers 200 on host while its edge serves a fresh stream.
func HealthURL(sc Scheme, host string) string { return BaseURL(sc, host) + nginx.HealthPath }

// IngestURL is where the encoder publishes RTMP on host (the stream key
// goes in the encoder's key field, or as ?key= after it).
func IngestURL(host string, s nginx.Stream) string { return IngestServer(host) + "/" + s.Name }

// IngestServer is the encoder's "Server" field for RTMP: IngestURL without
// the stream.
func IngestServer(host string) string {
	return "rtmp://" + net.JoinHostPort(host, strconv.Itoa(RTMPPort)) + "/" + nginx.IngestApp
}

// RTMPSIngestURL is where the encoder publishes RTMP over TLS: by name,
// which the certificate covers, on 443, which venue networks let out.
func RTMPSIngestURL(host string, s nginx.Stream) string {
	return RTMPSIngestServer(host) + "/" + s.Name
}

// RTMPSIngestServer is the encoder's "Server" field for RTMPS.
func RTMPSIngestServer(host string) string {
	return "rtmps://" + net.JoinHostPort(host, strconv.Itoa(RTMPSPort)) + "/" + nginx.IngestApp
}

// OriginPull is the origin's RTMP address the edges pull from: an address,
// never a name, because nginx resolves a pull's host once at start-up.
func OriginPull(origin netip.Addr) string {
	return netip.AddrPortFrom(origin, RTMPPort).String()
}

// StatURL is the origin's rtmp_stat page, open to admins only.
func StatURL(host string) string {
	return "http://" + net.JoinHostPort(host, strconv.Itoa(StatPort)) + "/stat"
}

// RecordingsStatusURL is the origin's recordings uploader status, on the
// same admins-only stat server (docs/RECORDINGS.md documents its JSON).
func RecordingsStatusURL(host string) string {
	return "http://" + net.JoinHostPort(host, strconv.Itoa(StatPort)) + nginx.RecordStatusPath
}

// EdgeStatusURL is an edge's status document (viewers, segment age, relay
// state), open to admins only. Plain HTTP on purpose: status reaches edges
// by address, which no certificate covers.
func EdgeStatusURL(host string) string {
	return "http://" + net.JoinHostPort(host, strconv.Itoa(HTTPPort)) + nginx.EdgeStatusPath
}

// EdgeHealthURL is an edge's health check by address over plain HTTP, which
// answers it with or without TLS.
func EdgeHealthURL(host string) string {
	return "http://" + net.JoinHostPort(host, strconv.Itoa(HTTPPort)) + nginx.HealthPath
}

// exporterListen is an exporter's listen address on a droplet: every
// address, as the cloud firewall admits only admins to port.
func exporterListen(port int) string { return ":" + strconv.Itoa(port) }

// NodeExporterURL is a droplet's prometheus-node-exporter metrics (an
// edge's or the origin's), admins only.
func NodeExporterURL(host string) string {
	return "http://" + net.JoinHostPort(host, strconv.Itoa(NodeExporterPort)) + "/metrics"
}

// NginxExporterURL is an edge's prometheus-nginx-exporter metrics, admins only.
func NginxExporterURL(host string) string {
	return "http://" + net.JoinHostPort(host, strconv.Itoa(NginxExporterPort)) + "/metrics"
}
