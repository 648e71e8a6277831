package config

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Pulumi's language host hands a Go program its configuration in these environment variables
// (pulumi.EnvConfig and pulumi.EnvConfigSecretKeys in the SDK); they are named here so this package
// stays free of the SDK.
const (
	envConfig           = "PULUMI_CONFIG"
	envConfigSecretKeys = "PULUMI_CONFIG_SECRET_KEYS"
)

// FromEnv reads the stack configuration the way the Pulumi Go SDK does at startup: every key with its
// raw value (objects and arrays as JSON text) and the keys that are secrets. *pulumi.Context can look up
// a key but cannot list them, and Load needs the list to reject misspelled keys. Pass os.Getenv; tests
// pass a map lookup.
func FromEnv(getenv func(string) string) (values map[string]string, secretKeys []string, err error) {
	values = map[string]string{}
	if raw := getenv(envConfig); raw != "" {
		if err := json.Unmarshal([]byte(raw), &values); err != nil {
			return nil, nil, fmt.Errorf("decode %s: %w", envConfig, err)
		}
	}
	if raw := getenv(envConfigSecretKeys); raw != "" {
		if err := json.Unmarshal([]byte(raw), &secretKeys); err != nil {
			return nil, nil, fmt.Errorf("decode %s: %w", envConfigSecretKeys, err)
		}
	}
	return values, secretKeys, nil
}

// Load decodes, defaults and validates the configuration a Pulumi program receives: values maps every
// configuration key of the stack, in every namespace, to its raw value (pulumi.RunInfo.Config, or
// FromEnv), and secretKeys lists the keys Pulumi holds encrypted (RunInfo.ConfigSecretKeys). A key lookup
// alone would not do: only the full key list can reveal a misspelled key, and only the secret list can
// reveal a stream key committed in plain text.
//
// Beyond Validate, Load requires the secrets the program renders into the machines: the stream key and,
// for a bring-your-own origin, its ssh key. Example values are left to ExampleValues, so the committed
// example stacks can be previewed. The error joins every problem found.
func Load(values map[string]string, secretKeys []string) (*Settings, error) {
	src := source{values: values, secret: map[string]bool{}}
	for _, k := range secretKeys {
		src.secret[k] = true
	}
	return load(src, true)
}

// LoadStackFile reads a Pulumi.<stack>.yaml for tools that run without Pulumi, such as `livecdn plan`.
// Encrypted values (`{secure: v1:...}`) count as set but cannot be read without the stack's passphrase,
// so their format is not checked and the Settings hold them sealed; a missing stream key is accepted
// because planning does not need it. Call ReadyToDeploy to list what `pulumi up` will still refuse.
func LoadStackFile(path string) (*Settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	src, err := parseStackFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	s, err := load(src, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return s, nil
}

// ReadStackFile returns a stack file's configuration in the shape Pulumi hands a program (the arguments
// of Load): every key with its raw value, and the secret keys. Encrypted values cannot be read without the
// stack's passphrase, so they are left out; tools and tests supply them.
func ReadStackFile(path string) (values map[string]string, secretKeys []string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read stack file: %w", err)
	}
	src, err := parseStackFile(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	for key := range src.sealed {
		delete(src.values, key)
	}
	for key := range src.secret {
		if !src.sealed[key] {
			secretKeys = append(secretKeys, key)
		}
	}
	slices.Sort(secretKeys)
	return src.values, secretKeys, nil
}

// source is one stack's raw configuration, from Pulumi or from a stack file.
type source struct {
	values map[string]string // full key -> raw value; objects and arrays as JSON text
	secret map[string]bool   // keys whose value is (or contains) a secret
	sealed map[string]bool   // secret keys whose plaintext was not available
}

// parseStackFile turns a stack file into the same shape Pulumi hands a program, except that secrets stay
// sealed. Pulumi's own top-level keys (secretsprovider, encryptedkey, environment ...) are not ours to check.
func parseStackFile(data []byte) (source, error) {
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		return source{}, fmt.Errorf("parse YAML: %w", err)
	}
	src := source{values: map[string]string{}, secret: map[string]bool{}, sealed: map[string]bool{}}
	for key, v := range file.Config {
		if containsSecure(v) {
			src.secret[key], src.sealed[key] = true, true
			src.values[key] = ""
			continue
		}
		raw, err := rawValue(v)
		if err != nil {
			return source{}, fmt.Errorf("config key %s: %w", key, err)
		}
		src.values[key] = raw
	}
	return src, nil
}

