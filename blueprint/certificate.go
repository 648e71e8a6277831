package blueprint

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/livecdn/livecdn/config"
)

// Certificate is what a stack's certificate says about itself: enough for
// `livecdn plan` to show and for every layer to check the same way.
type Certificate struct {
	// Names are the leaf's DNS names, e.g. live.example.org and *.live.example.org.
	Names []string `json:"names"`
	// Issuer is the issuing CA's common name.
	Issuer string `json:"issuer"`
	// NotBefore and NotAfter bound the leaf's validity.
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
}

// ParseCertificate reads the leaf (the first certificate) of a PEM chain.
func ParseCertificate(chainPEM string) (Certificate, *x509.Certificate, error) {
	block, _ := pem.Decode([]byte(chainPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return Certificate{}, nil, errors.New("no PEM CERTIFICATE block: want the chain, leaf first")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return Certificate{}, nil, fmt.Errorf("parse the leaf certificate: %w", err)
	}
	names := slices.Clone(leaf.DNSNames)
	slices.Sort(names)
	return Certificate{Names: names, Issuer: leaf.Issuer.CommonName, NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter}, leaf, nil
}

// TLSNames are the names a stack serves over TLS, sorted: the domain
// (the viewers' round-robin), every region's and every edge's name, and the
// ingest name. A certificate for DOMAIN and *.DOMAIN covers them all.
func (st *Stack) TLSNames() []string {
	s := st.Settings
	if !s.HTTPS() {
		return nil
	}
	names := []string{s.Domain, IngestHost(s.Domain)}
	for _, e := range st.Edges {
		names = append(names, EdgeHost(s.Domain, e.Name), RegionHost(s.Domain, e.Region))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// CheckCertificate reports what stops the certificate chainPEM from serving
// the stack: a name it does not cover, or an expiry before the event is
// over (or before now). It returns what the certificate says either way.
func (st *Stack) CheckCertificate(chainPEM string, now time.Time) (Certificate, error) {
	c, leaf, err := ParseCertificate(chainPEM)
	if err != nil {
		return c, fmt.Errorf("%s: %w", config.KeyTLSCertificate, err)
	}
	var problems []string
	var uncovered []string
	for _, name := range st.TLSNames() {
		if leaf.VerifyHostname(name) != nil {
			uncovered = append(uncovered, name)
		}
	}
	if len(uncovered) > 0 {
		problems = append(problems, fmt.Sprintf("does not cover %s (it names %s)",
			strings.Join(uncovered, ", "), strings.Join(c.Names, ", ")))
	}
	end := st.Settings.EventEnd
	switch {
	case !c.NotAfter.After(now):
		problems = append(problems, fmt.Sprintf("expired on %s", c.NotAfter.UTC().Format(time.RFC3339)))
	case !end.IsZero() && c.NotAfter.Before(end):
		problems = append(problems, fmt.Sprintf("expires on %s, before the event is over (%s ends %s)",
			c.NotAfter.UTC().Format(time.RFC3339), config.KeyEvent+".end", end.AddDate(0, 0, -1).Format(time.DateOnly)))
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("%s: the certificate %s; order one for %s and *.%s with: livecdn cert --stack <stack>",
			config.KeyTLSCertificate, strings.Join(problems, "; "), st.Settings.Domain, st.Settings.Domain)
	}
	return c, nil
}
