package lab

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

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

// newPKI makes an ECDSA P-256 CA in dir and a leaf for localhost and ips.
func newPKI(dir string, ips []net.IP) (labPKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return labPKI{}, fmt.Errorf("lab CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "livecdn lab CA " + filepath.Base(dir)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return labPKI{}, fmt.Errorf("lab CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return labPKI{}, fmt.Errorf("lab CA: %w", err)
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return labPKI{}, fmt.Errorf("lab leaf key: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "livecdn lab"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  ips,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return labPKI{}, fmt.Errorf("lab leaf: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		return labPKI{}, fmt.Errorf("lab leaf key: %w", err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	pki := labPKI{
		ca:     ca,
		caPath: filepath.Join(dir, CAFile),
		leaf: nginx.TLS{
			// As Let's Encrypt's fullchain.pem: the leaf, then its issuer.
			Chain: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})) + string(caPEM),
			Key:   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		},
	}
	if err := os.WriteFile(pki.caPath, caPEM, 0o644); err != nil {
		return labPKI{}, fmt.Errorf("lab CA: %w", err)
	}
	trustLabCA(ca)
	return pki, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
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
