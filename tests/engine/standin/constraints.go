package main

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/livecdn/livecdn/config"
)

// The rules below are the ones the real providers (and the APIs behind
// them) apply to every argument livecdn's program sets, so a stack they
// would refuse fails the engine test instead of `pulumi up` on event day.
// Each rule names where it comes from:
//   - TF-CF: terraform-provider-cloudflare v4.52.8 (bridged by
//     pulumi-cloudflare v5), internal/sdkv2provider/.
//   - TF-DO: terraform-provider-digitalocean v2.99.1 (bridged by
//     pulumi-digitalocean v4), digitalocean/.
//   - DO-API: github.com/digitalocean/openapi, specification/.
//   - CF-DOCS: github.com/cloudflare/cloudflare-docs, src/content/
//     (developers.cloudflare.com).
//
// Cloudflare's limits depend on the account's plan, which a test double
// cannot ask for: the stand-in is a Pro account with Load Balancing, the
// plan livecdn's defaults target (config.DefaultCloudflarePlan). Rules that
// span resources (pools per account, tags per team) need state the
// stand-in does not keep, and are not checked.
//
// Values a preview does not know yet (IDs, addresses) are not checked;
// that an argument is set at all is.

// standinPlan is the Cloudflare plan the stand-in's account has.
var standinPlan, _ = config.LookupCloudflarePlan(config.DefaultCloudflarePlan)

// checks are the rules of each resource type, by type token.
var checks = map[string]func(p props){
	"digitalocean:index/droplet:Droplet":                           checkDroplet,
	"digitalocean:index/firewall:Firewall":                         checkFirewall,
	"digitalocean:index/reservedIp:ReservedIp":                     checkReservedIP,
	"digitalocean:index/reservedIpAssignment:ReservedIpAssignment": checkReservedIPAssignment,
	"digitalocean:index/tag:Tag":                                   checkTag,
	"digitalocean:index/spacesKey:SpacesKey":                       checkSpacesKey,
	"digitalocean:index/monitorAlert:MonitorAlert":                 checkMonitorAlert,
	"digitalocean:index/uptimeCheck:UptimeCheck":                   checkUptimeCheck,
	"digitalocean:index/uptimeAlert:UptimeAlert":                   checkUptimeAlert,
	"cloudflare:index/record:Record":                               checkRecord,
	"cloudflare:index/loadBalancer:LoadBalancer":                   checkLoadBalancer,
	"cloudflare:index/loadBalancerPool:LoadBalancerPool":           checkPool,
	"cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor":     checkMonitor,
}

// checkInputs applies the type's rules to its inputs.
func checkInputs(typ string, inputs resource.PropertyMap) []plugin.CheckFailure {
	check, ok := checks[typ]
	if !ok {
		return nil
	}
	var failures []plugin.CheckFailure
	check(props{m: inputs, failures: &failures})
	return failures
}

