package lab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/livecdn/livecdn/internal/throwaway"
	"github.com/livecdn/livecdn/nginx"
)

// CAFile is the lab's throwaway certificate authority under Lab.Dir, for
// `curl --cacert`.
const CAFile = "ca.pem"

// certValidity is how long the lab's certificates last: a lab runs for hours,
// and nothing outside it trusts them.
const certValidity = 7 * 24 * time.Hour

// labPKI is a throwaway CA and one leaf it signed for every address the lab
// serves on.
type labPKI struct {
	ca     *x509.Certificate
	caPath string
	leaf   nginx.TLS
}

// newPKI makes a CA in dir (CAFile) and a leaf for localhost and ips.
func newPKI(dir string, ips []net.IP) (labPKI, error) {
	ca, err := throwaway.NewCA("livecdn lab CA " + filepath.Base(dir))
	if err != nil {
		return labPKI{}, fmt.Errorf("lab CA: %w", err)
	}
	names := []string{"localhost"}
	for _, ip := range ips {
		names = append(names, ip.String())
	}
	leaf, err := ca.Issue(names, time.Now().Add(certValidity))
	if err != nil {
		return labPKI{}, fmt.Errorf("lab certificate: %w", err)
	}
	pki := labPKI{
		ca:     ca.Certificate(),
		caPath: filepath.Join(dir, CAFile),
		// As Let's Encrypt's fullchain.pem: the leaf, then its issuer.
		leaf: nginx.TLS{Chain: leaf.Chain, Key: leaf.Key},
	}
	if err := os.WriteFile(pki.caPath, []byte(ca.PEM()), 0o644); err != nil {
		return labPKI{}, fmt.Errorf("lab CA: %w", err)
	}
	trustLabCA(pki.ca)
	return pki, nil
}

// writeTLS puts a node's certificate and key where its layout says.
func writeTLS(l nginx.Layout, t nginx.TLS) error {
	if err := os.MkdirAll(l.TLSDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(l.TLSChainPath(), []byte(t.Chain), 0o644); err != nil {
		return err
	}
	return os.WriteFile(l.TLSKeyPath(), []byte(t.Key), 0o600)
}

// labCAs are the CAs of every lab this process started: Get, Status and the
// other helpers trust them (and the system's roots), so they work on an
// HTTPS lab as on a plain one.
var labCAs struct {
	sync.Mutex
	certs []*x509.Certificate
}

func trustLabCA(ca *x509.Certificate) {
	labCAs.Lock()
	defer labCAs.Unlock()
	labCAs.certs = append(labCAs.certs, ca)
}

// verifyLabPeer verifies a server's chain, for host, against the system's
// roots plus the labs' CAs.
func verifyLabPeer(cs tls.ConnectionState, host string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server sent no certificate")
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	labCAs.Lock()
	for _, ca := range labCAs.certs {
		roots.AddCert(ca)
	}
	labCAs.Unlock()
	intermediates := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	_, err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		DNSName: host, Roots: roots, Intermediates: intermediates,
	})
	return err
}

// labTransport speaks HTTP/2 where the server offers it, as browsers do,
// and verifies servers against the labs' CAs too.
func labTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ForceAttemptHTTP2 = true
	// Dialled here rather than through TLSClientConfig, so the check knows
	// the host: for an IP address nothing else tells it (no SNI is sent).
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		d := &tls.Dialer{Config: &tls.Config{
			ServerName: host,
			NextProtos: []string{"h2", "http/1.1"},
			// Verification is not skipped: VerifyConnection does it,
			// against roots that grow as labs start.
			InsecureSkipVerify: true,
			VerifyConnection:   func(cs tls.ConnectionState) error { return verifyLabPeer(cs, host) },
		}}
		return d.DialContext(ctx, network, addr)
	}
	return t
}
