package rehearsal

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/internal/fakebucket"
	"github.com/livecdn/livecdn/internal/throwaway"
)

// spaces stands in for DigitalOcean Spaces in the region of the stack's
// recordings bucket: that one bucket in memory, served over HTTPS at the
// region's own endpoint name, which the namespace's DNS resolves to it. Its
// certificate is the rehearsal's CA's, which the VMs trust through their
// vendor-data.
type spaces struct {
	bucket *fakebucket.Bucket
	// host is the region's endpoint name, e.g. ams3.digitaloceanspaces.com.
	host string
	info fakebucket.Info
}

// newSpaces makes the bucket of rec, empty, and the Spaces key the origin
// is rendered with; serveSpaces puts it on the network.
func newSpaces(rec *config.Recordings, origin netip.Addr) (*spaces, error) {
	b, err := fakebucket.New(rec.Bucket)
	if err != nil {
		return nil, fmt.Errorf("spaces: %w", err)
	}
	return &spaces{bucket: b, host: config.SpacesHost(rec.Region), info: fakebucket.Info{
		Endpoint: config.SpacesEndpoint(rec.Region), Bucket: rec.Bucket, Prefix: rec.Prefix, Region: rec.Region,
		AccessKey: b.AccessKey, SecretKey: b.SecretKey,
		Status: blueprint.RecordingsStatusURL(blueprint.HostOf(origin)),
	}}, nil
}

// serveSpaces serves the bucket over HTTPS at address at, port 443, with a
// certificate from ca for the endpoint's name and the names below it.
func (r *Rehearsal) serveSpaces(at netip.Addr, ca *throwaway.CA) error {
	leaf, err := ca.IssueForDomain(r.spaces.host, time.Now().AddDate(0, 0, 30))
	if err != nil {
		return fmt.Errorf("spaces: %w", err)
	}
	cert, err := tls.X509KeyPair([]byte(leaf.Chain), []byte(leaf.Key))
	if err != nil {
		return fmt.Errorf("spaces: %w", err)
	}
	l, err := r.net.Listen("tcp", net.JoinHostPort(at.String(), "443"))
	if err != nil {
		return fmt.Errorf("spaces: %w", err)
	}
	srv := &http.Server{Handler: r.spaces.bucket.Handler(r.spaces.host), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})) //nolint:errcheck // ends with Close
	return r.net.track(srv)
}

// records are the names the bucket answers to, at address at.
func (s *spaces) records(at netip.Addr) []DNSRecord {
	return []DNSRecord{{Name: s.host, Addrs: []netip.Addr{at}}, {Name: s.info.Bucket + "." + s.host, Addrs: []netip.Addr{at}}}
}

// Recordings lists the objects under the event's prefix in the rehearsal's
// bucket, in key order (oldest chunk first); an error if the stack has no
// recordings.
func (r *Rehearsal) Recordings() ([]fakebucket.Object, error) {
	if r.spaces == nil {
		return nil, fmt.Errorf("stack %s uploads no recording (%s)", r.opts.Stack, config.KeyRecordings)
	}
	return r.spaces.bucket.Objects(r.spaces.info.Prefix + "/")
}