var (
	// TF-DO tag/tags.go line 14 (ValidateTag, lines 36-42): tags on
	// droplets and firewall rules, and a Tag's name.
	tagName = regexp.MustCompile(`^[a-zA-Z0-9:\-_]{1,255}$`)
	// DO-API resources/droplets/models/droplet_single_create.yml: the name
	// of a Droplet created alone (it becomes its hostname).
	dropletName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)
	// DO-API resources/firewalls/models/firewall.yml: "must begin with an
	// alphanumeric character. Subsequent characters must either be
	// alphanumeric characters, a period (.), or a dash (-)".
	firewallName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]+$`)
	// TF-CF schema_cloudflare_load_balancer_pool.go lines 20-25: "Only
	// alphanumeric characters, hyphens and underscores are allowed" (the
	// provider's pattern is unanchored; the rule it states is this).
	poolName = regexp.MustCompile(`^[-_a-zA-Z0-9]+$`)
	// CF-DOCS partials/load-balancing/monitor-settings-advanced.mdx:
	// expected codes "listed individually (200, 302) or as a range (for
	// example, 2xx)".
	expectedCodes = regexp.MustCompile(`^[1-5]([0-9][0-9]|xx)$`)
	// TF-DO docs/resources/firewall.md lines 86-89: "a single port, a range
	// (e.g. "8000-9000"), or "1-65535" to open all ports".
	portRange = regexp.MustCompile(`^([0-9]{1,5})(?:-([0-9]{1,5}))?$`)
)

// checkDroplet: TF-DO droplet/resource_droplet.go.
func checkDroplet(p props) {
	p.nonEmpty("image")     // lines 66-71: Required, NoZeroValues
	if p.nonEmpty("name") { // lines 73-77: Required, NoZeroValues
		p.match("name", dropletName, "a Droplet name: a-z first, then a-z, 0-9 and -, at most 32 characters (DO-API droplet_single_create.yml)")
	}
	p.nonEmpty("region") // lines 79-89: NoZeroValues; DO-API droplet_create.yml: required
	p.nonEmpty("size")   // lines 91-99: Required, NoZeroValues
	for i, key := range p.strings("sshKeys") {
		if key == "" { // lines 232-240: elements NoZeroValues
			p.fail("sshKeys", "sshKeys[%d] is empty", i)
		}
	}
	if ud, ok := p.str("userData"); ok {
		// Lines 242-252: NoZeroValues; DO-API droplet_create.yml: "may not exceed 64 KiB in size".
		if ud == "" || len(ud) > 64<<10 {
			p.fail("userData", "user data is %d bytes; DigitalOcean takes 1 byte to 64 KiB", len(ud))
		}
	}
	p.tags("tags")
	p.boolean("monitoring") // lines 261-266: TypeBool
	p.boolean("ipv6")       // lines 195-199: TypeBool
}

// checkFirewall: TF-DO firewall/firewalls.go and resource_firewall.go, and
// DigitalOcean's limits (https://docs.digitalocean.com/products/networking/firewalls/details/limits/).
func checkFirewall(p props) {
	if p.nonEmpty("name") { // firewalls.go lines 12-16: Required, NoZeroValues
		p.match("name", firewallName, "a firewall name: a letter or digit, then letters, digits, . and - (DO-API firewall.yml)")
	}
	// Limits page: "a maximum of 10 Droplets per firewall and 5 tags per firewall".
	p.atMost("dropletIds", 10, "Droplets per firewall (use a tag)")
	p.atMost("tags", 5, "tags per firewall")
	for _, id := range p.numbers("dropletIds") {
		if id <= 0 || id != float64(int64(id)) {
			p.fail("dropletIds", "%v is not a Droplet ID", id)
		}
	}
	p.tags("tags")
	inbound, outbound := p.objects("inboundRules"), p.objects("outboundRules")
	// resource_firewall.go lines 33-35: "At least one rule must be specified".
	if p.empty("inboundRules") && p.empty("outboundRules") {
		p.fail("inboundRules", "no rules; a firewall needs at least one")
	}
	// Limits page: "up to 50 total incoming and outgoing rules".
	if n := len(inbound) + len(outbound); n > 50 {
		p.fail("inboundRules", "%d rules; a firewall takes at most 50 incoming and outgoing rules", n)
	}
	for _, r := range inbound {
		checkFirewallRule(r, "source")
	}
	for _, r := range outbound {
		checkFirewallRule(r, "destination")
	}
}

// checkFirewallRule checks one inbound (sources) or outbound (destinations) rule.
func checkFirewallRule(r props, target string) {
	protocol, known := r.str("protocol")
	// firewalls.go lines 78-86: Required, one of tcp, udp, icmp.
	switch {
	case !r.has("protocol"):
		r.fail("protocol", "missing; one of tcp, udp, icmp")
	case known && !slices.Contains([]string{"tcp", "udp", "icmp"}, protocol):
		r.fail("protocol", "%q is not tcp, udp or icmp", protocol)
	}
	ports, hasPorts := r.str("portRange")
	switch {
	case known && protocol != "icmp" && !r.has("portRange"):
		// resource_firewall.go lines 37-55: "`port_range` ... is required if protocol is `tcp` or `udp`".
		r.fail("portRange", "missing; a %s rule needs a port or a range", protocol)
	case known && protocol == "icmp" && r.has("portRange"):
		// DO-API firewall_rule.yml: "For ICMP rules this parameter will always return "0"": a port
		// given here never matches what DigitalOcean reads back, so every preview would change it.
		r.fail("portRange", "an icmp rule has no ports, got %q", ports)
	case hasPorts:
		// firewalls.go lines 87-91 (NoZeroValues) and docs/resources/firewall.md lines 86-89.
		lo, hi := -1, -1
		if m := portRange.FindStringSubmatch(ports); m != nil {
			lo, _ = strconv.Atoi(m[1])
			hi = lo
			if m[2] != "" {
				hi, _ = strconv.Atoi(m[2])
			}
		}
		if lo < 1 || hi > 65535 || lo > hi {
			r.fail("portRange", "%q is not a port or a range of ports from 1 to 65535", ports)
		}
	}
	addresses, tags, ids := target+"Addresses", target+"Tags", target+"DropletIds"
	for _, a := range r.strings(addresses) {
		// DO-API firewall_rule.yml: "IPv4 addresses, IPv6 addresses, IPv4 CIDRs, and/or IPv6 CIDRs".
		if _, err := netip.ParsePrefix(a); err != nil {
			if _, err := netip.ParseAddr(a); err != nil {
				r.fail(addresses, "%q is not an address or a CIDR", a)
			}
		}
	}
	r.tags(tags)
	// Limits page: "Firewall rules are limited to 1000 entries in the Sources or Destinations field".
	if n := len(r.strings(addresses)) + len(r.strings(tags)) + len(r.numbers(ids)); n > 1000 {
		r.fail(addresses, "%d %ss; a rule takes at most 1000", n, target)
	}
	// DO-API firewall_rule.yml: a rule requires its sources (destinations); without any it lets
	// nothing through, so it is a mistake either way.
	if !r.has(addresses) && !r.has(tags) && !r.has(ids) && !r.has(target+"LoadBalancerUids") &&
		!r.has(target+"KubernetesIds") {
		r.fail(addresses, "the rule names no %s", target)
	}
}

// checkReservedIP: TF-DO reservedip/resource_reserved_ip.go.
func checkReservedIP(p props) {
	p.nonEmpty("region") // lines 28-36: Required (ForceNew)
	if ip, ok := p.str("ipAddress"); ok {
		p.ipv4(ip, "ipAddress") // lines 42-47: IsIPv4Address
	}
}

// checkReservedIPAssignment: TF-DO reservedip/resource_reserved_ip_assignment.go.
func checkReservedIPAssignment(p props) {
	if p.nonEmpty("ipAddress") { // lines 30-35: Required, IsIPv4Address
		if ip, ok := p.str("ipAddress"); ok {
			p.ipv4(ip, "ipAddress")
		}
	}
	if !p.has("dropletId") { // lines 36-41: Required, NoZeroValues
		p.fail("dropletId", "missing")
	} else if id, ok := p.num("dropletId"); ok && id == 0 {
		p.fail("dropletId", "is 0")
	}
}

// checkTag: TF-DO tag/resource_tag.go lines 23-28 (Required, ValidateTag).
func checkTag(p props) {
	if p.nonEmpty("name") {
		p.match("name", tagName, "a tag: 1 to 255 of a-z, A-Z, 0-9, :, - and _ (tag/tags.go line 14)")
	}
}

// spacesKeyPermissions: TF-DO spaces/resource_spaces_key.go, parseRawGrants,
// maps exactly these to godo's permissions; any other value is sent as an
// empty permission, which the API refuses.
var spacesKeyPermissions = []string{"read", "readwrite", "fullaccess"}

// checkSpacesKey: TF-DO spaces/spaces_entities.go, spacesKeyResourceSchema:
// "name" Required; "grant" (grants) Optional, each with "bucket" and
// "permission" Required. A fullaccess grant names no bucket ("In case of a
// `fullaccess` permission, this value should be an empty string",
// pulumi-digitalocean's SpacesKeyGrant); any other grant is for one bucket.
func checkSpacesKey(p props) {
	p.nonEmpty("name")
	for _, g := range p.objects("grants") {
		perm, known := g.str("permission")
		switch {
		case !g.has("permission"):
			g.fail("permission", "missing; one of %s", strings.Join(spacesKeyPermissions, ", "))
		case known && !slices.Contains(spacesKeyPermissions, perm):
			g.fail("permission", "%q is not one of %s", perm, strings.Join(spacesKeyPermissions, ", "))
		}
		bucket, bucketKnown := g.str("bucket")
		switch {
		case !g.has("bucket"):
			g.fail("bucket", "missing")
		case known && bucketKnown && perm == "fullaccess" && bucket != "":
			g.fail("bucket", "%q with fullaccess, which is for every bucket: leave it empty", bucket)
		case known && bucketKnown && perm != "fullaccess" && bucket == "":
			g.fail("bucket", "empty with %s: name the bucket", perm)
		}
	}
}

// recordTypes: TF-CF schema_cloudflare_record.go lines 38-44.
var recordTypes = []string{"A", "AAAA", "CAA", "CNAME", "TXT", "SRV", "LOC", "MX", "NS", "SPF", "CERT",
	"DNSKEY", "DS", "NAPTR", "SMIMEA", "SSHFP", "TLSA", "URI", "PTR", "HTTPS", "SVCB"}

// checkRecord: TF-CF schema_cloudflare_record.go, resource_cloudflare_record.go and validators.go.
func checkRecord(p props) {
	p.nonEmpty("zoneId") // schema lines 14-19: Required
	p.nonEmpty("name")   // schema lines 21-30: Required; resource lines 108-110: "must not have an empty name"
	typ, typeKnown := p.str("type")
	if !p.has("type") { // schema lines 38-44: Required, one of recordTypes
		p.fail("type", "missing")
	} else if typeKnown && !slices.Contains(recordTypes, typ) {
		p.fail("type", "%q is not a record type Cloudflare takes", typ)
	}
	// Schema lines 46-69: exactly one of content, value and data.
	if n := count(p.has("content"), p.has("value"), p.has("data")); n != 1 {
		p.fail("content", "set exactly one of content, value and data, got %d", n)
	}
	// validators.go lines 34-47 (resource lines 112-115): an A record holds an IPv4 address, an AAAA
	// record an IPv6 one.
	if content, ok := p.str("content"); ok && typeKnown {
		addr, err := netip.ParseAddr(content)
		switch {
		case typ == "A" && (err != nil || !addr.Is4()):
			p.fail("content", "an A record needs an IPv4 address, got %q", content)
		case typ == "AAAA" && (err != nil || !addr.Is6() || addr.Is4In6()):
			p.fail("content", "an AAAA record needs an IPv6 address, got %q", content)
		}
	}
	proxied, proxiedKnown := p.boolean("proxied")
	// validators.go lines 15-30: only A, AAAA and CNAME records can be proxied.
	if proxiedKnown && proxied && typeKnown && !slices.Contains([]string{"A", "AAAA", "CNAME"}, typ) {
		p.fail("proxied", "type %q cannot be proxied", typ)
	}
	if ttl, ok := p.num("ttl"); ok {
		switch {
		case proxiedKnown && proxied && ttl != 1:
			// resource lines 100-103: "ttl must be set to 1 when `proxied` is true".
			p.fail("ttl", "%v on a proxied record; it must be 1", ttl)
		case ttl != 1 && (ttl < config.MinRecordTTL || ttl > config.MaxRecordTTL):
			// Cloudflare API, DNS records: 1 (automatic), or 60 to 86400 (30 on Enterprise).
			p.fail("ttl", "%v is not 1 (automatic) or %d to %d seconds", ttl, config.MinRecordTTL, config.MaxRecordTTL)
		}
	}
	// CF-DOCS docs/dns/manage-dns-records/reference/record-attributes.mdx: "comments do not support
	// newline (\n) or carriage return (\r) characters".
	if comment, ok := p.str("comment"); ok && strings.ContainsAny(comment, "\r\n") {
		p.fail("comment", "a record comment may not hold a newline or carriage return")
	}
}

// steeringPolicies: TF-CF schema_cloudflare_load_balancer.go lines 596-601.
var steeringPolicies = []string{"off", "geo", "dynamic_latency", "random", "proximity",
	"least_outstanding_requests", "least_connections", ""}

// checkLoadBalancer: TF-CF schema_cloudflare_load_balancer.go.
func checkLoadBalancer(p props) {
	p.nonEmpty("zoneId") // lines 528-533: Required
	p.nonEmpty("name")   // lines 535-539: Required
	// Lines 541-546: Required, 1 to 32 characters.
	if p.nonEmpty("fallbackPoolId") {
		p.poolID("fallbackPoolId")
	}
	// Lines 548-557: Required, at least one pool ID of 1 to 32 characters.
	if p.empty("defaultPoolIds") {
		p.fail("defaultPoolIds", "needs at least one pool")
	}
	p.poolIDs("defaultPoolIds")
	// Lines 567-587: `proxied` and `ttl` ConflictsWith each other; a `proxied` set to false is set.
	if p.has("proxied") && p.has("ttl") {
		p.fail("proxied", "conflicts with ttl: set at most one of them (proxied=false is Cloudflare's default)")
	}
	if d, ok := p.str("description"); ok && len(d) > 1024 { // lines 589-594
		p.fail("description", "%d characters; at most 1024", len(d))
	}
	if s, ok := p.str("steeringPolicy"); ok && !slices.Contains(steeringPolicies, s) {
		p.fail("steeringPolicy", "%q is not one of %s", s, strings.Join(steeringPolicies, ", "))
	}
	// Lines 297-317 (both fields Required), codes from the region mapping API
	// (https://developers.cloudflare.com/load-balancing/reference/region-mapping-api/): "Multiple entries
	// should not be specified with the same region".
	seen := map[string]int{}
	for i, rp := range p.objects("regionPools") {
		region, ok := rp.str("region")
		switch {
		case !rp.has("region"):
			rp.fail("region", "missing")
		case ok && !slices.Contains(config.CloudflareRegionCodes(), region):
			rp.fail("region", "%q is not a Cloudflare region code", region)
		case ok:
			if j, dup := seen[region]; dup {
				rp.fail("region", "%q is also regionPools[%d]", region, j)
			}
			seen[region] = i
		}
		if !rp.has("poolIds") {
			rp.fail("poolIds", "missing")
		}
		rp.poolIDs("poolIds")
	}
}

// checkPool: TF-CF schema_cloudflare_load_balancer_pool.go.
func checkPool(p props) {
	p.nonEmpty("accountId") // lines 14-18: Required
	if p.nonEmpty("name") { // lines 20-25: Required
		p.match("name", poolName, "a pool name: letters, digits, - and _")
	}
	origins := p.objects("origins")
	if !p.has("origins") { // lines 27-32: Required
		p.fail("origins", "missing")
	}
	// CF-DOCS docs/load-balancing/reference/limitations.mdx: 20 endpoints outside Enterprise (read as
	// per pool, the least it can mean).
	if len(origins) > 20 {
		p.fail("origins", "%d origins; a pool outside Enterprise takes at most 20", len(origins))
	}
	for _, o := range origins {
		o.nonEmpty("name") // lines 122-126: Required
		// Lines 128-136: Required, "The IP address (IPv4 or IPv6) of the origin, or the publicly
		// addressable hostname".
		if o.nonEmpty("address") {
			if a, ok := o.str("address"); ok {
				if _, err := netip.ParseAddr(a); err != nil && !hostname.MatchString(a) {
					o.fail("address", "%q is neither an IP address nor a hostname", a)
				}
			}
		}
		o.boolean("enabled") // lines 155-160: TypeBool
	}
	p.integer("minimumOrigins")                       // lines 41-46: TypeInt
	if m, ok := p.str("monitor"); ok && len(m) > 32 { // lines 79-84: 0 to 32 characters
		p.fail("monitor", "%q is longer than a monitor ID (32 characters)", m)
	}
	if d, ok := p.str("description"); ok && len(d) > 1024 { // lines 72-77
		p.fail("description", "%d characters; at most 1024", len(d))
	}
	// Lines 62-70: "Empty means every Cloudflare data center (the default), but requires an Enterprise
	// plan"; the API's check_regions enum is the 13 region codes plus ALL_REGIONS, "ENTERPRISE
	// customers only".
	everywhere := p.empty("checkRegions")
	if everywhere && !standinPlan.ProbeFromEveryDataCenter {
		p.fail("checkRegions", "missing: probing from every data centre needs the enterprise plan, and the account is %s", standinPlan.Name)
	}
	for _, code := range p.strings("checkRegions") {
		switch {
		case code == config.AllRegions && !standinPlan.ProbeFromEveryDataCenter:
			p.fail("checkRegions", "%s needs the enterprise plan, and the account is %s", code, standinPlan.Name)
		case code != config.AllRegions && !slices.Contains(config.CloudflareRegionCodes(), code):
			p.fail("checkRegions", "%q is not a Cloudflare region code", code)
		}
	}
}

// hostname is a DNS name a pool origin may be given instead of an address.
var hostname = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$`)

