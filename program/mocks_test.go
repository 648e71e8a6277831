package program

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/internal/throwaway"
)

// Type tokens of the resources the program declares.
const (
	dropletType    = "digitalocean:index/droplet:Droplet"
	firewallType   = "digitalocean:index/firewall:Firewall"
	reservedIPType = "digitalocean:index/reservedIp:ReservedIp"
	assignmentType = "digitalocean:index/reservedIpAssignment:ReservedIpAssignment"
	tagType        = "digitalocean:index/tag:Tag"
	spacesKeyType  = "digitalocean:index/spacesKey:SpacesKey"
	commandType    = "command:remote:Command"
	readyType      = "command:local:Command"
	stackType      = "pulumi:pulumi:Stack"
)

// dropletReplaceKeys are the droplet inputs whose change replaces the
// droplet: DigitalOcean's (image, region, ssh keys, user data) and the size,
// which the program replaces rather than resizing in place.
var dropletReplaceKeys = []string{"image", "region", "size", "sshKeys", "userData"}

// The key the mocked cloud gives a SpacesKey.
const (
	mockSpacesAccessKey = "DO00MOCKACCESSKEY000"
	mockSpacesSecretKey = "mock/Secret+Key0123456789abcdefghijklmnopqr"
)

// mockReservedIP is the address the mocked cloud gives the origin.
const mockReservedIP = "203.0.113.10"

// testStreamKey stands in for the secret a real stack holds encrypted.
const testStreamKey = "test-stream-key-0123456789"

// declared is one resource the program registered.
type declared struct {
	ID     string
	Type   string
	Name   string
	Custom bool
	Inputs resource.PropertyMap
	// Deps are the URNs of the resources this one depends on (inputs and
	// DependsOn): Pulumi deletes a resource before every one of them.
	Deps []string
}

// cloud is a mocked DigitalOcean/Cloudflare that records every resource.
type cloud struct {
	mu        sync.Mutex
	resources map[string]declared
	// order is the names in the order the program registered them: a
	// resource is registered once its inputs are known, so one whose input
	// comes from another's output is registered after it.
	order []string
}

func (c *cloud) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := args.TypeToken + "::" + args.Name
	if _, dup := c.resources[key]; dup {
		return "", nil, fmt.Errorf("%s declared twice", key)
	}
	outputs := args.Inputs.Copy()
	// IDs and addresses are stable, as a real cloud's are across updates,
	// except for a droplet whose replacing inputs changed: a test comparing
	// two runs sees a replaced droplet get a new ID and address.
	identity := key
	if args.TypeToken == dropletType {
		for _, k := range dropletReplaceKeys {
			identity += "|" + canonical(args.Inputs[resource.PropertyKey(k)])
		}
	}
	id, ipv4, ipv6 := standIn(identity)
	c.resources[key] = declared{ID: id, Type: args.TypeToken, Name: args.Name, Custom: args.Custom, Inputs: args.Inputs,
		Deps: args.RegisterRPC.GetDependencies()}
	c.order = append(c.order, args.Name)
	switch args.TypeToken {
	case dropletType:
		outputs["ipv4Address"] = resource.NewStringProperty(ipv4)
		outputs["ipv6Address"] = resource.NewStringProperty(ipv6)
		outputs["dropletUrn"] = resource.NewStringProperty("do:droplet:" + id)
	case reservedIPType:
		outputs["ipAddress"] = resource.NewStringProperty(mockReservedIP)
	case spacesKeyType:
		// Shaped like DigitalOcean's: 20 characters, and a 43-character secret.
		outputs["accessKey"] = resource.NewStringProperty(mockSpacesAccessKey)
		outputs["secretKey"] = resource.MakeSecret(resource.NewStringProperty(mockSpacesSecretKey))
	case readyType:
		// The ready check passed (what it checks is proven on VMs).
		outputs["stdout"] = resource.NewStringProperty(strings.TrimSuffix(args.Name, "-ready") + ": ready")
	}
	return id, outputs, nil
}

// canonical renders a property value deterministically, secrets included.
func canonical(v resource.PropertyValue) string {
	switch {
	case v.IsSecret():
		return "secret(" + canonical(v.SecretValue().Element) + ")"
	case v.IsObject():
		obj := v.ObjectValue()
		var b strings.Builder
		b.WriteString("{")
		for _, k := range obj.StableKeys() {
			b.WriteString(string(k) + ":" + canonical(obj[k]) + ",")
		}
		return b.String() + "}"
	case v.IsArray():
		var b strings.Builder
		b.WriteString("[")
		for _, item := range v.ArrayValue() {
			b.WriteString(canonical(item) + ",")
		}
		return b.String() + "]"
	default:
		return fmt.Sprintf("%#v", v.V)
	}
}

