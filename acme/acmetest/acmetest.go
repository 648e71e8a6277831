// Package acmetest runs a whole ACME DNS-01 world on loopback for tests: Debian's Pebble (the ACME
// CA Let's Encrypt publishes for testing), pebble-challtestsrv (the DNS Pebble validates against), a
// resolver that knows the zone's start of authority, and a double of the Cloudflare API endpoints
// lego's Cloudflare provider calls, which writes the TXT records into challtestsrv. A test hands
// Env.Request's fields to acme.Obtain exactly as production hands the real ones.
package acmetest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/livecdn/livecdn/internal/throwaway"
)

// Token is the only Cloudflare API token the double accepts.
const Token = "acmetest-token-with-zone-read-and-dns-edit"

// ZoneID is the Cloudflare zone ID the double gives the zone.
const ZoneID = "0c5f3a9e8d7b6a5f4e3d2c1b0a9f8e7d"

// Env is a running ACME world for one zone.
type Env struct {
	// Directory is Pebble's ACME directory URL.
	Directory string
	// HTTPClient trusts Pebble's HTTPS listener.
	HTTPClient *http.Client
	// CloudflareURL is the base URL of the Cloudflare double.
	CloudflareURL string
	// Nameserver (host:port) resolves the zone: SOA here, everything else from challtestsrv.
	Nameserver string
	// CAFile holds the PEM certificate Pebble's HTTPS listener is issued by, for LEGO_CA_CERTIFICATES.
	CAFile string

	cf *cloudflare
}

// TXTCreated counts the TXT records the Cloudflare double created: two per order of DOMAIN and
// *.DOMAIN (Pebble is told never to reuse an authorization).
func (e *Env) TXTCreated() int {
	e.cf.mu.Lock()
	defer e.cf.mu.Unlock()
	return e.cf.created
}

// TXTLeft lists the TXT records still in the zone: lego deletes its records after an order.
func (e *Env) TXTLeft() []string {
	e.cf.mu.Lock()
	defer e.cf.mu.Unlock()
	var left []string
	for _, r := range e.cf.records {
		left = append(left, r.Name+" "+r.Content)
	}
	return left
}

// Start runs Pebble, challtestsrv, the resolver and the Cloudflare double for zone (e.g. example.org)
// until the test ends. It fails the test when Debian's pebble is not installed (make deps installs it).
func Start(t testing.TB, zone string) *Env {
	t.Helper()
	for _, bin := range []string{"pebble", "pebble-challtestsrv"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed: run make deps (Debian's pebble package)", bin)
		}
	}
	dir := t.TempDir()
	zone = dns.Fqdn(zone)

	dnsAddr, mgmtAddr := freeAddr(t, "udp"), freeAddr(t, "tcp")
	// challtestsrv serves DNS-01 and its management API only: nothing here ever answers HTTP-01.
	startProcess(t, dir, "challtestsrv", nil, "pebble-challtestsrv",
		"-dns01", dnsAddr, "-management", mgmtAddr, "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	mgmt := "http://" + mgmtAddr
	waitHTTP(t, http.DefaultClient, mgmt+"/clear-txt", `{"host":"probe."}`)

	resolver := startResolver(t, zone, dnsAddr)

	ca, err := throwaway.NewCA("acmetest Pebble listener CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"127.0.0.1", "localhost"}, time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "listener-ca.pem")
	writeFile(t, caFile, ca.PEM())
	writeFile(t, filepath.Join(dir, "cert.pem"), leaf.Chain)
	writeFile(t, filepath.Join(dir, "key.pem"), leaf.Key)
	listen, pebbleMgmt := freeAddr(t, "tcp"), freeAddr(t, "tcp")
	conf, err := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress":           listen,
		"managementListenAddress": pebbleMgmt,
		"certificate":             filepath.Join(dir, "cert.pem"),
		"privateKey":              filepath.Join(dir, "key.pem"),
		// Unused: no HTTP-01 or TLS-ALPN-01 challenge is ever answered.
		"httpPort": 5002,
		"tlsPort":  5001,
	}})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "pebble.json"), string(conf))
	startProcess(t, dir, "pebble", []string{
		"PEBBLE_VA_NOSLEEP=1",      // validate at once instead of after a random pause
		"PEBBLE_WFE_NONCEREJECT=0", // no random badNonce rejections
		"PEBBLE_AUTHZREUSE=0",      // every order proves its names again, so orders can be counted
	}, "pebble", "-config", filepath.Join(dir, "pebble.json"), "-dnsserver", dnsAddr)

	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}},
	}
	directory := "https://" + listen + "/dir"
	waitHTTP(t, client, directory, "")

	cf := &cloudflare{t: t, zone: zone, mgmt: mgmt, records: map[string]record{}}
	srv := httptest.NewServer(cf)
	t.Cleanup(srv.Close)

	return &Env{Directory: directory, HTTPClient: client, CloudflareURL: srv.URL, Nameserver: resolver,
		CAFile: caFile, cf: cf}
}