// monitorTypes: TF-CF schema_cloudflare_load_balancer_monitor.go lines 63-69.
var monitorTypes = []string{"http", "https", "tcp", "udp_icmp", "icmp_ping", "smtp"}

// checkMonitor: TF-CF schema_cloudflare_load_balancer_monitor.go and
// resource_cloudflare_load_balancer_monitor.go. `method`, `path`,
// `consecutiveUp/Down` and `description` have no documented constraint.
func checkMonitor(p props) {
	p.nonEmpty("accountId") // lines 13-17: Required
	typ := "http"           // lines 63-69: default http
	if t, ok := p.str("type"); ok {
		typ = t
		if !slices.Contains(monitorTypes, t) {
			p.fail("type", "%q is not one of %s", t, strings.Join(monitorTypes, ", "))
		}
	}
	web := typ == "http" || typ == "https"
	p.between("port", 0, 65535)  // lines 40-45
	p.between("retries", 1, 5)   // lines 47-53 (default 2)
	p.between("timeout", 1, 10)  // lines 55-61 (default 5)
	p.integer("consecutiveDown") // lines 89-94: TypeInt
	p.integer("consecutiveUp")   // lines 96-101: TypeInt
	// CF-DOCS partials/load-balancing/monitor-settings-advanced.mdx: "Minimum time in seconds is 60
	// (Pro), 15 (Business), and 10 (Enterprise)"; reference/limitations.mdx: 3600 s at most. Lines
	// 25-30: default 60.
	interval := float64(config.DefaultMonitorInterval)
	if v, ok := p.num("interval"); ok {
		interval = v
		if v < float64(standinPlan.MinMonitorInterval) || v > config.MaxMonitorInterval {
			p.fail("interval", "%v s; the %s plan probes every %d to %d seconds", v, standinPlan.Name,
				standinPlan.MinMonitorInterval, config.MaxMonitorInterval)
		}
	}
	// Line 31: "interval has to be larger than (retries+1) * probe_timeout".
	retries, timeout := 2.0, 5.0
	if v, ok := p.num("retries"); ok {
		retries = v
	}
	if v, ok := p.num("timeout"); ok {
		timeout = v
	}
	if p.known("interval") && p.known("retries") && p.known("timeout") && interval <= (retries+1)*timeout {
		p.fail("interval", "%v s is not longer than (retries+1) x timeout = %v s", interval, (retries+1)*timeout)
	}
	// resource_cloudflare_load_balancer_monitor.go lines 73-77: "expected_codes must be set" for http and
	// https.
	codes, ok := p.str("expectedCodes")
	switch {
	case web && !p.has("expectedCodes"):
		p.fail("expectedCodes", "missing; an %s monitor needs the codes that count as healthy", typ)
	case ok && !expectedCodes.MatchString(codes):
		p.fail("expectedCodes", "%q is not a code (200) or a range (2xx)", codes)
	}
	// Lines 103-107: expected_body "Only valid if `type` is "http" or "https"".
	if p.has("expectedBody") && !web {
		p.fail("expectedBody", "only http and https monitors read a body, this one is %s", typ)
	}
}