func (c *cloud) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == getSpacesBucketToken {
		name, region := args.Args["name"].StringValue(), args.Args["region"].StringValue()
		if name == missingBucket {
			return nil, fmt.Errorf("Spaces bucket %s not found", name)
		}
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": name, "name": name, "region": region, "urn": "do:space:" + name,
			"endpoint": region + ".digitaloceanspaces.com", "bucketDomainName": name + "." + region + ".digitaloceanspaces.com",
		}), nil
	}
	return resource.PropertyMap{}, nil
}

// getSpacesBucketToken is digitalocean.LookupSpacesBucket's invoke; the
// mocked cloud has every bucket but missingBucket.
const (
	getSpacesBucketToken = "digitalocean:index/getSpacesBucket:getSpacesBucket"
	missingBucket        = "no-such-bucket"
)

// ofType lists the declared resources of a type, sorted by name.
func (c *cloud) ofType(typ string) []declared {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []declared
	for _, r := range c.resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b declared) int { return cmpString(a.Name, b.Name) })
	return out
}

// named finds a declared resource.
func (c *cloud) named(t *testing.T, typ, name string) declared {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.resources[typ+"::"+name]
	require.True(t, ok, "%s %q is declared", typ, name)
	return r
}

// resourceID is a declared resource's numeric ID.
func (c *cloud) resourceID(t *testing.T, typ, name string) int {
	t.Helper()
	id, err := strconv.Atoi(c.named(t, typ, name).ID)
	require.NoError(t, err)
	return id
}

// count is how many resources the program declared, the stack itself aside.
func (c *cloud) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.resources {
		if r.Type != stackType {
			n++
		}
	}
	return n
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// stack is one configuration to run the program with.
type stack struct {
	name       string
	values     map[string]string
	secretKeys []string
}

// committedStack reads Pulumi.NAME.yaml and adds the stream key a real stack
// holds encrypted.
func committedStack(t *testing.T, name string) stack {
	t.Helper()
	values, secretKeys, err := config.ReadStackFile("../Pulumi." + name + ".yaml")
	require.NoError(t, err)
	values[config.KeyStreamKey] = testStreamKey
	secretKeys = append(secretKeys, config.KeyStreamKey)
	if domain := values[config.KeyDomain]; domain != "" {
		// What `livecdn cert` stores, from a CA that lives for this test.
		leaf := issue(t, domain)
		values[config.KeyTLSCertificate], values[config.KeyTLSKey] = leaf.Chain, leaf.Key
		secretKeys = append(secretKeys, config.KeyTLSCertificate, config.KeyTLSKey)
	}
	return stack{name: name, values: values, secretKeys: secretKeys}
}

// issue makes a certificate for domain and *.domain, valid for 90 days;
// one per domain for the whole test binary, so two runs of the same stack
// render the same user data.
func issue(t *testing.T, domain string) throwaway.Leaf {
	t.Helper()
	leavesMu.Lock()
	defer leavesMu.Unlock()
	if leaf, ok := leaves[domain]; ok {
		return leaf
	}
	_, leaf, err := throwaway.ForDomain("livecdn program test", domain, time.Now().AddDate(0, 0, 90))
	require.NoError(t, err)
	leaves[domain] = leaf
	return leaf
}

var (
	leavesMu sync.Mutex
	leaves   = map[string]throwaway.Leaf{}
)

// with returns a copy of the stack with one raw value changed.
func (s stack) with(key, raw string) stack {
	c := s
	c.values = maps.Clone(s.values)
	c.values[key] = raw
	return c
}

// without returns a copy of the stack without a key.
func (s stack) without(key string) stack {
	c := s
	c.values = maps.Clone(s.values)
	delete(c.values, key)
	return c
}

// run is one program run: the mocked cloud after it and the resolved outputs.
type run struct {
	cloud   *cloud
	outputs map[string]any
	secret  map[string]bool
	err     error
}

// deploy runs the program under mocks, as `pulumi preview` (dryRun) or
// `pulumi up` would.
func deploy(t *testing.T, s stack, dryRun bool) run {
	t.Helper()
	c := &cloud{resources: map[string]declared{}}
	r := run{cloud: c, outputs: map[string]any{}, secret: map[string]bool{}}
	var mu sync.Mutex
	r.err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		outputs, err := Deploy(ctx, s.values, s.secretKeys)
		if err != nil {
			return err
		}
		// Wait for every output here: RunErr does not wait for applies on
		// outputs that no resource depends on.
		var pending []chan struct{}
		for name, out := range outputs {
			o := pulumi.ToOutput(out)
			secret := pulumi.IsSecret(o)
			done := make(chan struct{})
			pending = append(pending, done)
			o.ApplyT(func(v any) any {
				mu.Lock()
				defer mu.Unlock()
				r.outputs[name], r.secret[name] = v, secret
				close(done)
				return v
			})
		}
		for _, done := range pending {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				return errors.New("a stack output never resolved")
			}
		}
		return nil
	}, pulumi.WithMocks("livecdn", s.name, c), func(info *pulumi.RunInfo) {
		info.Config = s.values
		info.ConfigSecretKeys = s.secretKeys
		info.DryRun = dryRun
	})
	return r
}