// cloudflare is a double of the Cloudflare API v4 endpoints lego's provider calls
// (providers/dns/cloudflare/internal/client.go in lego v4.28.1): list zones by name, create a DNS
// record, delete a DNS record. It enforces what the real API enforces that matters here:
//   - every call carries "Authorization: Bearer TOKEN", else 403 with code 10000, Authentication error
//     (https://developers.cloudflare.com/fundamentals/api/how-to/make-api-calls/);
//   - GET /zones?name=NAME matches the zone's name exactly (name is an exact filter unless given an
//     operator: https://developers.cloudflare.com/api/resources/zones/methods/list/);
//   - a record is created in a zone by its ID, and its name must be the zone or under it; a TXT
//     record's content is at most 2048 characters, its ttl 1 (automatic) or 60..86400, and an identical
//     record is refused with code 81058 (https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/create/,
//     https://developers.cloudflare.com/dns/manage-dns-records/reference/dns-record-types/#txt);
//   - a record is deleted by zone ID and record ID
//     (https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/delete/).
//
// Each TXT record is published in challtestsrv (POST /set-txt), where Pebble looks for it.
type cloudflare struct {
	t    testing.TB
	zone string // FQDN
	mgmt string // challtestsrv's management API

	mu      sync.Mutex
	records map[string]record
	created int
}

type record struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Content string `json:"content"`
	TTL     int    `json:"ttl"`
}

// apiError is a Cloudflare error response.
func apiError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"success": false, "errors": []map[string]any{{"code": code, "message": msg}}, "messages": []any{}, "result": nil,
	})
}

func apiResult(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": result})
}

func (c *cloudflare) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		apiError(w, http.StatusForbidden, 10000, "Authentication error")
		return
	}
	path := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && len(path) == 1 && path[0] == "zones":
		var zones []map[string]any
		if dns.Fqdn(r.URL.Query().Get("name")) == c.zone && r.URL.Query().Get("name") != "" {
			zones = append(zones, map[string]any{"id": ZoneID, "name": strings.TrimSuffix(c.zone, "."), "status": "active"})
		}
		apiResult(w, zones)
	case len(path) >= 3 && path[0] == "zones" && path[2] == "dns_records" && path[1] != ZoneID:
		apiError(w, http.StatusBadRequest, 7003, "Could not route to "+r.URL.Path+", perhaps your object identifier is invalid?")
	case r.Method == http.MethodPost && len(path) == 3 && path[2] == "dns_records":
		c.create(w, r)
	case r.Method == http.MethodDelete && len(path) == 4 && path[2] == "dns_records":
		c.delete(w, path[3])
	default:
		apiError(w, http.StatusNotFound, 7000, "No route for that URI")
	}
}