// monitorAlertTypes: TF-DO monitoring/resource_monitor_alert.go, schema
// "type" (StringInSlice of godo's alert policy type constants).
var monitorAlertTypes = []string{
	"v1/insights/droplet/cpu", "v1/insights/droplet/memory_utilization_percent",
	"v1/insights/droplet/disk_utilization_percent", "v1/insights/droplet/public_outbound_bandwidth",
	"v1/insights/droplet/public_inbound_bandwidth", "v1/insights/droplet/private_outbound_bandwidth",
	"v1/insights/droplet/private_inbound_bandwidth", "v1/insights/droplet/disk_read",
	"v1/insights/droplet/disk_write", "v1/insights/droplet/load_1", "v1/insights/droplet/load_5",
	"v1/insights/droplet/load_15", "v1/insights/lbaas/avg_cpu_utilization_percent",
	"v1/insights/lbaas/connection_utilization_percent", "v1/insights/lbaas/droplet_health",
	"v1/insights/lbaas/tls_connections_per_second_utilization_percent",
	"v1/insights/lbaas/increase_in_http_error_rate_percentage_4xx",
	"v1/insights/lbaas/increase_in_http_error_rate_percentage_5xx",
	"v1/insights/lbaas/increase_in_http_error_rate_count_4xx",
	"v1/insights/lbaas/increase_in_http_error_rate_count_5xx",
	"v1/insights/lbaas/high_http_request_response_time", "v1/insights/lbaas/high_http_request_response_time_50p",
	"v1/insights/lbaas/high_http_request_response_time_95p", "v1/insights/lbaas/high_http_request_response_time_99p",
	"v1/dbaas/alerts/load_15_alerts", "v1/dbaas/alerts/memory_utilization_alerts",
	"v1/dbaas/alerts/disk_utilization_alerts", "v1/dbaas/alerts/cpu_alerts",
}

