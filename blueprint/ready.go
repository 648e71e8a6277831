package blueprint

import (
	"bytes"
	"embed"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"text/template"

	"github.com/livecdn/livecdn/nginx"
)

// ReadyLimit bounds how long `pulumi up` waits for a new machine to serve:
// cloud-init installs nginx in two or three minutes on a droplet; ten times
// that means something is wrong, and the error says where to look.
const ReadyLimit = 20 * 60 // seconds

//go:embed templates/ready.sh.tmpl
var readyFS embed.FS

var readyTemplate = template.Must(template.New("ready.sh.tmpl").Option("missingkey=error").
	Funcs(template.FuncMap{"lower": strings.ToLower}).ParseFS(readyFS, "templates/ready.sh.tmpl"))

type readyView struct {
	Role, Name, Address   string
	Edge                  bool
	HealthURL, StatURL    string
	Resolve               string
	IngestApp, EdgeHeader string
	LimitSeconds          int
}

// ReadyCheck renders the script that waits until the machine at address
// serves livecdn's own config: an edge answers its /healthz with its own
// X-LiveCDN-Edge header (Debian's stock nginx, which answers during the
// first boot, does not), and with 200 while the origin at origin has a
// publisher; an origin's stat page shows the ingest application. It exits 0
// when ready, or non-zero after ReadyLimit seconds saying what answered and
// where to look. On a stack that serves HTTPS the edge is asked over HTTPS
// under its name, so the check also proves it serves the certificate (curl
// verifies it against the system's CAs, or CURL_CA_BUNDLE). It needs sh and
// curl. Nothing may point at a machine
// before its check passed: `pulumi up` runs it (pulumi-command) before the
// DNS records, pool origins and the reserved IP take the new address.
func (m Machine) ReadyCheck(address, origin netip.Addr) (string, error) {
	if !address.IsValid() || (m.Role == RoleEdge && !origin.IsValid()) {
		return "", fmt.Errorf("%s %s: ready check: the machine's and the origin's addresses are required", m.Role, m.Name)
	}
	v := readyView{
		Role: string(m.Role), Name: m.Name, Address: address.String(),
		Edge:      m.Role == RoleEdge,
		StatURL:   StatURL(HostOf(origin)),
		IngestApp: nginx.IngestApp, EdgeHeader: nginx.EdgeHeader,
		LimitSeconds: ReadyLimit,
	}
	if m.Role == RoleEdge {
		v.HealthURL = HealthURL(m.Scheme(), m.Host(address))
		if m.TLSName != "" {
			// The name may not resolve yet (or still to the machine this
			// one replaces): ask this machine under its name.
			v.Resolve = net.JoinHostPort(m.TLSName, strconv.Itoa(HTTPSPort)) + ":" + HostOf(address)
		}
	} else {
		v.StatURL = StatURL(HostOf(address))
	}
	var b bytes.Buffer
	if err := readyTemplate.Execute(&b, v); err != nil {
		return "", fmt.Errorf("%s %s: ready check: %w", m.Role, m.Name, err)
	}
	return b.String(), nil
}

// Scheme is how the machine serves viewers (and, on the origin, the encoder).
func (m Machine) Scheme() Scheme {
	if m.TLSName != "" {
		return HTTPS
	}
	return HTTP
}