func (c *cloudflare) create(w http.ResponseWriter, r *http.Request) {
	var rec record
	if err := json.NewDecoder(r.Body).Decode(&rec); err != nil {
		apiError(w, http.StatusBadRequest, 9207, "Request body is invalid: "+err.Error())
		return
	}
	name := dns.Fqdn(rec.Name)
	switch {
	case rec.Type != "TXT":
		apiError(w, http.StatusBadRequest, 1004, "DNS Validation Error: this double only holds TXT records, not "+rec.Type)
		return
	case name != c.zone && !strings.HasSuffix(name, "."+c.zone):
		apiError(w, http.StatusBadRequest, 1004, fmt.Sprintf("DNS Validation Error: %s is not in the zone %s", rec.Name, c.zone))
		return
	case rec.Content == "" || len(rec.Content) > 2048:
		apiError(w, http.StatusBadRequest, 1004, fmt.Sprintf("DNS Validation Error: TXT content of %d characters", len(rec.Content)))
		return
	case rec.TTL != 1 && (rec.TTL < 60 || rec.TTL > 86400):
		apiError(w, http.StatusBadRequest, 1004, fmt.Sprintf("DNS Validation Error: ttl %d", rec.TTL))
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, old := range c.records {
		if old.Name == rec.Name && old.Content == rec.Content {
			apiError(w, http.StatusBadRequest, 81058, "An identical record already exists.")
			return
		}
	}
	c.created++
	rec.ID = fmt.Sprintf("%032x", c.created)
	c.records[rec.ID] = rec
	if err := c.publish(name); err != nil {
		delete(c.records, rec.ID)
		apiError(w, http.StatusInternalServerError, 1000, err.Error())
		return
	}
	apiResult(w, rec)
}

func (c *cloudflare) delete(w http.ResponseWriter, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec, ok := c.records[id]
	if !ok {
		apiError(w, http.StatusNotFound, 81044, "Record does not exist.")
		return
	}
	delete(c.records, id)
	if err := c.publish(dns.Fqdn(rec.Name)); err != nil {
		apiError(w, http.StatusInternalServerError, 1000, err.Error())
		return
	}
	apiResult(w, map[string]string{"id": id})
}

// publish makes challtestsrv answer name's TXT queries with exactly the records held for it. The API
// stores TXT content quoted (lego sends "value"); DNS answers carry the value.
func (c *cloudflare) publish(name string) error {
	if err := c.post("/clear-txt", map[string]string{"host": name}); err != nil {
		return err
	}
	for _, r := range c.records {
		if dns.Fqdn(r.Name) == name {
			value := strings.TrimSuffix(strings.TrimPrefix(r.Content, `"`), `"`)
			if err := c.post("/set-txt", map[string]string{"host": name, "value": value}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *cloudflare) post(path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := http.Post(c.mgmt+path, "application/json", bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("challtestsrv %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("challtestsrv %s: %s: %s", path, resp.Status, msg)
	}
	return nil
}

// startResolver answers what challtestsrv does not: the zone's SOA, which lego asks to find the zone
// a challenge name is in (challtestsrv answers SOA with NOTIMP). Every other question is passed on to
// challtestsrv, so the TXT records lego checks are the ones Pebble validates.
func startResolver(t testing.TB, zone, upstream string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	soa := &dns.SOA{
		Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
		Ns:  "ns1." + zone, Mbox: "hostmaster." + zone, Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 60,
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		if len(q.Question) == 1 && q.Question[0].Qtype == dns.TypeSOA {
			m := new(dns.Msg)
			m.SetReply(q)
			switch name := strings.ToLower(q.Question[0].Name); {
			case name == zone:
				m.Answer = []dns.RR{soa}
			case strings.HasSuffix(name, "."+zone):
				m.Ns = []dns.RR{soa} // the name exists in the zone but is no zone of its own
			default:
				m.Rcode = dns.RcodeRefused
			}
			_ = w.WriteMsg(m)
			return
		}
		resp, err := dns.Exchange(q, upstream)
		if err != nil {
			m := new(dns.Msg)
			m.SetRcode(q, dns.RcodeServerFailure)
			_ = w.WriteMsg(m)
			return
		}
		_ = w.WriteMsg(resp)
	})
	srv := &dns.Server{PacketConn: pc, Handler: handler}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// startProcess runs name until the test ends, its output in dir/name.log (shown when the test fails).
func startProcess(t testing.TB, dir, name string, env []string, bin string, args ...string) {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			if out, err := os.ReadFile(logPath); err == nil {
				t.Logf("%s log:\n%s", name, out)
			}
		}
	})
}

// waitHTTP polls url (POSTing body when there is one) until it answers 200, for up to 20 seconds.
func waitHTTP(t testing.TB, client *http.Client, url, body string) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var resp *http.Response
		if body != "" {
			resp, last = client.Post(url, "application/json", strings.NewReader(body))
		} else {
			resp, last = client.Get(url)
		}
		if last == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Errorf("%s", resp.Status)
		}
	}
	t.Fatalf("%s did not come up: %v", url, last)
}

// freeAddr picks a free loopback port for network (tcp or udp).
func freeAddr(t testing.TB, network string) string {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().String()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
