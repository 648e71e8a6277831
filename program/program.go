// Package program is the body of livecdn's Pulumi program: it loads and
// checks a stack's configuration, asks the blueprint for its machines and
// declares them with the components. main.go calls it; the tests run it
// under mocks.
package program

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/components"
	"github.com/livecdn/livecdn/config"
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

// LocalRecordingWarning is what a preview says of a stack that records
// without livecdn:recordings.
var LocalRecordingWarning = "stream.record without " + config.KeyRecordings + " keeps the recording on the " +
	"origin's disk only: pulumi destroy or a replaced origin deletes it (docs/RECORDINGS.md)"

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
	st, err := blueprint.New(s)
	if err != nil {
		return nil, err
	}
	p := st.Plan
	for _, w := range p.Warnings {
		if err := ctx.Log.Warn(w, nil); err != nil {
			return nil, err
		}
	}
	if s.HTTPS() {
		if _, err := st.CheckCertificate(s.TLS.Certificate.Reveal(), time.Now()); err != nil {
			if !ctx.DryRun() {
				return nil, fmt.Errorf("stack %s: refusing to deploy a certificate viewers' browsers would refuse:\n%w", ctx.Stack(), err)
			}
			if logErr := ctx.Log.Warn(err.Error()+" (`pulumi up` will refuse it)", nil); logErr != nil {
				return nil, logErr
			}
		}
	}
	if err := st.Check(blueprint.Cloud{
		StreamKey:   s.StreamKey.Reveal(),
		Certificate: s.TLS.Certificate.Reveal(), CertificateKey: s.TLS.Key.Reveal(),
	}); err != nil {
		return nil, err
	}
	stream := blueprint.Stream(s.Stream)

	// From here on the secrets flow as secret Outputs only.
	streamKey, err := pconfig.TrySecret(ctx, config.KeyStreamKey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.KeyStreamKey, err)
	}
	secrets := components.Secrets{StreamKey: streamKey}
	if s.HTTPS() {
		for key, out := range map[string]*pulumi.StringInput{
			config.KeyTLSCertificate: &secrets.Certificate, config.KeyTLSKey: &secrets.CertificateKey,
		} {
			v, err := pconfig.TrySecret(ctx, key)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			*out = v
		}
	}
	if r := s.Recordings; r != nil {
		// The bucket is the team's; the stack only makes a key limited to it.
		key, err := components.NewRecordingsKey(ctx, "recordings-key", &components.RecordingsKeyArgs{
			Bucket: r.Bucket, Region: r.Region,
			KeyName: fmt.Sprintf("livecdn-%s-%s-recordings", ctx.Project(), ctx.Stack()),
		})
		if err != nil {
			return nil, err
		}
		secrets.SpacesAccessKey, secrets.SpacesSecretKey = key.AccessKey, key.SecretKey
	} else if s.Stream.Record {
		if err := ctx.Log.Warn(LocalRecordingWarning, nil); err != nil {
			return nil, err
		}
	}
	sshKeys := pulumi.ToStringArray(s.SSHKeys)

	edgeTagName, err := components.Tag(ctx, string(blueprint.RoleEdge))
	if err != nil {
		return nil, err
	}
	edgeTag, err := digitalocean.NewTag(ctx, "edge-tag", &digitalocean.TagArgs{Name: pulumi.String(edgeTagName)})
	if err != nil {
		return nil, fmt.Errorf("edge tag: %w", err)
	}

	var originAddress, ingest pulumi.StringOutput
	// The droplets the alerts watch: a bring-your-own origin has none.
	var watched []components.WatchedDroplet
	if st.Origin.BYO {
		key, err := pconfig.TrySecret(ctx, config.KeyOriginSSHPrivateKey)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.KeyOriginSSHPrivateKey, err)
		}
		byo := s.Origin.BYO
		o, err := components.NewBYOOrigin(ctx, st.Origin.Name, &components.BYOOriginArgs{
			Machine: st.Origin, User: byo.User, Port: byo.Port, HostKey: byo.HostKey,
			PrivateKey: key, Secrets: secrets, Stream: stream,
		})
		if err != nil {
			return nil, err
		}
		originAddress, ingest = o.Address, o.IngestURL
	} else {
		originTagName, err := components.Tag(ctx, string(blueprint.RoleOrigin))
		if err != nil {
			return nil, err
		}
		originTag, err := digitalocean.NewTag(ctx, "origin-tag", &digitalocean.TagArgs{Name: pulumi.String(originTagName)})
		if err != nil {
			return nil, fmt.Errorf("origin tag: %w", err)
		}
		o, err := components.NewOrigin(ctx, st.Origin.Name, &components.OriginArgs{
			Machine: st.Origin, SSHKeys: sshKeys,
			Tags: pulumi.StringArray{originTag.Name}, EdgeTag: edgeTag.Name,
			Secrets: secrets, Stream: stream,
		})
		if err != nil {
			return nil, err
		}
		originAddress, ingest = o.Address, o.IngestURL
		watched = append(watched, components.WatchedDroplet{Name: st.Origin.Name, Size: st.Origin.Size, ID: o.DropletID})
	}

	nodes := map[string]*components.EdgeNode{}
	edgeOutputs := pulumi.Map{}
	for _, e := range st.Edges {
		node, err := components.NewEdgeNode(ctx, e.Name, &components.EdgeNodeArgs{
			Machine: e, SSHKeys: sshKeys,
			Tags:          pulumi.StringArray{edgeTag.Name},
			OriginAddress: originAddress,
			Secrets:       secrets,
			Stream:        stream,
		})
		if err != nil {
			return nil, err
		}
		nodes[e.Name] = node
		watched = append(watched, components.WatchedDroplet{Name: e.Name, Size: e.Size, ID: node.DropletID})
		edgeOutputs[e.Name] = pulumi.Map{
			"region": node.Region, "address": node.Address,
			"hlsUrl": node.HLSURL, "healthUrl": node.HealthURL,
		}
	}

	if err := declareAlerts(ctx, s, st, watched, originAddress, nodes); err != nil {
		return nil, err
	}

	first := nodes[st.Edges[0].Name]
	playback, player := first.HLSURL, first.PlayerURL
	outputs := pulumi.Map{}
	if s.DNS.Enabled {
		var dnsEdges []components.DNSEdge
		for _, e := range st.Edges {
			dnsEdges = append(dnsEdges, components.DNSEdge{Name: e.Name, Region: e.Region, IPv4: nodes[e.Name].Address, IPv6: nodes[e.Name].AddressIPv6})
		}
		dns, err := components.NewGeoDNS(ctx, "dns", &components.GeoDNSArgs{
			ZoneID: s.DNS.ZoneID, AccountID: s.DNS.AccountID, Domain: s.Domain,
			TTL: s.DNS.TTL, LoadBalancing: s.DNS.LoadBalancing,
			MonitorInterval: s.DNS.MonitorInterval, CheckRegions: s.DNS.PoolCheckRegions,
			OriginAddress: originAddress, Edges: dnsEdges, Records: st.Records,
		})
		if err != nil {
			return nil, err
		}
		playback = pulumi.String(blueprint.PlaylistURL(st.Scheme, s.Domain, stream)).ToStringOutput()
		player = pulumi.String(blueprint.PlayerURL(st.Scheme, s.Domain)).ToStringOutput()
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

	if r := s.Recordings; r != nil {
		outputs["recordings"] = pulumi.Map{
			"bucket": pulumi.String(r.Bucket), "region": pulumi.String(r.Region), "prefix": pulumi.String(r.Prefix),
			"endpoint":  pulumi.String(config.SpacesEndpoint(r.Region)),
			"statusUrl": originAddress.ApplyT(blueprint.RecordingsStatusURL).(pulumi.StringOutput),
		}
	}
	outputs["ingestUrl"] = ingest
	if st.Origin.TLSName != "" {
		// By name: the certificate covers the name, not the reserved IP.
		outputs["ingestRtmpsUrl"] = pulumi.String(blueprint.RTMPSIngestURL(st.Origin.TLSName, stream)).ToStringOutput()
	}
	outputs["streamKey"] = streamKey
	outputs["playbackUrl"] = playback
	outputs["playerUrl"] = player
	outputs["edges"] = edgeOutputs
	outputs["plan"] = pulumi.ToMap(planOut)
	outputs["costPerHourUsd"] = pulumi.Float64(p.Cost.PerHourUSD)
	return outputs, nil
}
