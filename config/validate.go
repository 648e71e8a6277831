package config

import (
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	// Stream names appear in RTMP URLs, HLS paths and nginx config: lowercase, no separators that need
	// escaping, and no leading dash that a shell would read as a flag.
	streamNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	// Rendition names appear in HLS paths and variant playlists.
	renditionNamePattern = regexp.MustCompile(`^[a-z0-9]{1,16}$`)
	// The stream key is embedded in an nginx `map` and compared against a URL query argument, so it is
	// limited to characters that need no escaping in either.
	streamKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,128}$`)
	// ssh users are created by adduser's default NAME_REGEX.
	sshUserPattern = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	// DigitalOcean accepts an ssh key by numeric ID or by MD5 fingerprint.
	sshKeyPattern = regexp.MustCompile(`^([0-9]{1,12}|[0-9a-f]{2}(:[0-9a-f]{2}){15})$`)
	// Cloudflare zone and account IDs are 32 lowercase hex digits.
	cloudflareIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	dnsLabelPattern     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Ranges of values, named so the docs, the checks and the messages agree.
const (
	maxEventNameRunes = 64
	minFragmentSecs   = 1
	maxFragmentSecs   = 10
	minPlaylistFrags  = 4 // hls_cleanup deletes segments a slow player still wants below this
	maxPlaylistSecs   = 60
	minAudioKbps      = 32
	maxAudioKbps      = 320
	minSourceKbps     = 100
	maxSourceKbps     = 50000
	maxRenditions     = 5 // each costs origin CPU and one static pull per edge
	minWidth          = 128
	maxWidth          = 3840
	minHeight         = 72
	maxHeight         = 2160
	minVideoKbps      = 100
	maxVideoKbps      = 20000
	maxViewers        = 1000000
	shareTolerance    = 0.01
)

// Validate checks that what the stack sets is well-formed and consistent, and names the key path, the
// bad value and the fix for every problem (joined with errors.Join). It does not require secrets, which
// the CLI cannot read: ReadyToDeploy does. Paths index slices in their current order, which for Settings
// from Load is the stack file's order only until Load sorts them; Load validates before sorting.
func (s *Settings) Validate() error {
	var p problems
	s.validate(&p)
	p.sortByKey()
	return p.err()
}

func (s *Settings) validate(p *problems) {
	s.validateEvent(p)
	s.validateTLS(p)
	s.validateStream(p)
	s.validateOrigin(p)
	s.validateEdges(p)
	s.validateAudience(p)
	validateCIDRs(p, KeyIngestCIDRs, s.IngestCIDRs, s.AcceptBroadCIDRs,
		"put the public address of the venue uplink the encoder publishes from: "+
			"the stream key alone does not stop a stranger from publishing")
	validateCIDRs(p, KeyAdminCIDRs, s.AdminCIDRs, s.AcceptBroadCIDRs,
		"put the addresses your operators connect from: ssh and the stat pages must not face the internet")
	s.validateSSHKeys(p)
	s.validateDNS(p)
	s.validateAlerts(p)
	s.validateRecordings(p)
}

func (s *Settings) validateEvent(p *problems) {
	path := KeyEvent + ".name"
	switch name := s.EventName; {
	case strings.TrimSpace(name) == "":
		p.addf(path, setCmd(path, "AnimeCon 2026"), "required: the event's display name")
	case utf8.RuneCountInString(name) > maxEventNameRunes:
		p.addf(path, "shorten it", "%q is longer than %d characters", name, maxEventNameRunes)
	case strings.IndexFunc(name, unicode.IsControl) >= 0 || !utf8.ValidString(name):
		p.addf(path, "use printable characters only", "%q contains control characters", name)
	}
}

func (s *Settings) validateStream(p *problems) {
	st := s.Stream
	path := KeyStream + ".name"
	switch {
	case st.Name == "":
		p.addf(path, setCmd(path, "main"), "required: the RTMP stream name the encoder publishes to")
	case !streamNamePattern.MatchString(st.Name):
		p.addf(path, setCmd(path, suggestName(st.Name)),
			"%q must be 1 to 32 characters of a-z, 0-9 and -, not starting with -", st.Name)
	}
	intRange(p, KeyStream+".fragmentSeconds", st.FragmentSeconds, minFragmentSecs, maxFragmentSecs,
		DefaultFragmentSeconds)
	path = KeyStream + ".playlistSeconds"
	if minPlaylist := minPlaylistFrags * st.FragmentSeconds; st.PlaylistSeconds < minPlaylist ||
		st.PlaylistSeconds > maxPlaylistSecs {
		want := max(minPlaylist, min(DefaultPlaylistSeconds, maxPlaylistSecs))
		p.addf(path, setCmd(path, strconv.Itoa(want)),
			"%d must be between %d (%d fragments of %d s) and %d seconds",
			st.PlaylistSeconds, minPlaylist, minPlaylistFrags, st.FragmentSeconds, maxPlaylistSecs)
	}
	intRange(p, KeyStream+".audioKbps", st.AudioKbps, minAudioKbps, maxAudioKbps, DefaultAudioKbps)
	intRange(p, KeyStream+".sourceKbps", st.SourceKbps, minSourceKbps, maxSourceKbps, DefaultSourceKbps)

	if len(st.Renditions) > maxRenditions {
		p.addf(KeyStream+".renditions", "drop the least useful renditions",
			"%d renditions, at most %d: each costs origin CPU and one relay per edge", len(st.Renditions), maxRenditions)
	}
	seen := map[string]int{}
	for i, r := range st.Renditions {
		base := fmt.Sprintf("%s.renditions[%d]", KeyStream, i)
		switch j, dup := seen[r.Name]; {
		case !renditionNamePattern.MatchString(r.Name):
			p.addf(base+".name", setCmd(base+".name", fmt.Sprintf("%dp", max(r.Height, minHeight))),
				"%q must be 1 to 16 characters of a-z and 0-9", r.Name)
		case dup:
			p.addf(base+".name", "give each rendition its own name",
				"%q is also the name of renditions[%d]", r.Name, j)
		default:
			seen[r.Name] = i
		}
		evenRange(p, base+".width", r.Width, minWidth, maxWidth)
		evenRange(p, base+".height", r.Height, minHeight, maxHeight)
		intRange(p, base+".videoKbps", r.VideoKbps, minVideoKbps, maxVideoKbps, 0)
		if i == 0 {
			continue
		}
		prev := st.Renditions[i-1]
		if r.Height >= prev.Height {
			p.addf(base+".height", "order renditions from the highest to the lowest quality",
				"%d is not below renditions[%d].height %d", r.Height, i-1, prev.Height)
		}
		if r.VideoKbps >= prev.VideoKbps {
			p.addf(base+".videoKbps", "give each lower rendition a lower bitrate",
				"%d is not below renditions[%d].videoKbps %d", r.VideoKbps, i-1, prev.VideoKbps)
		}
	}

	if s.StreamKey.IsSet() && !s.StreamKey.Sealed() {
		// The value is a secret: describe it, never quote it.
		key := s.StreamKey.Reveal()
		if !streamKeyPattern.MatchString(key) {
			p.addf(KeyStreamKey, "generate one with: openssl rand -hex 24 | pulumi config set --secret "+KeyStreamKey,
				"must be 16 to 128 characters of A-Z, a-z, 0-9, _ and - (it is embedded in nginx config and "+
					"a URL), got %d characters", utf8.RuneCountInString(key))
		}
	}
}

func (s *Settings) validateOrigin(p *problems) {
	o := s.Origin
	if o.BYO != nil {
		if o.Region != "" || o.Size != "" {
			p.addf(KeyOrigin, "remove region and size (pulumi config rm --path "+KeyOrigin+".region; "+
				"pulumi config rm --path "+KeyOrigin+".size), or remove byo",
				"sets both region/size (a new Droplet) and byo (an existing machine); choose one")
		}
		s.validateBYO(p)
		return
	}
	knownRegion(p, KeyOrigin+".region", o.Region)
	knownSize(p, KeyOrigin+".size", o.Size, "c-4")
	if s.OriginSSHPrivateKey.IsSet() {
		p.addf(KeyOriginSSHPrivateKey, "remove it: pulumi config rm "+KeyOriginSSHPrivateKey,
			"is only used with "+KeyOrigin+".byo, and the origin is a new Droplet")
	}
}

// hostKeyPattern is an ssh public key as ssh-keyscan and *.pub files write
// it, without the host name or comment.
var hostKeyPattern = regexp.MustCompile(`^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|rsa-sha2-(256|512)|ssh-rsa) [A-Za-z0-9+/]+={0,2}$`)

func (s *Settings) validateBYO(p *problems) {
	b := s.Origin.BYO
	path := KeyOrigin + ".byo.address"
	switch a := b.Address; {
	case !a.IsValid():
		// Missing or unparsable: Load already said which.
	case !a.Is4():
		p.addf(path, "use the origin's public IPv4 address: edges and DigitalOcean firewalls reach it over IPv4",
			"%s is not an IPv4 address", a)
	case a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsMulticast() ||
		!a.IsGlobalUnicast():
		p.addf(path, "use the public IPv4 address edges in other regions can reach",
			"%s is not a public address", a)
	}
	path = KeyOrigin + ".byo.user"
	if !sshUserPattern.MatchString(b.User) {
		p.addf(path, setCmd(path, DefaultBYOUser), "%q is not a valid Unix user name", b.User)
	}
	intRange(p, KeyOrigin+".byo.port", b.Port, 1, 65535, DefaultBYOPort)
	path = KeyOrigin + ".byo.hostKey"
	if !hostKeyPattern.MatchString(b.HostKey) {
		scan := "ssh-keyscan -p " + strconv.Itoa(b.Port) + " -t ed25519 " + b.Address.String() + " | cut -d' ' -f2-"
		if b.Port == DefaultBYOPort {
			scan = "ssh-keyscan -t ed25519 " + b.Address.String() + " | cut -d' ' -f2-"
		}
		fix := "print it on the server (cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub) or, from a network you trust, " +
			"with " + scan + "; then pulumi config set --path '" + path + "' 'ssh-ed25519 AAAA...'"
		if b.HostKey == "" {
			p.addf(path, fix, "required: the ssh session that sends the stream key must know the server it talks to")
		} else {
			p.addf(path, fix, "%q is not an ssh host key (TYPE BASE64, e.g. ssh-ed25519 AAAAC3...)", b.HostKey)
		}
	}
	if k := s.OriginSSHPrivateKey; k.IsSet() && !k.Sealed() && !strings.Contains(k.Reveal(), "PRIVATE KEY-----") {
		p.addf(KeyOriginSSHPrivateKey, "pipe the key file in: pulumi config set --secret "+KeyOriginSSHPrivateKey+
			" < ~/.ssh/id_ed25519", "is not a PEM or OpenSSH private key")
	}
}

func (s *Settings) validateEdges(p *problems) {
	if len(s.Edges) == 0 {
		p.addf(KeyEdges, setCmd(KeyEdges+"[0].region", "ams3")+" and "+setCmd(KeyEdges+"[0].size", "s-4vcpu-8gb-amd"),
			"at least one edge group is required")
		return
	}
	seen := map[string]int{}
	total := 0
	for i, e := range s.Edges {
		base := fmt.Sprintf("%s[%d]", KeyEdges, i)
		if knownRegion(p, base+".region", e.Region) {
			if j, dup := seen[e.Region]; dup {
				p.addf(base+".region", "merge the two groups into one and raise its count",
					"%q is also the region of %s[%d]", e.Region, KeyEdges, j)
			}
			seen[e.Region] = i
		}
		knownSize(p, base+".size", e.Size, "s-4vcpu-8gb-amd")
		if e.Count < 0 || e.Count > MaxEdgesPerRegion {
			p.addf(base+".count", "use a larger size (premium -amd sizes carry 10 Gbps) or fewer edges",
				"%d edges, at most %d per region (all of a region's edges must fit one DNS answer)",
				e.Count, MaxEdgesPerRegion)
		}
		total += e.Count
	}
	if total > MaxEdges {
		p.addf(KeyEdges, "use larger sizes or fewer edges; raise MaxEdges in config/keys.go only together "+
			"with your DigitalOcean Droplet limit", "%d edges in total, at most %d", total, MaxEdges)
	}
}

func (s *Settings) validateAudience(p *problems) {
	a := s.Audience
	if a == nil {
		for i, e := range s.Edges {
			if e.Count == 0 {
				path := fmt.Sprintf("%s[%d].count", KeyEdges, i)
				p.addf(path, setCmd(path, "1")+", or describe the audience with "+
					setCmd(KeyAudience+".viewers", "2000"),
					"required when there is no %s: the planner has nothing to size the edges from", KeyAudience)
			}
		}
		return
	}
	path := KeyAudience + ".viewers"
	if a.Viewers < 1 || a.Viewers > maxViewers {
		p.addf(path, setCmd(path, "2000"), "%d must be between 1 and %d: the expected peak of concurrent viewers",
			a.Viewers, maxViewers)
	}
	sharesPath := KeyAudience + ".shares"
	edgeRegions := map[string]bool{}
	for _, e := range s.Edges {
		edgeRegions[e.Region] = true
	}
	if len(a.Shares) == 0 {
		if len(s.Edges) > 1 {
			p.addf(sharesPath, setCmd(sharesPath+"."+s.Edges[0].Region, "0.5")+", one per edge region",
				"required with more than one edge region: the fraction of viewers each region serves")
		}
		return
	}
	sum := 0.0
	for _, sh := range a.Shares {
		path := sharesPath + "." + sh.Region
		if !edgeRegions[sh.Region] {
			p.addf(path, "add an edge group in "+sh.Region+" or remove the share (pulumi config rm --path "+path+")",
				"%q has no edge group in %s", sh.Region, KeyEdges)
		}
		if sh.Fraction < 0 || sh.Fraction > 1 {
			p.addf(path, "write the fraction of all viewers, e.g. 0.25 for a quarter",
				"%s must be between 0 and 1", formatFloat(sh.Fraction))
		}
		sum += sh.Fraction
	}
	for _, e := range s.Edges {
		if _, known := LookupRegion(e.Region); known && !slices.ContainsFunc(a.Shares, func(sh Share) bool { return sh.Region == e.Region }) {
			p.addf(sharesPath+"."+e.Region, setCmd(sharesPath+"."+e.Region, "0.25"),
				"missing: every edge region needs a share of the viewers")
		}
	}
	if sum < 1-shareTolerance || sum > 1+shareTolerance {
		p.addf(sharesPath, "make the fractions add up to 1", "fractions add up to %s, not 1", formatFloat(sum))
	}
}

// validateCIDRs checks a list of networks that a firewall opens: it must exist, must not be the whole
// internet and, unless acceptBroad, must not add up to more than the Broadest*Bits bounds. why says what
// to put there instead.
func validateCIDRs(p *problems, key string, cidrs []netip.Prefix, acceptBroad bool, why string) {
	if len(cidrs) == 0 {
		p.addf(key, setCmd(key+"[0]", "<cidr>")+"; "+why, "at least one CIDR is required")
		return
	}
	seen := map[netip.Prefix]int{}
	wholeInternet := map[bool]bool{} // by Is4
	for i, c := range cidrs {
		path := fmt.Sprintf("%s[%d]", key, i)
		switch {
		case c.Bits() == 0:
			wholeInternet[c.Addr().Is4()] = true
			p.addf(path, why, "%s opens the firewall to the whole internet", c)
		case c != c.Masked():
			p.addf(path, setCmd(path, c.Masked().String()), "%s has bits set past its /%d prefix", c, c.Bits())
		}
		if j, dup := seen[c.Masked()]; dup {
			p.addf(path, "remove one of them", "%s is also %s[%d]", c, key, j)
		}
		seen[c.Masked()] = i
	}
	if acceptBroad {
		return
	}
	for _, family := range []struct {
		is4        bool
		name       string
		bits, most int
	}{{true, "IPv4", 32, BroadestIPv4Bits}, {false, "IPv6", 128, BroadestIPv6Bits}} {
		if wholeInternet[family.is4] {
			continue // already said, more plainly
		}
		nets, open := openAddresses(cidrs, family.is4)
		limit := new(big.Int).Lsh(big.NewInt(1), uint(family.bits-family.most))
		if open.Cmp(limit) <= 0 {
			continue
		}
		p.addf(key, why+"; to open them anyway, say so: pulumi config set "+KeyAcceptBroadCIDRs+" true",
			"%s open about %s %s addresses together, more than one /%d (2^%d): a large share of the internet",
			strings.Join(nets, ", "), powerOfTwo(open), family.name, family.most, family.bits-family.most)
	}
}

// powerOfTwo writes a count of addresses as 2^x, the way prefix sizes compare: 2^24.6, 2^32.
func powerOfTwo(n *big.Int) string {
	f, _ := new(big.Float).SetInt(n).Float64()
	return fmt.Sprintf("2^%.3g", math.Log2(f))
}

// openAddresses counts the addresses of one family that cidrs open, each address once however many
// networks hold it, and lists those networks. Two prefixes are either disjoint or one holds the other, so
// the union is the sum over the prefixes no other one holds.
func openAddresses(cidrs []netip.Prefix, is4 bool) (nets []string, open *big.Int) {
	var family []netip.Prefix
	for _, c := range cidrs {
		if c.Addr().Is4() == is4 {
			family = append(family, c.Masked())
			nets = append(nets, c.String())
		}
	}
	open = new(big.Int)
	for i, c := range family {
		held := slices.ContainsFunc(family, func(o netip.Prefix) bool {
			return o.Bits() < c.Bits() && o.Contains(c.Addr())
		}) || slices.Index(family, c) < i // a duplicate counts once
		if !held {
			open.Add(open, new(big.Int).Lsh(big.NewInt(1), uint(c.Addr().BitLen()-c.Bits())))
		}
	}
	return nets, open
}

func (s *Settings) validateSSHKeys(p *problems) {
	if len(s.SSHKeys) == 0 {
		p.addf(KeySSHKeys, setCmd(KeySSHKeys+"[0]", "<fingerprint>")+" (see doctl compute ssh-key list)",
			"at least one DigitalOcean ssh key is required, or nobody can log in to debug an edge mid-event")
		return
	}
	seen := map[string]int{}
	for i, k := range s.SSHKeys {
		path := fmt.Sprintf("%s[%d]", KeySSHKeys, i)
		if !sshKeyPattern.MatchString(k) {
			p.addf(path, "use the ID or fingerprint from doctl compute ssh-key list",
				"%q is neither a numeric key ID nor an MD5 fingerprint (aa:bb:...:ff)", k)
		}
		if j, dup := seen[k]; dup {
			p.addf(path, "remove one of them", "%q is also %s[%d]", k, KeySSHKeys, j)
		}
		seen[k] = i
	}
}

func (s *Settings) validateDNS(p *problems) {
	d := s.DNS
	if s.Domain != "" {
		if problem := checkDomain(s.Domain); problem != "" {
			p.addf(KeyDomain, "pulumi config set "+KeyDomain+" live.example.org (a name in your Cloudflare zone)",
				"%q %s", s.Domain, problem)
		}
	} else if d.Enabled {
		p.addf(KeyDomain, "pulumi config set "+KeyDomain+" <hostname>",
			"required when %s.enabled is true: the hostname viewers open", KeyDNS)
	}
	intRange(p, KeyDNS+".ttl", d.TTL, MinRecordTTL, MaxRecordTTL, DefaultDNSTTL)
	cloudflareID(p, KeyDNS+".zoneId", d.ZoneID, d.Enabled, "the Zone ID on the zone's Overview page")
	cloudflareID(p, KeyDNS+".accountId", d.AccountID, d.LoadBalancing, "the Account ID on the zone's Overview page")
	if d.LoadBalancing && !d.Enabled {
		p.addf(KeyDNS+".loadBalancing", setCmd(KeyDNS+".enabled", "true"),
			"true needs %s.enabled: the load balancer is part of the DNS setup", KeyDNS)
	}
	s.validateLoadBalancing(p)
}

// validateLoadBalancing checks the monitor and pool settings against what the stack's Cloudflare plan
// allows (config/cloudflare.go), so `pulumi up` never meets Cloudflare's refusal halfway through.
func (s *Settings) validateLoadBalancing(p *problems) {
	d := s.DNS
	path := KeyDNS + ".plan"
	plan, known := LookupCloudflarePlan(d.Plan)
	if !known {
		suggestion := DefaultCloudflarePlan
		if c, ok := closest(d.Plan, cloudflarePlanNames()); ok {
			suggestion = c
		}
		p.addf(path, setCmd(path, suggestion)+" (the plan of the zone, on its Overview page)",
			"%q is not a Cloudflare plan; use one of %s", d.Plan, strings.Join(cloudflarePlanNames(), ", "))
	}
	if d.LoadBalancing && known && !plan.LoadBalancing {
		p.addf(KeyDNS+".loadBalancing", "set the zone's real plan ("+setCmd(path, PlanPro)+" or higher), or "+
			setCmd(KeyDNS+".loadBalancing", "false")+" (the player then picks a region and fails over itself)",
			"true needs Cloudflare Load Balancing, which livecdn deploys on the pro, business and enterprise "+
				"plans, and %s is %q", path, d.Plan)
	}
	for i, code := range d.CheckRegions {
		rpath := fmt.Sprintf("%s.checkRegions[%d]", KeyDNS, i)
		switch j := slices.Index(d.CheckRegions, code); {
		case code == AllRegions:
		case !slices.Contains(cloudflareRegionCodes, code):
			suggestion := "<region-code>"
			if c, ok := closest(code, cloudflareRegionCodes); ok {
				suggestion = c
			}
			p.addf(rpath, setCmd(rpath, suggestion), "%q is not a Cloudflare region; use one of %s", code,
				strings.Join(cloudflareRegionCodes, ", "))
		case j < i:
			p.addf(rpath, "remove one of them", "%q is also %s.checkRegions[%d]", code, KeyDNS, j)
		}
	}
	if !known || !plan.LoadBalancing {
		return // no limits to check against; loadBalancing itself is refused above
	}
	path = KeyDNS + ".monitorInterval"
	switch v := d.MonitorInterval; {
	case v < plan.MinMonitorInterval:
		p.addf(path, setCmd(path, strconv.Itoa(plan.MinMonitorInterval)),
			"%d is below the %s plan's minimum of %d seconds between probes", v, plan.Name, plan.MinMonitorInterval)
	case v > MaxMonitorInterval:
		p.addf(path, setCmd(path, strconv.Itoa(DefaultMonitorInterval)),
			"%d is above Cloudflare's maximum of %d seconds between probes", v, MaxMonitorInterval)
	}
	if plan.ProbeFromEveryDataCenter {
		return
	}
	path = KeyDNS + ".checkRegions"
	everywhere := "probe from a few regions near the edges: leave it out (pulumi config rm --path '" + path +
		"') or list region codes such as " + strings.Join(cloudflareRegionCodes[:3], ", ")
	if d.CheckRegions != nil && len(d.CheckRegions) == 0 {
		p.addf(path, everywhere, "[] probes from every Cloudflare data centre, which only the %s plan allows "+
			"(%s.plan is %q)", PlanEnterprise, KeyDNS, d.Plan)
	}
	if i := slices.Index(d.CheckRegions, AllRegions); i >= 0 {
		p.addf(fmt.Sprintf("%s[%d]", path, i), everywhere, "%q probes from every region, which only the %s "+
			"plan allows (%s.plan is %q)", AllRegions, PlanEnterprise, KeyDNS, d.Plan)
	}
}

func cloudflareID(p *problems, path, id string, required bool, where string) {
	switch {
	case id == "" && required:
		p.addf(path, setCmd(path, "<32-hex-id>")+" ("+where+")", "required")
	case id != "" && !cloudflareIDPattern.MatchString(id):
		fix := where
		if lower := strings.ToLower(id); cloudflareIDPattern.MatchString(lower) {
			fix = setCmd(path, lower)
		}
		p.addf(path, fix, "%q is not 32 lowercase hex digits", id)
	}
}

// checkDomain returns what is wrong with a hostname, or "".
func checkDomain(name string) string {
	if len(name) > 253 {
		return "is longer than 253 characters"
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return "needs at least two labels (name.tld)"
	}
	for _, l := range labels {
		if !dnsLabelPattern.MatchString(l) {
			return fmt.Sprintf("has an invalid label %q (a-z, 0-9 and inner -, at most 63 characters, "+
				"lowercase, no trailing dot)", l)
		}
	}
	return ""
}

func knownRegion(p *problems, path, region string) bool {
	if _, ok := LookupRegion(region); ok {
		return true
	}
	var choices []string
	for _, r := range Regions() {
		choices = append(choices, r.Slug+" ("+r.City+")")
	}
	suggestion := "<region>"
	if c, ok := closest(region, regionSlugs()); ok {
		suggestion = c
	}
	if region == "" {
		p.addf(path, setCmd(path, suggestion), "required; use one of %s", strings.Join(choices, ", "))
		return false
	}
	p.addf(path, setCmd(path, suggestion), "unknown region %q; use one of %s", region, strings.Join(choices, ", "))
	return false
}

func knownSize(p *problems, path, size, fallback string) {
	if _, ok := LookupSize(size); ok {
		return
	}
	suggestion := fallback
	if c, ok := closest(size, sizeSlugs()); ok {
		suggestion = c
	}
	list := strings.Join(sizeSlugs(), ", ")
	if size == "" {
		p.addf(path, setCmd(path, suggestion), "required; use one of %s", list)
		return
	}
	p.addf(path, setCmd(path, suggestion), "unknown size %q; use one of %s", size, list)
}

// intRange reports v outside [lo, hi]; def, when in range, is suggested as the fix.
func intRange(p *problems, path string, v, lo, hi, def int) {
	if v >= lo && v <= hi {
		return
	}
	fix := fmt.Sprintf("use a value from %d to %d", lo, hi)
	if def >= lo && def <= hi {
		fix = setCmd(path, strconv.Itoa(def))
	}
	p.addf(path, fix, "%d must be between %d and %d", v, lo, hi)
}

func evenRange(p *problems, path string, v, lo, hi int) {
	switch {
	case v < lo || v > hi:
		p.addf(path, fmt.Sprintf("use an even number from %d to %d", lo, hi), "%d must be between %d and %d", v, lo, hi)
	case v%2 != 0:
		p.addf(path, setCmd(path, strconv.Itoa(v+1)), "%d must be even (H.264 4:2:0 chroma needs even dimensions)", v)
	}
}

// suggestName turns an invalid stream name into a valid one to propose.
func suggestName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 32 {
		out = strings.TrimRight(out[:32], "-")
	}
	if out == "" {
		return "main"
	}
	return out
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }
