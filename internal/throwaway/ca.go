// Package throwaway makes certificate authorities that live for one lab or
// test run: a CA and leaf certificates for the names and addresses a test
// serves, so HTTPS can be proven offline exactly as it runs with a real
// certificate. Nothing it makes is ever trusted outside the run.
package throwaway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// CA is a certificate authority held in memory.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

// NewCA makes a CA valid from an hour ago for a year.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: key, pem: encode("CERTIFICATE", der)}, nil
}

// Certificate is the CA certificate, for a verifier's roots.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// PEM is the CA certificate, for curl --cacert, ffmpeg or a Go client's pool.
func (ca *CA) PEM() string { return ca.pem }

// Pool is a pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Leaf is an issued certificate: the chain (leaf, then the CA) and its key, PEM.
type Leaf struct {
	Chain, Key string
	// SPKIHash is base64(SHA-256(SubjectPublicKeyInfo)) of the leaf, what
	// Chromium's --ignore-certificate-errors-spki-list takes.
	SPKIHash string
}

// Issue signs a server certificate for names (DNS names, wildcards
// allowed, or IP addresses) valid from an hour ago until notAfter.
func (ca *CA) Issue(names []string, notAfter time.Time) (Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Leaf{}, fmt.Errorf("leaf key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return Leaf{}, fmt.Errorf("leaf certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Leaf{}, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return Leaf{}, err
	}
	sum := sha256.Sum256(spki)
	return Leaf{
		Chain:    encode("CERTIFICATE", der) + ca.pem,
		Key:      encode("PRIVATE KEY", keyDER),
		SPKIHash: base64.StdEncoding.EncodeToString(sum[:]),
	}, nil
}

func encode(kind string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}))
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return n
}

// ForDomain makes a CA and, from it, the certificate a stack with domain
// serves (IssueForDomain).
func ForDomain(caName, domain string, notAfter time.Time) (*CA, Leaf, error) {
	ca, err := NewCA(caName)
	if err != nil {
		return nil, Leaf{}, err
	}
	leaf, err := ca.IssueForDomain(domain, notAfter)
	return ca, leaf, err
}

// IssueForDomain signs a certificate for domain and *.domain, valid until
// notAfter: what `livecdn cert` orders for a stack's domain, and what a
// service such as Spaces serves for its endpoint and buckets.
func (ca *CA) IssueForDomain(domain string, notAfter time.Time) (Leaf, error) {
	return ca.Issue([]string{domain, "*." + domain}, notAfter)
}
