package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/internal/throwaway"
	"github.com/livecdn/livecdn/program"
)

// declared records the custom resources a program run declares, by type
// and name, and answers like a cloud would.
type declared struct {
	mu    sync.Mutex
	next  int
	byTyp map[string]map[string]resource.PropertyMap
}

func (d *declared) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.next++
	out := args.Inputs.Copy()
	if !args.Custom {
		return "", out, nil
	}
	if d.byTyp[args.TypeToken] == nil {
		d.byTyp[args.TypeToken] = map[string]resource.PropertyMap{}
	}
	d.byTyp[args.TypeToken][args.Name] = args.Inputs
	switch args.TypeToken {
	case "digitalocean:index/droplet:Droplet":
		out["ipv4Address"] = resource.NewProperty(fmt.Sprintf("198.51.100.%d", d.next%250+1))
		out["ipv6Address"] = resource.NewProperty(fmt.Sprintf("2001:db8::%x", d.next))
	case "digitalocean:index/reservedIp:ReservedIp":
		out["ipAddress"] = resource.NewProperty("203.0.113.10")
	case "digitalocean:index/spacesKey:SpacesKey":
		out["accessKey"] = resource.NewProperty("DO00STANDINACCESSKEY")
		out["secretKey"] = resource.MakeSecret(resource.NewProperty("standin/Secret+Key0123456789abcdefghijklmnop"))
	}
	// Droplet IDs are numbers the firewalls and the reserved IP take.
	return fmt.Sprint(100000 + d.next), out, nil
}

func (d *declared) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == "digitalocean:index/getSpacesBucket:getSpacesBucket" {
		// The team's bucket exists (the program only looks it up).
		return resource.PropertyMap{"name": args.Args["name"], "region": args.Args["region"]}, nil
	}
	return resource.PropertyMap{}, nil
}

// programInputs runs livecdn's program, as `pulumi up` of a stack file
// would once its example values are replaced, and returns the inputs of
// every resource it declares, by type and name. (Under mocks a preview
// drops the inputs that depend on other resources' outputs, which are what
// needs checking.)
func programInputs(t *testing.T, stackFile string) map[string]map[string]resource.PropertyMap {
	t.Helper()
	values, secretKeys, err := config.ReadStackFile(stackFile)
	require.NoError(t, err)
	values[config.KeyStreamKey] = "standin-test-stream-key-0123"
	secretKeys = append(secretKeys, config.KeyStreamKey)
	values[config.KeyIngestCIDRs] = `["100.64.0.0/28"]`
	values[config.KeyAdminCIDRs] = `["100.64.1.0/28","fd00:1::/48"]`
	if _, ok := values[config.KeyDomain]; ok {
		const domain = "live.standin.livecdn.internal"
		values[config.KeyDomain] = domain
		// A stack with a domain serves HTTPS: what `livecdn cert` would store, from a CA that lives for
		// this test, and the event's last day its certificate must outlive.
		ca, err := throwaway.NewCA("livecdn standin test")
		require.NoError(t, err)
		leaf, err := ca.Issue([]string{domain, "*." + domain}, time.Now().AddDate(0, 0, 90))
		require.NoError(t, err)
		values[config.KeyTLSCertificate], values[config.KeyTLSKey] = leaf.Chain, leaf.Key
		secretKeys = append(secretKeys, config.KeyTLSCertificate, config.KeyTLSKey)
		var event map[string]any
		require.NoError(t, json.Unmarshal([]byte(values[config.KeyEvent]), &event))
		if _, ok := event["end"]; !ok {
			event["end"] = time.Now().AddDate(0, 0, 30).Format("2006-01-02")
			raw, err := json.Marshal(event)
			require.NoError(t, err)
			values[config.KeyEvent] = string(raw)
		}
	}
	// Every stack here sends alerts to both kinds of destination, so the alerts' constraints meet what the
	// program declares with and without a domain.
	values[config.KeyAlerts] = `{"emails":["ops@standin.livecdn.internal"],"slackChannel":"#ops"}`
	values[config.KeyAlertsSlackWebhook] = "https://hooks.slack.com/services/T000/B000/standin"
	secretKeys = append(secretKeys, config.KeyAlertsSlackWebhook)
	// Every stack records to the team's bucket too, so the Spaces key's constraints meet the program.
	var stream map[string]any
	require.NoError(t, json.Unmarshal([]byte(values[config.KeyStream]), &stream))
	stream["record"] = true
	rawStream, err := json.Marshal(stream)
	require.NoError(t, err)
	values[config.KeyStream] = string(rawStream)
	values[config.KeyRecordings] = `{"bucket":"standin-recordings","region":"ams3","prefix":"standin"}`
	d := &declared{byTyp: map[string]map[string]resource.PropertyMap{}}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := program.Deploy(ctx, values, secretKeys)
		return err
	}, pulumi.WithMocks("livecdn", filepath.Base(stackFile), d), func(info *pulumi.RunInfo) {
		info.Config, info.ConfigSecretKeys = values, secretKeys
	})
	require.NoError(t, err)
	return d.byTyp
}