// checkMonitorAlert: TF-DO monitoring/resource_monitor_alert.go.
func checkMonitorAlert(p props) {
	p.oneOf("type", monitorAlertTypes, true)                      // "type": Required, StringInSlice
	p.oneOf("compare", []string{"GreaterThan", "LessThan"}, true) // "compare": Required, StringInSlice
	p.nonEmpty("description")                                     // "description": Required
	p.oneOf("window", []string{"5m", "10m", "30m", "1h"}, true)   // "window": Required, StringInSlice
	if !p.has("value") {                                          // "value": Required, FloatAtLeast(0)
		p.fail("value", "missing")
	} else if v, ok := p.num("value"); ok && v < 0 {
		p.fail("value", "%v is below 0", v)
	}
	p.tags("tags") // "tags": tag.TagsSchema
	// "alerts": Required, MaxItems 1 (the bridge makes it one object).
	alerts, ok := p.object("alerts")
	if !ok {
		return
	}
	alerts.notifications()
	// "entities": Optional, MinItems 1.
	if items, ok := p.rawList("entities"); ok && len(items) == 0 {
		p.fail("entities", "is empty; leave it out or name at least one resource")
	}
	for i, e := range p.strings("entities") {
		if e == "" {
			p.fail("entities", "[%d] is empty", i)
		}
	}
}

