package config

import (
	"crypto/tls"
	"fmt"
	"net/url"
)

// validateTLS checks the settings that decide HTTPS: a stack with a domain serves it and must say when
// its event ends (a certificate must outlive it); one without a domain cannot hold a certificate. The
// certificate's own checks (format here, names and expiry in the blueprint) need its plaintext.
func (s *Settings) validateTLS(p *problems) {
	if path := KeyEvent + ".end"; s.HTTPS() && s.EventEnd.IsZero() && !p.has(path) {
		p.addf(path, setCmd(path, "<YYYY-MM-DD>")+" with the event's last day",
			"required with %s: the stack serves HTTPS and its certificate must stay valid until the event is over", KeyDomain)
	}
	if !s.HTTPS() {
		for _, key := range []string{KeyTLSCertificate, KeyTLSKey} {
			if s.tlsSecret(key).IsSet() {
				p.addf(key, "set "+KeyDomain+" too, or remove the certificate with pulumi config rm "+key,
					"a certificate needs a name: without %s the stack serves plain HTTP", KeyDomain)
			}
		}
	}
	for i, origin := range s.CORSOrigins {
		path := fmt.Sprintf("%s[%d]", KeyCORSOrigins, i)
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			p.addf(path, setCmd(path, "https://www.example.org")+" (scheme and host of the event's website, no path)",
				"%q is not a web origin", origin)
		} else if u.Path == "/" {
			p.addf(path, setCmd(path, u.Scheme+"://"+u.Host), "%q has a trailing slash, which a browser's Origin never has", origin)
		}
	}
	cert, key := s.TLS.Certificate, s.TLS.Key
	if cert.IsSet() != key.IsSet() {
		missing := KeyTLSKey
		if !cert.IsSet() {
			missing = KeyTLSCertificate
		}
		p.addf(missing, "run livecdn cert --stack <stack>, which stores both", "not set, while the other half of the certificate is")
		return
	}
	if cert.IsSet() && !cert.Sealed() && !key.Sealed() {
		if _, err := tls.X509KeyPair([]byte(cert.Reveal()), []byte(key.Reveal())); err != nil {
			// The error names neither value's content, so no key material is echoed.
			p.addf(KeyTLSCertificate, "run livecdn cert --stack <stack> again, or set a PEM chain and its key",
				"the certificate and key do not form a pair: %v", err)
		}
	}
}

// tlsSecret returns the TLS secret stored under key.
func (s *Settings) tlsSecret(key string) Secret {
	if key == KeyTLSKey {
		return s.TLS.Key
	}
	return s.TLS.Certificate
}
