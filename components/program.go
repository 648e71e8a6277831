package components

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/nginx"
	"github.com/livecdn/livecdn/plan"
)

// Program declares one event's CDN and exports what operators need. values
// and secretKeys are the stack's configuration as Pulumi hands it over
// (config.FromEnv). An invalid stack fails before any resource is registered.
func Program(ctx *pulumi.Context, values map[string]string, secretKeys []string) error {
	outputs, err := Deploy(ctx, values, secretKeys)
	if err != nil {
		return err
	}
	for name, value := range outputs {
		ctx.Export(name, value)
	}
	return nil
}

// Deploy declares the resources and returns the stack outputs: ingestUrl,
// streamKey (secret), playbackUrl, playerUrl, edges (name -> region,
// address, hlsUrl, healthUrl), plan and costPerHourUsd; with DNS also
// ingestHostname and regionHostnames.
func Deploy(ctx *pulumi.Context, values map[string]string, secretKeys []string) (pulumi.Map, error) {
	s, err := config.Load(values, secretKeys)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", ctx.Stack(), err)
	}
	if err := s.ExampleValues(); err != nil {
		if !ctx.DryRun() {
			return nil, fmt.Errorf("stack %s still has example values; refusing to deploy them:\n%w", ctx.Stack(), err)
		}
		if logErr := ctx.Log.Warn("example values, which `pulumi up` will refuse:\n"+err.Error(), nil); logErr != nil {
			return nil, logErr
		}
	}
	p, err := plan.Plan(plan.InputFrom(s))
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	for _, w := range p.Warnings {
		if err := ctx.Log.Warn(w, nil); err != nil {
			return nil, err
		}
	}
	edges := blueprint.Edges(p)
	site, err := blueprint.Site(s)
	if err != nil {
		return nil, err
	}
	if err := preflight(s, edges, site); err != nil {
		return nil, err
	}

	// From here on the secrets flow as secret Outputs only.
	streamKey, err := pconfig.TrySecret(ctx, config.KeyStreamKey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.KeyStreamKey, err)
	}
	relayToken := pulumi.ToSecret(streamKey.ApplyT(nginx.RelayToken)).(pulumi.StringOutput)
	sshKeys := pulumi.ToStringArray(s.SSHKeys)

	edgeTag, err := digitalocean.NewTag(ctx, "edge-tag", &digitalocean.TagArgs{Name: pulumi.String(Tag(ctx, "edge"))})
	if err != nil {
		return nil, fmt.Errorf("edge tag: %w", err)
	}

	var originAddress, ingest pulumi.StringOutput
	originSpec := blueprint.OriginSpec(s, "")
	if byo := s.Origin.BYO; byo != nil {
		key, err := pconfig.TrySecret(ctx, config.KeyOriginSSHPrivateKey)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.KeyOriginSSHPrivateKey, err)
		}
		o, err := NewBYOOrigin(ctx, "origin", &BYOOriginArgs{
			Address: byo.Address.String(), User: byo.User, Port: byo.Port,
			PrivateKey: key, Spec: originSpec, StreamKey: streamKey,
		})
		if err != nil {
			return nil, err
		}
		originAddress, ingest = o.Address, o.IngestURL
	} else {
		originTag, err := digitalocean.NewTag(ctx, "origin-tag", &digitalocean.TagArgs{Name: pulumi.String(Tag(ctx, "origin"))})
		if err != nil {
			return nil, fmt.Errorf("origin tag: %w", err)
		}
		o, err := NewOrigin(ctx, "origin", &OriginArgs{
			Region: s.Origin.Region, Size: s.Origin.Size, SSHKeys: sshKeys,
			Tags: pulumi.StringArray{originTag.Name}, EdgeTag: edgeTag.Name,
			Spec: originSpec, StreamKey: streamKey,
		})
		if err != nil {
			return nil, err
		}
		originAddress, ingest = o.Address, o.IngestURL
	}

	nodes := map[string]*EdgeNode{}
	edgeOutputs := pulumi.Map{}
	for _, e := range edges {
		node, err := NewEdgeNode(ctx, e.Name, &EdgeNodeArgs{
			Region: e.Region, Size: e.Size, SSHKeys: sshKeys,
			Tags:          pulumi.StringArray{edgeTag.Name},
			Spec:          blueprint.EdgeSpec(s, e, "", ""),
			OriginAddress: originAddress,
			RelayToken:    relayToken,
			Site:          site,
		})
		if err != nil {
			return nil, err
		}
		nodes[e.Name] = node
		edgeOutputs[e.Name] = pulumi.Map{
			"region": node.Region, "address": node.Address,
			"hlsUrl": node.HLSURL, "healthUrl": node.HealthURL,
		}
	}

	first := nodes[edges[0].Name]
	playback, player := first.HLSURL, first.Address.ApplyT(func(a string) string { return "http://" + a + "/" }).(pulumi.StringOutput)
	outputs := pulumi.Map{}
	if s.DNS.Enabled {
		var dnsEdges []DNSEdge
		for _, e := range edges {
			dnsEdges = append(dnsEdges, DNSEdge{Name: e.Name, Region: e.Region, IPv4: nodes[e.Name].Address, IPv6: nodes[e.Name].AddressIPv6})
		}
		dns, err := NewGeoDNS(ctx, "dns", &GeoDNSArgs{
			ZoneID: s.DNS.ZoneID, AccountID: s.DNS.AccountID, Domain: s.Domain,
			TTL: s.DNS.TTL, LoadBalancing: s.DNS.LoadBalancing,
			OriginAddress: originAddress, Edges: dnsEdges,
		})
		if err != nil {
			return nil, err
		}
		playback = pulumi.String(blueprint.PlaylistURL(s.Domain, blueprint.Stream(s.Stream))).ToStringOutput()
		player = pulumi.String("http://" + s.Domain + "/").ToStringOutput()
		outputs["ingestHostname"] = dns.IngestHostname
		outputs["regionHostnames"] = dns.RegionHostnames
	}

	planJSON, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	var planOut map[string]any
	if err := json.Unmarshal(planJSON, &planOut); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}

	outputs["ingestUrl"] = ingest
	outputs["streamKey"] = streamKey
	outputs["playbackUrl"] = playback
	outputs["playerUrl"] = player
	outputs["edges"] = edgeOutputs
	outputs["plan"] = pulumi.ToMap(planOut)
	outputs["costPerHourUsd"] = pulumi.Float64(p.Cost.PerHourUSD)
	return outputs, nil
}

// preflight renders every machine's text with the real settings before any
// resource exists, so a stack the renderers reject registers nothing. The
// origin's address is not known yet; a documentation address stands in.
func preflight(s *config.Settings, edges []blueprint.Edge, site []nginx.SiteFile) error {
	key := s.StreamKey.Reveal()
	origin := blueprint.OriginSpec(s, key)
	var errs []string
	if _, err := nginx.RenderOriginUserData(origin); err != nil {
		errs = append(errs, err.Error())
	}
	for _, e := range edges {
		spec := blueprint.EdgeSpec(s, e, "192.0.2.1", nginx.RelayToken(key))
		if _, err := nginx.RenderEdgeUserData(spec, site); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the stack's machines cannot be rendered:\n%s", strings.Join(errs, "\n"))
	}
	return nil
}
