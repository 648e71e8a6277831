package nginx

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The specs every test starts from. Addresses are from the documentation
// ranges (RFC 5737) and the key is fake, so golden files can be published.
const (
	exampleStreamKey = "Example_stream-key-0123456789abcdef"
	exampleOriginIP  = "203.0.113.10"
)

func exampleStream() Stream {
	return Stream{Name: "con-main", FragmentSeconds: 2, PlaylistSeconds: 12}
}

func exampleLadderStream() Stream {
	s := exampleStream()
	s.AudioKbps = 128
	s.Renditions = []Rendition{
		{Name: "1080p", Width: 1920, Height: 1080, VideoKbps: 5000},
		{Name: "720p", Width: 1280, Height: 720, VideoKbps: 2800},
		{Name: "480p", Width: 854, Height: 480, VideoKbps: 1200},
	}
	return s
}

func exampleOrigin() OriginSpec {
	return OriginSpec{
		Layout:      ProductionLayout(),
		RTMPListen:  "1935",
		StatListen:  "8080",
		AuthListen:  "127.0.0.1:8086",
		Stream:      exampleStream(),
		StreamKey:   exampleStreamKey,
		IngestCIDRs: []string{"198.51.100.23/32"},
		AdminCIDRs:  []string{"203.0.113.0/28"},

		NodeExporterListen: ":9100",
	}
}

// exampleRecordings uploads to a Spaces bucket with a fake key of the
// right shape (a Spaces access key is 20 characters, its secret 43).
func exampleRecordings() *Recordings {
	return &Recordings{
		ChunkInterval: 10 * time.Minute,
		Endpoint:      "https://ams3.digitaloceanspaces.com",
		Provider:      ProviderSpaces,
		Region:        "ams3",
		Bucket:        "example-recordings",
		Prefix:        "con-2026",
		AccessKey:     "EXAMPLEACCESSKEY0000",
		SecretKey:     "Example/Secret+Key0123456789abcdefghijklmno",
	}
}

func exampleEdge(name string) EdgeSpec {
	return EdgeSpec{
		Layout:         ProductionLayout(),
		Name:           name,
		HTTPListen:     "80",
		HTTPListenIPv6: "[::]:80",
		RTMPListen:     "127.0.0.1:1935",
		Origin:         exampleOriginIP + ":1935",
		Stream:         exampleStream(),
		RelayToken:     RelayToken(exampleStreamKey),
		AdminCIDRs:     []string{"203.0.113.0/28"},

		NodeExporterListen:  ":9100",
		NginxExporterListen: ":9113",
	}
}

func exampleSite() []SiteFile {
	return []SiteFile{
		{Path: "index.html", Content: "<!doctype html>\n<title>con-main</title>\n<script src=\"js/player.js\"></script>\n"},
		{Path: "js/player.js", Content: "// Stand-in for the player page.\nconsole.log(\"con-main\");\n"},
	}
}

// exampleTLS is a throwaway self-signed certificate for the documentation
// names. It is made in the test, from a fixed seed and fixed dates, because
// Ed25519 signs deterministically: the golden files can hold its bytes.
func exampleTLS() *TLS { return exampleTLSFromSeed(0) }

// exampleTLSFromSeed makes one certificate per seed, so tests can pair a
// chain with another certificate's key.
func exampleTLSFromSeed(seed byte) *TLS {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "live.example.org"},
		DNSNames:     []string{"live.example.org", "*.live.example.org"},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return &TLS{
		Chain: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		Key:   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
	}
}

// goldenCase is one node to render; its files under testdata/golden are
// NAME.conf (nginx.conf) and NAME.user-data.yaml.
type goldenCase struct {
	name   string
	origin *OriginSpec
	edge   *EdgeSpec
	site   []SiteFile
}

// goldenCases are the production-like nodes whose output is pinned. Adding a
// case here and running UPDATE_GOLDEN=1 go test ./nginx/... adds its files.
func goldenCases() []goldenCase {
	single := exampleOrigin()

	ladder := exampleOrigin()
	ladder.Stream = exampleLadderStream()
	ladder.Record = true
	ladder.EdgeCIDRs = []string{"198.51.100.128/25", "203.0.113.64/26"}
	// The longest key the renderer accepts, so `nginx -t` proves the origin
	// starts with any of them: a 48-character key once stopped it (the map's
	// hash bucket), found by booting the shipped user data.
	ladder.StreamKey = strings.Repeat("K", 128)

	edgeSingle := exampleEdge("ams3-1")

	edgeLadder := exampleEdge("sgp1-1")
	edgeLadder.Stream = exampleLadderStream()

	originTLS := exampleOrigin()
	originTLS.TLS = exampleTLS()
	originTLS.RTMPSListen = "443"
	originTLS.RTMPSBackendListen = "127.0.0.1:1936"
	originTLS.IngestCIDRs = []string{"198.51.100.23/32", "192.0.2.0/24"}

	edgeTLS := exampleEdge("nyc3-1")
	edgeTLS.TLS = exampleTLS()
	edgeTLS.HTTPSListen = "443"
	edgeTLS.HTTPSListenIPv6 = "[::]:443"
	edgeTLS.CORSOrigins = []string{"https://event.example.org", "https://www.example.org"}
	edgeTLS.Workers = 2

	recorded := exampleOrigin()
	recorded.Record = true
	recorded.Recordings = exampleRecordings()

	return []goldenCase{
		{name: "origin-single", origin: &single},
		{name: "origin-recordings", origin: &recorded},
		{name: "origin-ladder-record", origin: &ladder},
		{name: "edge-single", edge: &edgeSingle},
		{name: "edge-ladder", edge: &edgeLadder, site: exampleSite()},
		{name: "origin-tls", origin: &originTLS},
		{name: "edge-tls-cors-workers", edge: &edgeTLS, site: exampleSite()},
	}
}

// render returns the case's nginx.conf and user data.
func (c goldenCase) render(t *testing.T) (conf, userData string) {
	t.Helper()
	var err error
	switch {
	case c.origin != nil:
		conf, err = RenderOriginConf(*c.origin)
		require.NoError(t, err)
		userData, err = RenderOriginUserData(*c.origin)
		require.NoError(t, err)
	case c.edge != nil:
		conf, err = RenderEdgeConf(*c.edge)
		require.NoError(t, err)
		userData, err = RenderEdgeUserData(*c.edge, c.site)
		require.NoError(t, err)
	default:
		panic(fmt.Sprintf("golden case %q has neither an origin nor an edge", c.name))
	}
	return conf, userData
}