// check runs the stand-in's Check as the engine would.
func check(t *testing.T, typ string, inputs resource.PropertyMap) []plugin.CheckFailure {
	t.Helper()
	pkg, _, _ := strings.Cut(typ, ":")
	r, err := newStandin(pkg).Check(context.Background(), plugin.CheckRequest{Type: tokens.Type(typ), News: inputs})
	require.NoError(t, err)
	return r.Failures
}

// TestTheProgramMeetsEveryConstraint feeds the stand-in what the program
// declares for the committed stacks and the load-balanced test stack.
func TestTheProgramMeetsEveryConstraint(t *testing.T) {
	seen := map[string]bool{}
	for _, file := range []string{"../../../Pulumi.dev.yaml", "../../../Pulumi.animecon.yaml", "../testdata/Pulumi.animecon-lb.yaml"} {
		for typ, all := range programInputs(t, file) {
			seen[typ] = true
			for name, in := range all {
				assert.Empty(t, check(t, typ, in), "%s: %s %s", file, typ, name)
			}
		}
	}
	for typ := range checks {
		assert.True(t, seen[typ], "no stack declares %s: its constraints are tested against nothing", typ)
	}
}

// TestEachConstraintRefusesWhatTheProviderWould changes one argument of what
// the program declares (the load-balanced stack) into what the real
// provider refuses, and expects the stand-in to refuse it too.
func TestEachConstraintRefusesWhatTheProviderWould(t *testing.T) {
	declared := programInputs(t, "../testdata/Pulumi.animecon-lb.yaml")
	const (
		droplet    = "digitalocean:index/droplet:Droplet"
		firewall   = "digitalocean:index/firewall:Firewall"
		reservedIP = "digitalocean:index/reservedIp:ReservedIp"
		assignment = "digitalocean:index/reservedIpAssignment:ReservedIpAssignment"
		tag        = "digitalocean:index/tag:Tag"
		record     = "cloudflare:index/record:Record"
		lb         = "cloudflare:index/loadBalancer:LoadBalancer"
		pool       = "cloudflare:index/loadBalancerPool:LoadBalancerPool"
		monitor    = "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor"
		alert      = "digitalocean:index/monitorAlert:MonitorAlert"
		uptime     = "digitalocean:index/uptimeCheck:UptimeCheck"
		upAlert    = "digitalocean:index/uptimeAlert:UptimeAlert"
		spacesKey  = "digitalocean:index/spacesKey:SpacesKey"
	)
	// The resource of each type every case starts from.
	names := map[string]string{
		droplet: "origin-droplet", firewall: "origin-firewall", reservedIP: "origin-ip",
		assignment: "origin-ip-assignment", tag: "edge-tag", record: "dns-ingest", // an A record
		lb: "dns-lb", pool: "dns-pool-ams3", monitor: "dns-monitor",
		alert: "alerts-origin-egress", uptime: "alerts-viewers", upAlert: "alerts-viewers-down",
		spacesKey: "recordings-key",
	}
	first := func(typ string) resource.PropertyMap {
		in, ok := declared[typ][names[typ]]
		require.True(t, ok, "%s %s is declared", typ, names[typ])
		return in.Copy()
	}
	str, num := resource.NewProperty[string], resource.NewProperty[float64]
	strs := func(ss ...string) resource.PropertyValue {
		var out []resource.PropertyValue
		for _, s := range ss {
			out = append(out, str(s))
		}
		return resource.NewProperty(out)
	}
	// nested edits field key of the i-th object of list.
	nested := func(m resource.PropertyMap, list string, i int, key string, v *resource.PropertyValue) {
		items := slices.Clone(m[resource.PropertyKey(list)].ArrayValue())
		obj := items[i].ObjectValue().Copy()
		if v == nil {
			delete(obj, resource.PropertyKey(key))
		} else {
			obj[resource.PropertyKey(key)] = *v
		}
		items[i] = resource.NewProperty(obj)
		m[resource.PropertyKey(list)] = resource.NewProperty(items)
	}
	ptr := func(v resource.PropertyValue) *resource.PropertyValue { return &v }
	repeat := func(n int, v resource.PropertyValue) resource.PropertyValue {
		return resource.NewProperty(slices.Repeat([]resource.PropertyValue{v}, n))
	}

	for _, tc := range []struct {
		name, typ string
		edit      func(m resource.PropertyMap)
		want      string
	}{
		{"spaces key without a name", spacesKey, func(m resource.PropertyMap) { delete(m, "name") }, "name: missing"},
		{"spaces key granting write", spacesKey, func(m resource.PropertyMap) { nested(m, "grants", 0, "permission", ptr(str("write"))) },
			`grants[0].permission: "write" is not one of read, readwrite, fullaccess`},
		{"spaces key granting readwrite on no bucket", spacesKey, func(m resource.PropertyMap) { nested(m, "grants", 0, "bucket", ptr(str(""))) },
			"grants[0].bucket: empty with readwrite"},
		{"spaces key granting fullaccess on one bucket", spacesKey, func(m resource.PropertyMap) { nested(m, "grants", 0, "permission", ptr(str("fullaccess"))) },
			"with fullaccess, which is for every bucket"},
		{"droplet without an image", droplet, func(m resource.PropertyMap) { delete(m, "image") }, "image: missing"},
		{"droplet named like a domain", droplet, func(m resource.PropertyMap) { m["name"] = str("ams3-1.live.example.org") }, "is not a Droplet name"},
		{"droplet name over 32 characters", droplet, func(m resource.PropertyMap) { m["name"] = str("livecdn-a-very-long-stack-name-ams3-1") }, "is not a Droplet name"},
		{"droplet with an empty region", droplet, func(m resource.PropertyMap) { m["region"] = str("") }, "region: is empty"},
		{"droplet without a size", droplet, func(m resource.PropertyMap) { delete(m, "size") }, "size: missing"},
		{"droplet with an empty ssh key", droplet, func(m resource.PropertyMap) { m["sshKeys"] = strs("") }, "sshKeys[0] is empty"},
		{"user data over 64 KiB", droplet, func(m resource.PropertyMap) { m["userData"] = str(string(make([]byte, 65<<10))) }, "DigitalOcean takes 1 byte to 64 KiB"},
		{"droplet tag with a space", droplet, func(m resource.PropertyMap) { m["tags"] = strs("livecdn edge") }, "is not a tag"},
		{"monitoring as text", droplet, func(m resource.PropertyMap) { m["monitoring"] = str("yes") }, "monitoring: want true or false"},
		{"ipv6 as text", droplet, func(m resource.PropertyMap) { m["ipv6"] = str("on") }, "ipv6: want true or false"},

		{"firewall named with a space", firewall, func(m resource.PropertyMap) { m["name"] = str("livecdn edge") }, "is not a firewall name"},
		{"firewall without rules", firewall, func(m resource.PropertyMap) { delete(m, "inboundRules"); delete(m, "outboundRules") }, "no rules"},
		{"eleven droplets on a firewall", firewall, func(m resource.PropertyMap) { m["dropletIds"] = repeat(11, num(100001)) }, "11 Droplets per firewall (use a tag); at most 10"},
		{"a droplet ID that is not one", firewall, func(m resource.PropertyMap) {
			m["dropletIds"] = resource.NewProperty([]resource.PropertyValue{num(-3)})
		}, "-3 is not a Droplet ID"},
		{"six tags on a firewall", firewall, func(m resource.PropertyMap) { m["tags"] = strs("a", "b", "c", "d", "e", "f") }, "6 tags per firewall; at most 5"},
		{"51 rules", firewall, func(m resource.PropertyMap) {
			m["inboundRules"] = repeat(51-len(m["outboundRules"].ArrayValue()), m["inboundRules"].ArrayValue()[0])
		}, "51 rules; a firewall takes at most 50"},
		{"a rule for another protocol", firewall, func(m resource.PropertyMap) { nested(m, "inboundRules", 0, "protocol", ptr(str("sctp"))) }, `"sctp" is not tcp, udp or icmp`},
		{"tcp without ports", firewall, func(m resource.PropertyMap) { nested(m, "inboundRules", 0, "portRange", nil) }, "inboundRules[0].portRange: missing"},
		{"icmp with a port", firewall, func(m resource.PropertyMap) { nested(m, "outboundRules", 2, "portRange", ptr(str("8"))) }, "an icmp rule has no ports"},
		{"all ports as a word", firewall, func(m resource.PropertyMap) { nested(m, "outboundRules", 0, "portRange", ptr(str("all"))) }, `"all" is not a port`},
		{"a backwards range", firewall, func(m resource.PropertyMap) { nested(m, "inboundRules", 0, "portRange", ptr(str("9000-8000"))) }, `"9000-8000" is not a port`},
		{"port 0", firewall, func(m resource.PropertyMap) { nested(m, "inboundRules", 0, "portRange", ptr(str("0"))) }, `"0" is not a port`},
		{"a source that is no address", firewall, func(m resource.PropertyMap) { nested(m, "inboundRules", 0, "sourceAddresses", ptr(strs("office"))) }, `"office" is not an address or a CIDR`},
		{"1001 sources", firewall, func(m resource.PropertyMap) {
			nested(m, "inboundRules", 0, "sourceAddresses", ptr(repeat(1001, str("100.64.0.1/32"))))
		}, "1001 sources; a rule takes at most 1000"},
		{"a rule with no source", firewall, func(m resource.PropertyMap) {
			nested(m, "inboundRules", 0, "sourceAddresses", nil)
			nested(m, "inboundRules", 0, "sourceTags", nil)
		}, "the rule names no source"},
		{"a source tag with a slash", firewall, func(m resource.PropertyMap) { nested(m, "inboundRules", 0, "sourceTags", ptr(strs("edge/ams3"))) }, "is not a tag"},

		{"reserved IP without a region", reservedIP, func(m resource.PropertyMap) { delete(m, "region") }, "region: missing"},
		{"reserved IP that is IPv6", reservedIP, func(m resource.PropertyMap) { m["ipAddress"] = str("2001:db8::1") }, "is not an IPv4 address"},
		{"assignment of an IPv6 address", assignment, func(m resource.PropertyMap) { m["ipAddress"] = str("2001:db8::1") }, "is not an IPv4 address"},
		{"assignment without a droplet", assignment, func(m resource.PropertyMap) { delete(m, "dropletId") }, "dropletId: missing"},
		{"assignment to droplet 0", assignment, func(m resource.PropertyMap) { m["dropletId"] = num(0) }, "dropletId: is 0"},
		{"tag with a dot", tag, func(m resource.PropertyMap) { m["name"] = str("livecdn.dev.edge") }, "is not a tag"},
		{"tag of 256 characters", tag, func(m resource.PropertyMap) { m["name"] = str(string(slices.Repeat([]byte("a"), 256))) }, "is not a tag"},
		{"tag without a name", tag, func(m resource.PropertyMap) { delete(m, "name") }, "name: missing"},

		{"record without a zone", record, func(m resource.PropertyMap) { delete(m, "zoneId") }, "zoneId: missing"},
		{"record with an empty name", record, func(m resource.PropertyMap) { m["name"] = str("") }, "name: is empty"},
		{"record of an unknown type", record, func(m resource.PropertyMap) { m["type"] = str("ALIAS") }, `"ALIAS" is not a record type`},
		{"record with content and value", record, func(m resource.PropertyMap) { m["value"] = m["content"] }, "set exactly one of content, value and data, got 2"},
		{"A record holding IPv6", record, func(m resource.PropertyMap) { m["content"] = str("2001:db8::1") }, "an A record needs an IPv4 address"},
		{"proxied TXT record", record, func(m resource.PropertyMap) {
			m["type"], m["content"], m["proxied"], m["ttl"] = str("TXT"), str("hello"), resource.NewProperty(true), num(1)
		}, `type "TXT" cannot be proxied`},
		{"proxied record with a TTL", record, func(m resource.PropertyMap) { m["proxied"] = resource.NewProperty(true) }, "on a proxied record; it must be 1"},
		{"TTL below Cloudflare's minimum", record, func(m resource.PropertyMap) { m["ttl"] = num(30) }, "30 is not 1 (automatic) or 60 to 86400 seconds"},
		{"comment over two lines", record, func(m resource.PropertyMap) { m["comment"] = str("livecdn\nanimecon") }, "may not hold a newline"},

		{"load balancer both proxied and with a TTL", lb, func(m resource.PropertyMap) { m["proxied"] = resource.NewProperty(false) }, "proxied: conflicts with ttl"},
		{"load balancer without a zone", lb, func(m resource.PropertyMap) { delete(m, "zoneId") }, "zoneId: missing"},
		{"load balancer without a name", lb, func(m resource.PropertyMap) { delete(m, "name") }, "name: missing"},
		{"load balancer without a fallback", lb, func(m resource.PropertyMap) { delete(m, "fallbackPoolId") }, "fallbackPoolId: missing"},
		{"fallback that is no pool ID", lb, func(m resource.PropertyMap) { m["fallbackPoolId"] = str(string(slices.Repeat([]byte("f"), 33))) }, "is not a pool ID"},
		{"no default pools", lb, func(m resource.PropertyMap) { m["defaultPoolIds"] = strs() }, "defaultPoolIds: needs at least one pool"},
		{"unknown steering", lb, func(m resource.PropertyMap) { m["steeringPolicy"] = str("nearest") }, `"nearest" is not one of off, geo`},
		{"long description", lb, func(m resource.PropertyMap) { m["description"] = str(string(slices.Repeat([]byte("d"), 1025))) }, "1025 characters; at most 1024"},
		{"steering an unknown region", lb, func(m resource.PropertyMap) { nested(m, "regionPools", 0, "region", ptr(str("EU"))) }, `"EU" is not a Cloudflare region code`},
		{"steering a region twice", lb, func(m resource.PropertyMap) {
			nested(m, "regionPools", 1, "region", ptr(m["regionPools"].ArrayValue()[0].ObjectValue()["region"]))
		}, "is also regionPools[0]"},
		{"region without pools", lb, func(m resource.PropertyMap) { nested(m, "regionPools", 0, "poolIds", nil) }, "regionPools[0].poolIds: missing"},

		{"pool without an account", pool, func(m resource.PropertyMap) { delete(m, "accountId") }, "accountId: missing"},
		{"pool name with a dot", pool, func(m resource.PropertyMap) { m["name"] = str("livecdn.ams3") }, "is not a pool name"},
		{"pool without origins", pool, func(m resource.PropertyMap) { delete(m, "origins") }, "origins: missing"},
		{"21 origins", pool, func(m resource.PropertyMap) { m["origins"] = repeat(21, m["origins"].ArrayValue()[0]) }, "21 origins; a pool outside Enterprise takes at most 20"},
		{"origin without an address", pool, func(m resource.PropertyMap) { nested(m, "origins", 0, "address", nil) }, "origins[0].address: missing"},
		{"origin at a URL", pool, func(m resource.PropertyMap) { nested(m, "origins", 0, "address", ptr(str("http://198.51.100.1/"))) }, "is neither an IP address nor a hostname"},
		{"origin enabled in words", pool, func(m resource.PropertyMap) { nested(m, "origins", 0, "enabled", ptr(str("yes"))) }, "enabled: want true or false"},
		{"half an origin", pool, func(m resource.PropertyMap) { m["minimumOrigins"] = num(1.5) }, "1.5 is not a whole number"},
		{"monitor that is no ID", pool, func(m resource.PropertyMap) { m["monitor"] = str(string(slices.Repeat([]byte("m"), 33))) }, "is longer than a monitor ID"},
		{"pool probed from every data centre", pool, func(m resource.PropertyMap) { delete(m, "checkRegions") }, "probing from every data centre needs the enterprise plan"},
		{"pool probed from all regions", pool, func(m resource.PropertyMap) { m["checkRegions"] = strs("ALL_REGIONS") }, "ALL_REGIONS needs the enterprise plan"},
		{"pool probed from an unknown region", pool, func(m resource.PropertyMap) { m["checkRegions"] = strs("EUROPE") }, `"EUROPE" is not a Cloudflare region code`},

		{"monitor without an account", monitor, func(m resource.PropertyMap) { delete(m, "accountId") }, "accountId: missing"},
		{"monitor of an unknown type", monitor, func(m resource.PropertyMap) { m["type"] = str("grpc") }, `"grpc" is not one of http`},
		{"monitor port out of range", monitor, func(m resource.PropertyMap) { m["port"] = num(70000) }, "port: 70000 is not a whole number from 0 to 65535"},
		{"no retries", monitor, func(m resource.PropertyMap) { m["retries"] = num(0) }, "retries: 0 is not a whole number from 1 to 5"},
		{"timeout of a minute", monitor, func(m resource.PropertyMap) { m["timeout"] = num(60) }, "timeout: 60 is not a whole number from 1 to 10"},
		{"Business interval on Pro", monitor, func(m resource.PropertyMap) { m["interval"] = num(15) }, "15 s; the pro plan probes every 60 to 3600 seconds"},
		{"interval over an hour", monitor, func(m resource.PropertyMap) { m["interval"] = num(7200) }, "7200 s; the pro plan"},
		{"probes longer than the interval", monitor, func(m resource.PropertyMap) {
			m["interval"], m["retries"], m["timeout"] = num(60), num(5), num(10)
		}, "60 s is not longer than (retries+1) x timeout = 60 s"},
		{"http monitor without expected codes", monitor, func(m resource.PropertyMap) { delete(m, "expectedCodes") }, "expectedCodes: missing"},
		{"expected codes as words", monitor, func(m resource.PropertyMap) { m["expectedCodes"] = str("ok") }, `"ok" is not a code (200) or a range (2xx)`},
		{"tcp monitor expecting a body", monitor, func(m resource.PropertyMap) {
			m["type"] = str("tcp")
			delete(m, "expectedCodes")
		}, "only http and https monitors read a body"},
		{"interval as text", monitor, func(m resource.PropertyMap) { m["interval"] = str("60s") }, "interval: want a number"},

		{"alert on an unknown metric", alert, func(m resource.PropertyMap) { m["type"] = str("v1/insights/droplet/bandwidth") }, `"v1/insights/droplet/bandwidth" is not one of`},
		{"alert comparing in snake_case", alert, func(m resource.PropertyMap) { m["compare"] = str("greater_than") }, `compare: "greater_than" is not one of GreaterThan, LessThan`},
		{"alert without a description", alert, func(m resource.PropertyMap) { delete(m, "description") }, "description: missing"},
		{"alert below zero", alert, func(m resource.PropertyMap) { m["value"] = num(-1) }, "value: -1 is below 0"},
		{"alert over 15 minutes", alert, func(m resource.PropertyMap) { m["window"] = str("15m") }, `window: "15m" is not one of 5m, 10m, 30m, 1h`},
		{"alert with nowhere to go", alert, func(m resource.PropertyMap) { delete(m, "alerts") }, "alerts: missing"},
		{"alert on no droplet", alert, func(m resource.PropertyMap) { m["entities"] = strs() }, "entities: is empty"},
		{"Slack without a webhook", alert, func(m resource.PropertyMap) {
			alerts := m["alerts"].ObjectValue().Copy()
			nested(alerts, "slacks", 0, "url", nil)
			m["alerts"] = resource.NewProperty(alerts)
		}, "alerts.slacks[0].url: missing"},
		{"check without a target", uptime, func(m resource.PropertyMap) { delete(m, "target") }, "target: missing"},
		{"check without a name", uptime, func(m resource.PropertyMap) { m["name"] = str("") }, "name: is empty"},
		{"tcp check", uptime, func(m resource.PropertyMap) { m["type"] = str("tcp") }, `type: "tcp" is not one of ping, http, https`},
		{"uptime alert in camelCase", upAlert, func(m resource.PropertyMap) { m["type"] = str("downGlobal") }, `type: "downGlobal" is not one of latency, down, down_global, ssl_expiry`},
		{"uptime comparison in camelCase", upAlert, func(m resource.PropertyMap) { m["comparison"] = str("lessThan") }, `comparison: "lessThan" is not one of`},
		{"uptime period of 4 minutes", upAlert, func(m resource.PropertyMap) { m["period"] = str("4m") }, `period: "4m" is not one of 2m`},
		{"uptime alert without notifications", upAlert, func(m resource.PropertyMap) { delete(m, "notifications") }, "notifications: missing"},
		{"uptime alert without its check", upAlert, func(m resource.PropertyMap) { delete(m, "checkId") }, "checkId: missing"},
		{"uptime alert without a name", upAlert, func(m resource.PropertyMap) { delete(m, "name") }, "name: missing"},
		{"half a day", upAlert, func(m resource.PropertyMap) { m["threshold"] = num(1.5) }, "1.5 is not a whole number"},
		{"Slack channel left empty", upAlert, func(m resource.PropertyMap) {
			n := m["notifications"].ArrayValue()[0].ObjectValue().Copy()
			nested(n, "slacks", 0, "channel", ptr(str("")))
			m["notifications"] = resource.NewProperty([]resource.PropertyValue{resource.NewProperty(n)})
		}, "notifications[0].slacks[0].channel: is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := first(tc.typ)
			require.Empty(t, check(t, tc.typ, in), "the program's own inputs pass")
			tc.edit(in)
			failures := check(t, tc.typ, in)
			var reasons []string
			for _, f := range failures {
				reasons = append(reasons, f.Reason)
			}
			require.NotEmpty(t, failures, "the stand-in accepted what the real provider refuses")
			assert.Contains(t, fmt.Sprint(reasons), tc.want)
		})
	}
}

