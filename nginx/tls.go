package nginx

import (
	"crypto/tls"
	"fmt"
	"path"
	"strconv"
)

// TLS is a node's certificate and private key, as nginx reads them.
type TLS struct {
	// Chain is the PEM certificate chain, the leaf first and then the
	// intermediates (Let's Encrypt's fullchain.pem). Required.
	Chain string
	// Key is the leaf's PEM private key. Required, secret: it lands in the
	// user data, which callers already keep secret for the stream key.
	Key string
}

// The files a node's TLS lives in, under Layout.TLSDir.
const (
	// TLSChainFile holds TLS.Chain, mode 0644.
	TLSChainFile = "fullchain.pem"
	// TLSKeyFile holds TLS.Key, mode 0600 root: nginx's master reads it
	// before it starts workers, so no worker user needs it.
	TLSKeyFile = "privkey.pem"
)

// TLSChainPath is where a node with this layout keeps TLS.Chain.
func (l Layout) TLSChainPath() string { return path.Join(l.TLSDir, TLSChainFile) }

// TLSKeyPath is where a node with this layout keeps TLS.Key.
func (l Layout) TLSKeyPath() string { return path.Join(l.TLSDir, TLSKeyFile) }

// tlsView is what the "tls-settings" template reads.
type tlsView struct {
	Chain, Key string
}

// tls checks a spec's TLS and the layout fields it needs; field names the
// spec's TLS field. Neither the key nor the chain is ever echoed.
func (p *problems) tls(field string, t *TLS, l Layout) tlsView {
	if t == nil {
		return tlsView{}
	}
	p.absPath("Layout.TLSDir", l.TLSDir)
	if _, err := tls.X509KeyPair([]byte(t.Chain), []byte(t.Key)); err != nil {
		p.add(field, fmt.Sprintf("(chain of %d bytes, key of %d bytes, not shown)", len(t.Chain), len(t.Key)),
			"%v; give the PEM chain with the leaf first (e.g. Let's Encrypt's fullchain.pem) and the leaf's PEM key (privkey.pem)", err)
	}
	return tlsView{Chain: l.TLSChainPath(), Key: l.TLSKeyPath()}
}

// tlsFiles are the write_files entries that put t under l.TLSDir.
func tlsFiles(l Layout, t *TLS) []writeFile {
	if t == nil {
		return nil
	}
	return []writeFile{
		{Path: l.TLSChainPath(), Owner: "root:root", Permissions: "0644", Defer: true, Content: t.Chain},
		{Path: l.TLSKeyPath(), Owner: "root:root", Permissions: "0600", Defer: true, Content: t.Key},
	}
}

// httpsRedirect is where the plain HTTP server sends a request: the same
// host and URI over HTTPS, naming the port unless it is 443 (the lab's is not).
func httpsRedirect(httpsListen string) string {
	ap, _ := parseListen(httpsListen) // validated before rendering
	if ap.Port() == 443 {
		return "https://$host$request_uri"
	}
	return "https://$host:" + strconv.Itoa(int(ap.Port())) + "$request_uri"
}
