package main

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// kind is how the stand-in treats one resource type.
type kind struct {
	// replaceOn lists the inputs whose change replaces the resource: the
	// fields the bridged Terraform provider marks ForceNew, or the
	// provider's replaceOnChanges.
	replaceOn []string
	// computed lists the outputs the cloud computes; a preview shows them
	// as unknown.
	computed []string
	// create invents the ID and the computed outputs.
	create func(s seed, inputs resource.PropertyMap) (string, resource.PropertyMap)
}

// kinds are the types the stand-in serves, by package. The replaceOn lists
// follow the real providers: terraform-provider-digitalocean (which
// pulumi-digitalocean v4 bridges), terraform-provider-cloudflare v4 (which
// pulumi-cloudflare v5 bridges) and pulumi-command v1.
var kinds = map[string]map[string]kind{
	"digitalocean": {
		"digitalocean:index/droplet:Droplet": {
			// size, name, tags, ipv6 (false -> true) and backups change in
			// place; the rest rebuilds the machine.
			replaceOn: []string{"image", "region", "sshKeys", "userData", "monitoring", "dropletAgent", "vpcUuid"},
			computed:  []string{"ipv4Address", "ipv6Address", "urn", "status"},
			create: func(s seed, _ resource.PropertyMap) (string, resource.PropertyMap) {
				id := fmt.Sprint(100_000_000 + s.n(900_000_000))
				return id, resource.PropertyMap{
					"ipv4Address": resource.NewProperty(s.dropletIPv4()),
					"ipv6Address": resource.NewProperty(fmt.Sprintf("2001:db8::%x", s.n(0xffff))),
					"urn":         resource.NewProperty("do:droplet:" + id),
					"status":      resource.NewProperty("active"),
				}
			},
		},
		"digitalocean:index/firewall:Firewall": {
			// Every field of a firewall changes in place.
			computed: []string{"status"},
			create: func(s seed, _ resource.PropertyMap) (string, resource.PropertyMap) {
				return s.uuid(), resource.PropertyMap{"status": resource.NewProperty("succeeded")}
			},
		},
		"digitalocean:index/reservedIp:ReservedIp": {
			// The ID is the address; assigning a droplet changes in place.
			replaceOn: []string{"region"},
			computed:  []string{"ipAddress", "urn"},
			create: func(s seed, _ resource.PropertyMap) (string, resource.PropertyMap) {
				ip := s.ipv4("203.0.113")
				return ip, resource.PropertyMap{
					"ipAddress": resource.NewProperty(ip),
					"urn":       resource.NewProperty("do:reservedip:" + ip),
				}
			},
		},
		"digitalocean:index/reservedIpAssignment:ReservedIpAssignment": {
			// Both fields are ForceNew: moving the address to another droplet
			// is a new assignment.
			replaceOn: []string{"ipAddress", "dropletId"},
			create: func(s seed, in resource.PropertyMap) (string, resource.PropertyMap) {
				return fmt.Sprintf("%v-%v-%s", in["dropletId"].Mappable(), in["ipAddress"].Mappable(), s.hex(13)), nil
			},
		},
		// Alerts: every field of the three changes in place
		// (monitoring/resource_monitor_alert.go, uptime/resource_uptime_check.go
		// and resource_uptime_alert.go mark none ForceNew).
		"digitalocean:index/monitorAlert:MonitorAlert": {
			computed: []string{"uuid"},
			create: func(s seed, _ resource.PropertyMap) (string, resource.PropertyMap) {
				return s.uuid(), resource.PropertyMap{"uuid": resource.NewProperty(s.uuid())}
			},
		},
		"digitalocean:index/uptimeCheck:UptimeCheck": {create: uuidID},
		"digitalocean:index/uptimeAlert:UptimeAlert": {create: uuidID},
		"digitalocean:index/spacesKey:SpacesKey": {
			// TF-DO spaces/spaces_entities.go: no field is ForceNew, and
			// resource_spaces_key.go updates name and grants in place. The
			// ID is the access key; the secret is Sensitive (a secret
			// output) and only ever returned at creation.
			computed: []string{"accessKey", "secretKey", "createdAt"},
			create: func(s seed, _ resource.PropertyMap) (string, resource.PropertyMap) {
				access := fmt.Sprintf("DO%018d", s.n(1_000_000_000))
				return access, resource.PropertyMap{
					"accessKey": resource.NewProperty(access),
					"secretKey": resource.MakeSecret(resource.NewProperty(strings.ReplaceAll(s.uuid(), "-", ""))),
					"createdAt": resource.NewProperty("2026-11-29T00:00:00Z"),
				}
			},
		},
		"digitalocean:index/tag:Tag": {
			// A tag cannot be renamed; its ID is its name.
			replaceOn: []string{"name"},
			create: func(_ seed, in resource.PropertyMap) (string, resource.PropertyMap) {
				return fmt.Sprint(in["name"].Mappable()), nil
			},
		},
	},
	"cloudflare": {
		"cloudflare:index/record:Record": {
			// content, ttl, proxied, comment and tags change in place.
			replaceOn: []string{"zoneId", "name", "type"},
			computed:  []string{"hostname", "proxiable"},
			create: func(s seed, in resource.PropertyMap) (string, resource.PropertyMap) {
				// The real hostname is the FQDN, which needs the zone's name
				// from the API; the stand-in echoes the record's name.
				return s.hex(32), resource.PropertyMap{
					"hostname":  resource.NewProperty(strings.ToLower(fmt.Sprint(in["name"].Mappable()))),
					"proxiable": resource.NewProperty(true),
				}
			},
		},
		"cloudflare:index/loadBalancer:LoadBalancer": {
			replaceOn: []string{"zoneId"},
			create:    hexID,
		},
		"cloudflare:index/loadBalancerPool:LoadBalancerPool": {
			replaceOn: []string{"accountId"},
			create:    hexID,
		},
		"cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor": {
			replaceOn: []string{"accountId"},
			create:    hexID,
		},
	},
	"command": {
		// The BYO origin's set-up over ssh.
		"command:remote:Command": commandKind(""),
		// The machines' ready checks. The stand-in runs no script: no
		// machine exists to ask.
		"command:local:Command": commandKind("ready"),
	},
}