// checkUptimeCheck: TF-DO uptime/resource_uptime_check.go. Regions are not
// checked: livecdn leaves them to DigitalOcean (every region).
func checkUptimeCheck(p props) {
	p.nonEmpty("name")                                        // "name": Required
	p.nonEmpty("target")                                      // "target": Required
	p.oneOf("type", []string{"ping", "http", "https"}, false) // "type": StringInSlice, default https
	p.boolean("enabled")                                      // "enabled": TypeBool
}

// checkUptimeAlert: TF-DO uptime/resource_uptime_alert.go. The enums are
// snake_case, although pulumi-digitalocean's doc comment shows camelCase.
func checkUptimeAlert(p props) {
	p.nonEmpty("name")                                                              // "name": Required
	p.nonEmpty("checkId")                                                           // "check_id": Required
	p.oneOf("type", []string{"latency", "down", "down_global", "ssl_expiry"}, true) // "type": Required, StringInSlice
	p.oneOf("comparison", []string{"greater_than", "less_than"}, false)             // "comparison": StringInSlice
	p.oneOf("period", []string{"2m", "3m", "5m", "10m", "15m", "30m", "1h"}, false) // "period": StringInSlice
	p.integer("threshold")                                                          // "threshold": TypeInt
	// "notifications": Required, a list of settings.
	if p.empty("notifications") {
		p.fail("notifications", "missing")
	}
	for _, n := range p.objects("notifications") {
		n.notifications()
	}
}

