package program

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/livecdn/livecdn/blueprint"
)

// Resource is one cloud resource the program declares, as a reviewer
// reads it: what, where in the tree, and with which inputs.
type Resource struct {
	// Type is the type token, e.g. "digitalocean:index/droplet:Droplet".
	Type string `yaml:"type"`
	// Name is the Pulumi name, e.g. "ams3-1-droplet".
	Name string `yaml:"name"`
	// Parent is the parent component as "TYPE NAME", empty for the stack's.
	Parent string `yaml:"parent,omitempty"`
	// Inputs are the resource's inputs; a secret shows as "[secret]".
	Inputs map[string]any `yaml:"inputs,omitempty"`
}

// Declared runs the program under mocks, as a preview would, and returns
// every resource it declares, sorted by type and name: the firewall, DNS
// and load-balancer inputs a change would send to the clouds, offline. The
// values the clouds assign (IDs, addresses) are stand-ins; stack and
// values are as Pulumi would pass them (config.ReadStackFile, with any
// secret the stack file holds encrypted filled in by the caller).
func Declared(stack string, values map[string]string, secretKeys []string) ([]Resource, error) {
	m := &declaringMocks{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := Deploy(ctx, values, secretKeys)
		return err
	}, pulumi.WithMocks("livecdn", stack, m), func(info *pulumi.RunInfo) {
		info.Config = values
		info.ConfigSecretKeys = secretKeys
		info.DryRun = true
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(m.declared, func(a, b Resource) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name))
	})
	return m.declared, nil
}

// declaringMocks records every registration and answers with the outputs the
// program reads, derived from the name so that two runs agree.
type declaringMocks struct {
	mu       sync.Mutex
	declared []Resource
}

func (m *declaringMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := Resource{Type: args.TypeToken, Name: args.Name, Inputs: map[string]any{}}
	if rpc := args.RegisterRPC; rpc != nil && rpc.GetParent() != "" {
		parent := resource.URN(rpc.GetParent())
		if parent.QualifiedType() != "pulumi:pulumi:Stack" {
			r.Parent = string(parent.Type()) + " " + parent.Name()
		}
	}
	for k, v := range args.Inputs {
		r.Inputs[string(k)] = reviewable(v)
	}
	m.mu.Lock()
	m.declared = append(m.declared, r)
	m.mu.Unlock()

	id, ipv4, ipv6 := standIn(args.TypeToken + "::" + args.Name)
	outputs := args.Inputs.Copy()
	switch args.TypeToken {
	case "digitalocean:index/droplet:Droplet":
		outputs["ipv4Address"] = resource.NewStringProperty(ipv4)
		outputs["ipv6Address"] = resource.NewStringProperty(ipv6)
	case "digitalocean:index/reservedIp:ReservedIp":
		outputs["ipAddress"] = resource.NewStringProperty(blueprint.PlaceholderOriginAddress.String())
	case "command:local:Command", "command:remote:Command":
		outputs["stdout"] = resource.NewStringProperty("")
	case "digitalocean:index/spacesKey:SpacesKey":
		outputs["accessKey"] = resource.NewStringProperty(blueprint.PlaceholderSpacesAccessKey)
		outputs["secretKey"] = resource.MakeSecret(resource.NewStringProperty(blueprint.PlaceholderSpacesSecretKey))
	}
	return id, outputs, nil
}

// standIn derives the ID and addresses a mocked cloud gives the resource
// that identity names, so that two runs agree: documentation addresses
// (RFC 5737, RFC 3849), never a machine's.
func standIn(identity string) (id, ipv4, ipv6 string) {
	sum := sha256.Sum256([]byte(identity))
	id = strconv.Itoa(100000 + int(sum[0])<<8 + int(sum[1]))
	ipv4 = fmt.Sprintf("198.51.100.%d", 1+int(sum[2])%250)
	ipv6 = fmt.Sprintf("2001:db8::%x", int(sum[2])<<8+int(sum[3]))
	return id, ipv4, ipv6
}

func (m *declaringMocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == "digitalocean:index/getSpacesBucket:getSpacesBucket" {
		// A review render cannot know whether the team's bucket exists
		// (`pulumi preview` checks); it shows what would use it.
		name, region := args.Args["name"].StringValue(), args.Args["region"].StringValue()
		return resource.NewPropertyMapFromMap(map[string]any{"id": name, "name": name, "region": region}), nil
	}
	return nil, fmt.Errorf("the program calls %s, which a review render cannot answer", args.Token)
}

// reviewable turns an input into plain data, secrets replaced by "[secret]"
// and unknowns by "[unknown]".
func reviewable(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return "[secret]"
	case v.IsComputed() || v.IsOutput() && !v.OutputValue().Known:
		return "[unknown]"
	case v.IsOutput():
		if v.OutputValue().Secret {
			return "[secret]"
		}
		return reviewable(v.OutputValue().Element)
	case v.IsArray():
		out := []any{}
		for _, e := range v.ArrayValue() {
			out = append(out, reviewable(e))
		}
		return out
	case v.IsObject():
		out := map[string]any{}
		for k, e := range v.ObjectValue() {
			out[string(k)] = reviewable(e)
		}
		return out
	case v.IsNull():
		return nil
	case v.IsNumber():
		f := v.NumberValue()
		if f == float64(int64(f)) {
			return int64(f)
		}
		return f
	case v.IsString():
		return strings.Clone(v.StringValue())
	default:
		return v.V
	}
}