// commandKind is pulumi-command v1.2.1's Command (remote and local alike,
// provider/pkg/provider/{remote,local}/command.go): only triggers replace;
// a changed create, update or stdin runs the update command, or create when
// update is unset. stdout is what the command prints.
func commandKind(stdout string) kind {
	return kind{
		replaceOn: []string{"triggers"},
		computed:  []string{"stdout", "stderr"},
		create: func(s seed, _ resource.PropertyMap) (string, resource.PropertyMap) {
			return "command-" + s.hex(8), resource.PropertyMap{
				"stdout": resource.NewProperty(stdout),
				"stderr": resource.NewProperty(""),
			}
		},
	}
}

func hexID(s seed, _ resource.PropertyMap) (string, resource.PropertyMap) { return s.hex(32), nil }

func uuidID(s seed, _ resource.PropertyMap) (string, resource.PropertyMap) { return s.uuid(), nil }

// kindsOf returns a package's kinds, or nil for a package not served.
func kindsOf(pkg string) map[string]kind { return kinds[pkg] }

// packages lists the packages served.
func packages() []string { return slices.Sorted(maps.Keys(kinds)) }

// seed makes the invented values of one created resource: the same URN and
// inputs give the same IDs and addresses, so runs repeat, and a replacement
// (new inputs) gets new ones, as it would from a cloud.
type seed [32]byte

func newSeed(urn resource.URN, inputs resource.PropertyMap) seed {
	// fmt prints maps sorted by key, so the text is deterministic; Mappable
	// keeps secrets' values, which is what must tell two inputs apart.
	return sha256.Sum256([]byte(string(urn) + "\x00" + fmt.Sprintf("%v", plain(resource.NewProperty(inputs)).Mappable())))
}

// n is a number in [0, limit).
func (s seed) n(limit uint64) uint64 { return binary.BigEndian.Uint64(s[:8]) % limit }

// ipv4 is an address in a /24 documentation prefix (RFC 5737), so an
// invented address can never be mistaken for, or reach, a real machine.
func (s seed) ipv4(prefix24 string) string { return fmt.Sprintf("%s.%d", prefix24, 1+s[8]%254) }

// dropletIPv4 is a droplet's address in 198.18.0.0/15 (RFC 2544's
// benchmarking range): wide enough that a replacement droplet practically
// never gets its predecessor's address, which a /24 did in one run of a
// few dozen (the engine test tells a replaced droplet by its address).
func (s seed) dropletIPv4() string {
	return fmt.Sprintf("198.%d.%d.%d", 18+s[7]%2, s[8], 1+s[9]%254)
}

func (s seed) hex(n int) string { return fmt.Sprintf("%x", s[:])[:n] }

func (s seed) uuid() string {
	h := fmt.Sprintf("%x", s[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