// notifications checks one alert destination setting, alike in both
// resources ("slack" and "email" in resource_monitor_alert.go's "alerts" and
// resource_uptime_alert.go's "notifications"): every Slack entry needs a channel and a webhook URL
// (Required, StringIsNotEmpty); e-mails are free-form.
func (p props) notifications() {
	for _, sl := range p.objects("slacks") {
		sl.nonEmpty("channel")
		sl.nonEmpty("url")
	}
	p.strings("emails")
}

// oneOf checks a string enum; required says a missing value fails too.
func (p props) oneOf(key string, values []string, required bool) {
	if !p.has(key) {
		if required {
			p.fail(key, "missing")
		}
		return
	}
	if s, ok := p.str(key); ok && !slices.Contains(values, s) {
		p.fail(key, "%q is not one of %s", s, strings.Join(values, ", "))
	}
}

// object is a nested object, required.
func (p props) object(key string) (props, bool) {
	if !p.has(key) {
		p.fail(key, "missing")
		return props{}, false
	}
	v, ok := p.typed(key, "an object", resource.PropertyValue.IsObject)
	if !ok {
		return props{}, false
	}
	return props{prefix: p.prefix + key + ".", m: v.ObjectValue(), failures: p.failures}, true
}

// props is one resource's (or one nested object's) inputs, with the
// failures found in them.
type props struct {
	prefix   string // the path of a nested object, e.g. "inboundRules[0]."
	m        resource.PropertyMap
	failures *[]plugin.CheckFailure
}

func (p props) fail(key, format string, args ...any) {
	*p.failures = append(*p.failures, plugin.CheckFailure{
		Property: resource.PropertyKey(p.prefix + key),
		Reason:   fmt.Sprintf(p.prefix+key+": "+format, args...),
	})
}

// has reports whether key is set, known or not.
func (p props) has(key string) bool {
	v, ok := p.m[resource.PropertyKey(key)]
	return ok && !v.IsNull()
}

// value is key's value without secrets, when it is set and known.
func (p props) value(key string) (resource.PropertyValue, bool) {
	v, ok := p.m[resource.PropertyKey(key)]
	if !ok || v.IsNull() {
		return v, false
	}
	v = plain(v)
	return v, !v.ContainsUnknowns()
}

// known reports whether key is unset or known: only a preview has unknowns.
func (p props) known(key string) bool {
	v, ok := p.m[resource.PropertyKey(key)]
	return !ok || !v.ContainsUnknowns()
}

// typed is key's known value when it is of the wanted kind; a value of
// another kind is a failure, as the bridged provider's type check is.
func (p props) typed(key, kind string, is func(resource.PropertyValue) bool) (resource.PropertyValue, bool) {
	v, ok := p.value(key)
	if !ok {
		return v, false
	}
	if !is(v) {
		p.fail(key, "want %s, got %s", kind, v.TypeString())
		return v, false
	}
	return v, true
}

func (p props) str(key string) (string, bool) {
	if v, ok := p.typed(key, "a string", resource.PropertyValue.IsString); ok {
		return v.StringValue(), true
	}
	return "", false
}

func (p props) num(key string) (float64, bool) {
	if v, ok := p.typed(key, "a number", resource.PropertyValue.IsNumber); ok {
		return v.NumberValue(), true
	}
	return 0, false
}