// containsSecure reports whether a stack-file value is, or contains, an encrypted `{secure: ...}` value.
func containsSecure(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["secure"]; ok && len(v) == 1 {
			return true
		}
		for _, item := range v {
			if containsSecure(item) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(v, containsSecure)
	}
	return false
}

// rawValue renders a stack-file value the way Pulumi passes it to a program: scalars as text, objects and
// arrays as JSON.
func rawValue(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case map[string]any, []any:
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("render as JSON: %w", err)
		}
		return string(b), nil
	default:
		return fmt.Sprint(v), nil
	}
}

// The raw shapes of each key, as decoded from JSON. Pointers tell "left out" (take the default) from
// "set to zero" (an error), so a stack that says `fragmentSeconds: 0` is told so instead of silently
// getting 2.
type (
	rawEvent struct {
		Name *string `json:"name"`
		End  *string `json:"end"`
	}
	rawStream struct {
		Name            *string        `json:"name"`
		FragmentSeconds *int           `json:"fragmentSeconds"`
		PlaylistSeconds *int           `json:"playlistSeconds"`
		AudioKbps       *int           `json:"audioKbps"`
		SourceKbps      *int           `json:"sourceKbps"`
		Record          *bool          `json:"record"`
		Renditions      []rawRendition `json:"renditions"`
	}
	rawRendition struct {
		Name      *string `json:"name"`
		Width     *int    `json:"width"`
		Height    *int    `json:"height"`
		VideoKbps *int    `json:"videoKbps"`
	}
	rawOrigin struct {
		Region *string `json:"region"`
		Size   *string `json:"size"`
		BYO    *rawBYO `json:"byo"`
	}
	rawBYO struct {
		Address *string `json:"address"`
		User    *string `json:"user"`
		Port    *int    `json:"port"`
		HostKey *string `json:"hostKey"`
	}
	rawEdge struct {
		Region *string `json:"region"`
		Size   *string `json:"size"`
		Count  *int    `json:"count"`
	}
	rawAudience struct {
		Viewers    *int               `json:"viewers"`
		Shares     map[string]float64 `json:"shares"`
		Redundancy *bool              `json:"redundancy"`
	}
	rawDNS struct {
		Enabled         *bool     `json:"enabled"`
		ZoneID          *string   `json:"zoneId"`
		AccountID       *string   `json:"accountId"`
		LoadBalancing   *bool     `json:"loadBalancing"`
		TTL             *int      `json:"ttl"`
		Plan            *string   `json:"plan"`
		MonitorInterval *int      `json:"monitorInterval"`
		CheckRegions    *[]string `json:"checkRegions"` // nil: left out; empty: every data centre
	}
)

// load is Load and LoadStackFile after their sources differ. deploy requires the secrets.
func load(src source, deploy bool) (*Settings, error) {
	var p problems
	checkKeys(&p, src)

	present := func(key string) bool {
		_, ok := src.values[key]
		return ok && !src.sealed[key] && src.secret[key] == isSecretKey(key)
	}
	// decode reports whether the key is present. A value with problems is still used for the fields that
	// did decode, so one bad field does not cascade into "required" errors for its neighbours.
	decode := func(key string, out any) bool {
		if !present(key) {
			return false
		}
		decodeJSON(&p, key, src.values[key], out)
		return true
	}

	s := &Settings{}

	var ev rawEvent
	if decode(KeyEvent, &ev) {
		s.EventName = deref(ev.Name, "")
		s.EventEnd = parseEventEnd(&p, ev.End)
	}

	var st rawStream
	decode(KeyStream, &st)
	s.Stream = buildStream(st)

	s.StreamKey = secretFrom(src, KeyStreamKey)
	s.OriginSSHPrivateKey = secretFrom(src, KeyOriginSSHPrivateKey)
	s.TLS = TLS{
		Certificate: secretFrom(src, KeyTLSCertificate),
		Key:         secretFrom(src, KeyTLSKey),
		ACMEAccount: secretFrom(src, KeyACMEAccount),
	}

	var origin rawOrigin
	if decode(KeyOrigin, &origin) {
		s.Origin = buildOrigin(&p, origin)
	}

	var edges []rawEdge
	if decode(KeyEdges, &edges) {
		s.Edges = buildEdges(&p, edges)
	}

	var au rawAudience
	// An empty object is Pulumi.yaml's default for this optional key: it means "no audience".
	if decode(KeyAudience, &au) && (au.Viewers != nil || au.Shares != nil || au.Redundancy != nil) {
		s.Audience = buildAudience(au, s.Edges)
	}

	var ingest, admin, sshKeys []string
	if decode(KeyIngestCIDRs, &ingest) {
		s.IngestCIDRs = parseCIDRs(&p, KeyIngestCIDRs, ingest)
	}
	if decode(KeyAdminCIDRs, &admin) {
		s.AdminCIDRs = parseCIDRs(&p, KeyAdminCIDRs, admin)
	}
	decode(KeyAcceptBroadCIDRs, &s.AcceptBroadCIDRs)
	if decode(KeySSHKeys, &sshKeys) {
		s.SSHKeys = sshKeys
	}

	if decode(KeyCORSOrigins, &s.CORSOrigins) && len(s.CORSOrigins) == 0 {
		s.CORSOrigins = nil // Pulumi.yaml's default, []: any site
	}

	if present(KeyDomain) {
		s.Domain = src.values[KeyDomain]
	}
	var dns rawDNS
	decode(KeyDNS, &dns)
	s.DNS = DNS{
		Enabled:         deref(dns.Enabled, false),
		ZoneID:          deref(dns.ZoneID, ""),
		AccountID:       deref(dns.AccountID, ""),
		LoadBalancing:   deref(dns.LoadBalancing, false),
		TTL:             deref(dns.TTL, DefaultDNSTTL),
		Plan:            deref(dns.Plan, DefaultCloudflarePlan),
		MonitorInterval: deref(dns.MonitorInterval, DefaultMonitorInterval),
		CheckRegions:    deref(dns.CheckRegions, nil),
	}

	var alerts rawAlerts
	if decode(KeyAlerts, &alerts) {
		noDestination(&p, alerts)
	}
	s.Alerts = buildAlerts(alerts, secretFrom(src, KeyAlertsSlackWebhook))

	var rec rawRecordings
	decode(KeyRecordings, &rec)
	s.Recordings = buildRecordings(rec)

	s.validate(&p)
	if deploy {
		s.secretsSet(&p)
	}
	p.sortByKey()
	if err := p.err(); err != nil {
		return nil, err
	}
	s.sort()
	return s, nil
}