// TestAPreviewChecksOnlyWhatItKnows gives the stand-in inputs whose IDs a
// preview cannot know yet: it must not refuse them for that.
func TestAPreviewChecksOnlyWhatItKnows(t *testing.T) {
	declared := programInputs(t, "../testdata/Pulumi.animecon-lb.yaml")
	unknown := resource.MakeComputed(resource.NewProperty(""))
	lb := declared["cloudflare:index/loadBalancer:LoadBalancer"]["dns-lb"].Copy()
	lb["fallbackPoolId"] = unknown
	lb["defaultPoolIds"] = resource.NewProperty([]resource.PropertyValue{unknown, unknown})
	assert.Empty(t, check(t, "cloudflare:index/loadBalancer:LoadBalancer", lb))

	fw := declared["digitalocean:index/firewall:Firewall"]["origin-firewall"].Copy()
	fw["dropletIds"] = resource.NewProperty([]resource.PropertyValue{unknown})
	assert.Empty(t, check(t, "digitalocean:index/firewall:Firewall", fw))

	rec := declared["cloudflare:index/record:Record"]["dns-ingest"].Copy()
	rec["content"] = unknown
	assert.Empty(t, check(t, "cloudflare:index/record:Record", rec))
	delete(rec, "content")
	assert.NotEmpty(t, check(t, "cloudflare:index/record:Record", rec), "a missing argument is still missing")
}