func (p props) boolean(key string) (bool, bool) {
	if v, ok := p.typed(key, "true or false", resource.PropertyValue.IsBool); ok {
		return v.BoolValue(), true
	}
	return false, false
}

// elements are the known elements of a list that are of the wanted kind;
// unknown ones are skipped, others are failures.
func (p props) elements(key, kind string, is func(resource.PropertyValue) bool) []resource.PropertyValue {
	var out []resource.PropertyValue
	items, _ := p.rawList(key)
	for i, v := range items {
		v = plain(v)
		switch {
		case unknown(v):
		case !is(v):
			p.fail(key, "[%d]: want %s, got %s", i, kind, v.TypeString())
		default:
			out = append(out, v)
		}
	}
	return out
}

func (p props) strings(key string) []string {
	var out []string
	for _, v := range p.elements(key, "a string", resource.PropertyValue.IsString) {
		out = append(out, v.StringValue())
	}
	return out
}

func (p props) numbers(key string) []float64 {
	var out []float64
	for _, v := range p.elements(key, "a number", resource.PropertyValue.IsNumber) {
		out = append(out, v.NumberValue())
	}
	return out
}

// rawList is a list whose elements may still be unknown: its length is
// known before its values are. ok is false when the list is unset, or
// itself unknown.
func (p props) rawList(key string) (items []resource.PropertyValue, ok bool) {
	v, set := p.m[resource.PropertyKey(key)]
	if !set || v.IsNull() {
		return nil, false
	}
	v = plain(v)
	switch {
	case unknown(v):
		return nil, false
	case !v.IsArray():
		p.fail(key, "want a list, got %s", v.TypeString())
		return nil, false
	}
	return v.ArrayValue(), true
}

// empty reports whether key is unset or a list known to be empty.
func (p props) empty(key string) bool {
	v, set := p.m[resource.PropertyKey(key)]
	if !set || v.IsNull() {
		return true
	}
	items, ok := p.rawList(key)
	return ok && len(items) == 0
}

// unknown reports whether v itself (not something inside it) is a value a
// preview does not know yet.
func unknown(v resource.PropertyValue) bool {
	return v.IsComputed() || (v.IsOutput() && !v.OutputValue().Known)
}

// objects are a list's objects, each checkable on its own.
func (p props) objects(key string) []props {
	var out []props
	for i, v := range p.elements(key, "an object", resource.PropertyValue.IsObject) {
		out = append(out, props{prefix: fmt.Sprintf("%s%s[%d].", p.prefix, key, i), m: v.ObjectValue(), failures: p.failures})
	}
	return out
}

// nonEmpty requires key, and a known string value to be non-empty.
func (p props) nonEmpty(key string) bool {
	if !p.has(key) {
		p.fail(key, "missing")
		return false
	}
	if s, ok := p.str(key); ok && s == "" {
		p.fail(key, "is empty")
		return false
	}
	return true
}

func (p props) match(key string, re *regexp.Regexp, want string) {
	if s, ok := p.str(key); ok && !re.MatchString(s) {
		p.fail(key, "%q is not %s", s, want)
	}
}

func (p props) integer(key string) {
	if v, ok := p.num(key); ok && v != float64(int64(v)) {
		p.fail(key, "%v is not a whole number", v)
	}
}

func (p props) between(key string, lo, hi float64) {
	if v, ok := p.num(key); ok && (v < lo || v > hi || v != float64(int64(v))) {
		p.fail(key, "%v is not a whole number from %v to %v", v, lo, hi)
	}
}

func (p props) atMost(key string, n int, what string) {
	if items, _ := p.rawList(key); len(items) > n {
		p.fail(key, "%d %s; at most %d", len(items), what, n)
	}
}

func (p props) tags(key string) {
	for _, t := range p.strings(key) {
		if !tagName.MatchString(t) {
			p.fail(key, "%q is not a tag: 1 to 255 of a-z, A-Z, 0-9, :, - and _ (TF-DO tag/tags.go line 14)", t)
		}
	}
}

func (p props) ipv4(ip, key string) {
	if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
		p.fail(key, "%q is not an IPv4 address", ip)
	}
}

// poolID checks a pool ID field: 1 to 32 characters (TF-CF
// schema_cloudflare_load_balancer.go, StringLenBetween(1, 32)).
func (p props) poolID(key string) {
	if s, ok := p.str(key); ok && (len(s) < 1 || len(s) > 32) {
		p.fail(key, "%q is not a pool ID (1 to 32 characters)", s)
	}
}

func (p props) poolIDs(key string) {
	for _, s := range p.strings(key) {
		if len(s) < 1 || len(s) > 32 {
			p.fail(key, "%q is not a pool ID (1 to 32 characters)", s)
		}
	}
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