// checkKeys rejects keys this project does not read and secrets stored in plain text (or the reverse).
func checkKeys(p *problems, src source) {
	valid := Keys()
	for _, key := range sortedKeys(src.values) {
		ns, name, ok := strings.Cut(key, ":")
		switch {
		case !ok:
			p.addf(key, "write it as "+Namespace+":"+key, "config keys need a namespace")
			continue
		case ns != Namespace && strings.EqualFold(ns, Namespace):
			p.addf(key, "namespaces are case-sensitive: write "+Namespace+":"+name, "unknown namespace %q", ns)
			continue
		case ns != Namespace:
			continue // other namespaces (digitalocean:, cloudflare:) belong to their providers
		case !slices.Contains(valid, key):
			hint := ""
			if c, ok := closest(key, valid); ok {
				hint = fmt.Sprintf(" (did you mean %s?)", c)
			}
			p.addf(key, "valid keys are "+strings.Join(valid, ", ")+"; remove it with pulumi config rm "+key,
				"unknown key%s", hint)
			continue
		}
		switch {
		case isSecretKey(key) && !src.secret[key] && src.values[key] != "":
			// (An empty plain value is Pulumi.yaml's default for an optional secret: unset, not leaked.)
			// Never echo the value: it is a secret that has just leaked into a plain-text stack file.
			p.addf(key, fmt.Sprintf("set it with pulumi config set --secret %s <value>, and replace it: "+
				"the plain-text value is in the stack file and its history", key), "must be set as a secret")
		case !isSecretKey(key) && src.secret[key]:
			p.addf(key, fmt.Sprintf("set it in plain text with pulumi config set --path %s ... (without --secret)", key),
				"is stored as a secret, but livecdn publishes it in DNS, firewall rules or stack outputs, "+
					"where encryption would only pretend to protect it")
		}
	}
}

func secretFrom(src source, key string) Secret {
	raw, ok := src.values[key]
	switch {
	case !ok || !src.secret[key] || (raw == "" && !src.sealed[key]):
		// Pulumi.yaml gives optional secrets an empty default: empty is unset.
		return Secret{}
	case src.sealed[key]:
		return sealedSecret()
	default:
		return NewSecret(raw)
	}
}

func buildStream(r rawStream) Stream {
	s := Stream{
		Name:            deref(r.Name, ""),
		FragmentSeconds: deref(r.FragmentSeconds, DefaultFragmentSeconds),
		PlaylistSeconds: deref(r.PlaylistSeconds, DefaultPlaylistSeconds),
		AudioKbps:       deref(r.AudioKbps, DefaultAudioKbps),
		SourceKbps:      deref(r.SourceKbps, DefaultSourceKbps),
		Record:          deref(r.Record, false),
	}
	for _, rr := range r.Renditions {
		s.Renditions = append(s.Renditions, Rendition{
			Name:      deref(rr.Name, ""),
			Width:     deref(rr.Width, 0),
			Height:    deref(rr.Height, 0),
			VideoKbps: deref(rr.VideoKbps, 0),
		})
	}
	return s
}

func buildOrigin(p *problems, r rawOrigin) Origin {
	o := Origin{Region: deref(r.Region, ""), Size: deref(r.Size, "")}
	if r.BYO == nil {
		return o
	}
	o.BYO = &BYOOrigin{User: deref(r.BYO.User, DefaultBYOUser), Port: deref(r.BYO.Port, DefaultBYOPort), HostKey: deref(r.BYO.HostKey, "")}
	path := KeyOrigin + ".byo.address"
	switch addr := deref(r.BYO.Address, ""); {
	case addr == "":
		p.addf(path, setCmd(path, "<public-ipv4>"), "required: the origin's public IPv4 address")
	default:
		a, err := netip.ParseAddr(addr)
		if err != nil {
			p.addf(path, "write a public IPv4 address such as 203.0.113.10, without a port or prefix",
				"%q is not an IP address", addr)
			break
		}
		o.BYO.Address = a
	}
	return o
}

func buildEdges(p *problems, raw []rawEdge) []EdgeGroup {
	var out []EdgeGroup
	for i, r := range raw {
		e := EdgeGroup{Region: deref(r.Region, ""), Size: deref(r.Size, "")}
		if r.Count != nil {
			if *r.Count < 1 {
				path := fmt.Sprintf("%s[%d].count", KeyEdges, i)
				p.addf(path, fmt.Sprintf("set it to 1 or more, or remove it (pulumi config rm --path '%s') "+
					"to let the planner decide", path), "must be at least 1, got %d", *r.Count)
			} else {
				e.Count = *r.Count
			}
		}
		out = append(out, e)
	}
	return out
}

func buildAudience(r rawAudience, edges []EdgeGroup) *Audience {
	a := &Audience{Viewers: deref(r.Viewers, 0), Redundancy: deref(r.Redundancy, false)}
	for _, region := range sortedKeys(r.Shares) {
		a.Shares = append(a.Shares, Share{Region: region, Fraction: r.Shares[region]})
	}
	// With one edge region every viewer goes there; asking for `shares: {ams3: 1}` would be ceremony.
	if r.Shares == nil && len(edges) == 1 && edges[0].Region != "" {
		a.Shares = []Share{{Region: edges[0].Region, Fraction: 1}}
	}
	return a
}

func parseCIDRs(p *problems, key string, raw []string) []netip.Prefix {
	var out []netip.Prefix
	for i, s := range raw {
		path := fmt.Sprintf("%s[%d]", key, i)
		prefix, err := netip.ParsePrefix(s)
		if err != nil {
			if addr, aerr := netip.ParseAddr(s); aerr == nil {
				p.addf(path, setCmd(path, netip.PrefixFrom(addr, addr.BitLen()).String()),
					"%q is an address, not a CIDR", s)
			} else {
				p.addf(path, "write a network such as 198.51.100.7/32 or 2001:db8::/48", "%q is not a CIDR", s)
			}
			continue
		}
		out = append(out, prefix)
	}
	return out
}

// sort orders every slice so output built from Settings does not depend on stack-file order.
func (s *Settings) sort() {
	slices.SortFunc(s.Edges, func(a, b EdgeGroup) int { return cmp.Compare(a.Region, b.Region) })
	for _, cidrs := range [][]netip.Prefix{s.IngestCIDRs, s.AdminCIDRs} {
		slices.SortFunc(cidrs, func(a, b netip.Prefix) int {
			return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
		})
	}
	slices.Sort(s.SSHKeys)
	slices.Sort(s.DNS.CheckRegions)
	slices.Sort(s.CORSOrigins)
	slices.Sort(s.Alerts.Emails)
}

// eventEndLayout is how a stack writes the event's last day.
const eventEndLayout = "2006-01-02"

// parseEventEnd reads event.end, the event's last day, as the midnight (UTC) after it.
func parseEventEnd(p *problems, raw *string) time.Time {
	if raw == nil {
		return time.Time{}
	}
	path := KeyEvent + ".end"
	day, err := time.Parse(eventEndLayout, *raw)
	if err != nil {
		p.addf(path, setCmd(path, "2026-12-13")+" (the event's last day, YYYY-MM-DD)", "%q is not a date", *raw)
		return time.Time{}
	}
	return day.AddDate(0, 0, 1)
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
