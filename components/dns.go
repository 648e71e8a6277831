package components

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/nginx"
)

// GeoDNSType is the GeoDNS component's type token.
const GeoDNSType = "livecdn:index:GeoDNS"

// GeoDNS names the CDN in a Cloudflare zone and sends viewers to the nearest
// healthy edge. Every record is DNS-only: Cloudflare's terms do not allow
// proxying video outside Enterprise plans.
//
// Without load balancing the viewers' hostname is a round-robin over all
// edges and the player page picks and fails over between regions. With it,
// a geo-steered load balancer answers with the nearest region's healthy
// edges, checked by a monitor on /healthz.
type GeoDNS struct {
	pulumi.ResourceState

	// ViewerHostname is where viewers go, e.g. live.example.org.
	ViewerHostname pulumi.StringOutput `pulumi:"viewerHostname"`
	// IngestHostname points at the origin, e.g. ingest.live.example.org.
	IngestHostname pulumi.StringOutput `pulumi:"ingestHostname"`
	// RegionHostnames maps each region to its hostname, e.g. ams3.live.example.org.
	RegionHostnames pulumi.StringMapOutput `pulumi:"regionHostnames"`
}

// GeoDNSArgs configure a GeoDNS.
type GeoDNSArgs struct {
	// ZoneID is the Cloudflare zone holding Domain. Required.
	ZoneID string
	// AccountID owns the load balancer's pools and monitor. Required with LoadBalancing.
	AccountID string
	// Domain is the viewers' hostname; every other name is under it. Required.
	Domain string
	// TTL of the records, in seconds. Optional; default 60.
	TTL int
	// LoadBalancing turns on Cloudflare Load Balancing (a paid add-on). Default false.
	LoadBalancing bool
	// MonitorInterval is the number of seconds between two probes of every
	// edge's /healthz. Optional; default config.DefaultMonitorInterval (60,
	// the Pro plan's minimum). config.Validate checks it against the plan.
	MonitorInterval int
	// CheckRegions returns the Cloudflare regions the pool of a DigitalOcean
	// region is probed from; an empty list probes from every data centre,
	// which only Enterprise allows. Required with LoadBalancing: pass
	// config.DNS.PoolCheckRegions.
	CheckRegions func(region string) []string
	// OriginAddress is the origin's address, named ingest.DOMAIN. Required.
	OriginAddress pulumi.StringInput
	// Edges are the edges to name and steer to. Required, at least one.
	Edges []DNSEdge
	// Records are the stack's records (blueprint.Stack.Records), each
	// naming the origin or one of Edges. Required.
	Records []blueprint.Record
}

// DNSEdge is one edge as DNS sees it.
type DNSEdge struct {
	// Name is the edge's name (REGION-N), its hostname's first label.
	Name string
	// Region is its DigitalOcean region.
	Region string
	// IPv4 and IPv6 are its public addresses. IPv4 is required.
	IPv4, IPv6 pulumi.StringInput
}

const (
	defaultTTL = 60
	// lbTTL keeps a failed-over answer short-lived: the load balancer
	// re-answers with healthy edges only. It is Cloudflare's default for a
	// load balancer, set explicitly so the answers never depend on it.
	lbTTL = 30
	// monitorTimeout and monitorRetries bound one probe: /healthz answers
	// from the edge's own disk, so 4 s is generous. Cloudflare wants the
	// interval longer than (retries+1) x timeout
	// (terraform-provider-cloudflare v4
	// internal/sdkv2provider/schema_cloudflare_load_balancer_monitor.go line
	// 31): 8 s stays below the shortest interval of any plan (10 s).
	monitorTimeout = 4
	monitorRetries = 1
)

// NewGeoDNS declares the records and, with load balancing, the monitor,
// one pool per region and the geo-steered load balancer. Every resource is
// named after the edge or region it is for, so adding an edge adds its own
// records and changes only its region's pool.
func NewGeoDNS(ctx *pulumi.Context, name string, args *GeoDNSArgs, opts ...pulumi.ResourceOption) (*GeoDNS, error) {
	if args == nil || args.ZoneID == "" || args.Domain == "" || args.OriginAddress == nil || len(args.Edges) == 0 || len(args.Records) == 0 {
		return nil, fmt.Errorf("dns %q: ZoneID, Domain, OriginAddress, Edges and Records are required", name)
	}
	if args.LoadBalancing && (args.AccountID == "" || args.CheckRegions == nil) {
		return nil, fmt.Errorf("dns %q: AccountID and CheckRegions are required with LoadBalancing", name)
	}
	d := &GeoDNS{}
	if err := ctx.RegisterComponentResource(GeoDNSType, name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)
	ttl := args.TTL
	if ttl == 0 {
		ttl = defaultTTL
	}
	record := func(resource, host, typ string, content pulumi.StringInput) error {
		_, err := cloudflare.NewRecord(ctx, name+"-"+resource, &cloudflare.RecordArgs{
			ZoneId:  pulumi.String(args.ZoneID),
			Name:    pulumi.String(host),
			Type:    pulumi.String(typ),
			Content: content,
			Ttl:     pulumi.Int(ttl),
			Proxied: pulumi.Bool(false),
			Comment: pulumi.String("livecdn " + ctx.Stack()),
		}, parent)
		if err != nil {
			return fmt.Errorf("dns %q: record %s %s: %w", name, typ, host, err)
		}
		return nil
	}

	type addresses struct{ ipv4, ipv6 pulumi.StringInput }
	machines := map[string]addresses{blueprint.OriginName: {ipv4: args.OriginAddress}}
	regionHosts := pulumi.StringMap{}
	byRegion := map[string][]DNSEdge{}
	for _, e := range args.Edges {
		machines[e.Name] = addresses{e.IPv4, e.IPv6}
		regionHosts[e.Region] = pulumi.String(blueprint.RegionHost(args.Domain, e.Region))
		byRegion[e.Region] = append(byRegion[e.Region], e)
	}
	for _, r := range args.Records {
		a, ok := machines[r.Machine]
		if !ok {
			return nil, fmt.Errorf("dns %q: record %s names %q, which is neither the origin nor one of the edges", name, r.Host, r.Machine)
		}
		if err := record(r.Resource, r.Host, "A", a.ipv4); err != nil {
			return nil, err
		}
		if r.IPv6 && a.ipv6 != nil {
			if err := record(r.Resource+"-ipv6", r.Host, "AAAA", a.ipv6); err != nil {
				return nil, err
			}
		}
	}

	if args.LoadBalancing {
		if err := loadBalancer(ctx, name, args, byRegion, parent); err != nil {
			return nil, err
		}
	}

	d.ViewerHostname = pulumi.String(args.Domain).ToStringOutput()
	d.IngestHostname = pulumi.String(blueprint.IngestHost(args.Domain)).ToStringOutput()
	d.RegionHostnames = regionHosts.ToStringMapOutput()
	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{
		"viewerHostname":  d.ViewerHostname,
		"ingestHostname":  d.IngestHostname,
		"regionHostnames": d.RegionHostnames,
	}); err != nil {
		return nil, fmt.Errorf("dns %q: outputs: %w", name, err)
	}
	return d, nil
}

// loadBalancer declares the monitor, a pool per region and the geo-steered
// load balancer on the viewers' hostname.
func loadBalancer(ctx *pulumi.Context, name string, args *GeoDNSArgs, byRegion map[string][]DNSEdge, parent pulumi.ResourceOption) error {
	interval := args.MonitorInterval
	if interval == 0 {
		interval = config.DefaultMonitorInterval
	}
	monitor, err := cloudflare.NewLoadBalancerMonitor(ctx, name+"-monitor", &cloudflare.LoadBalancerMonitorArgs{
		AccountId: pulumi.String(args.AccountID),
		Type:      pulumi.String("http"),
		Method:    pulumi.String("GET"),
		Path:      pulumi.String(nginx.HealthPath),
		Port:      pulumi.Int(blueprint.HTTPPort),
		// Only livecdn's own /healthz counts: exactly 200 (not 2xx) and its
		// body. Debian's stock nginx, which answers on port 80 while
		// cloud-init installs livecdn's config, has no /healthz (404).
		ExpectedCodes: pulumi.String("200"),
		ExpectedBody:  pulumi.String(nginx.HealthyBody),
		// /healthz turns 503 the moment an edge loses the stream: it leaves
		// the answers after two failed probes, and comes back after two
		// good ones, so a flapping relay does not flap DNS.
		Interval:        pulumi.Int(interval),
		Timeout:         pulumi.Int(monitorTimeout),
		Retries:         pulumi.Int(monitorRetries),
		ConsecutiveDown: pulumi.Int(2),
		ConsecutiveUp:   pulumi.Int(2),
		Description:     pulumi.String("livecdn " + ctx.Stack() + " edge health"),
	}, parent)
	if err != nil {
		return fmt.Errorf("dns %q: monitor: %w", name, err)
	}

	regions := slices.Sorted(maps.Keys(byRegion))
	pools := map[string]pulumi.StringOutput{}
	for _, region := range regions {
		origins := cloudflare.LoadBalancerPoolOriginArray{}
		for _, e := range byRegion[region] {
			origins = append(origins, cloudflare.LoadBalancerPoolOriginArgs{
				Name:    pulumi.String(e.Name),
				Address: e.IPv4,
				Enabled: pulumi.Bool(true),
			})
		}
		poolName, err := cloudName(ctx, region)
		if err != nil {
			return fmt.Errorf("dns %q: pool %s: %w", name, region, err)
		}
		poolArgs := &cloudflare.LoadBalancerPoolArgs{
			AccountId:      pulumi.String(args.AccountID),
			Name:           pulumi.String(poolName),
			Origins:        origins,
			Monitor:        monitor.ID().ToStringOutput(),
			MinimumOrigins: pulumi.Int(1),
			Description:    pulumi.String("livecdn " + ctx.Stack() + " edges in " + region),
		}
		// Left out, check_regions means every data centre (Enterprise).
		if regions := args.CheckRegions(region); len(regions) > 0 {
			poolArgs.CheckRegions = pulumi.ToStringArray(regions)
		}
		pool, err := cloudflare.NewLoadBalancerPool(ctx, name+"-pool-"+region, poolArgs, parent)
		if err != nil {
			return fmt.Errorf("dns %q: pool %s: %w", name, region, err)
		}
		pools[region] = pool.ID().ToStringOutput()
	}

	steering, err := blueprint.GeoSteering(regions)
	if err != nil {
		return fmt.Errorf("dns %q: %w", name, err)
	}
	poolIDs := func(order []string) pulumi.StringArray {
		ids := pulumi.StringArray{}
		for _, r := range order {
			ids = append(ids, pools[r])
		}
		return ids
	}
	regionPools := cloudflare.LoadBalancerRegionPoolArray{}
	for _, s := range steering {
		regionPools = append(regionPools, cloudflare.LoadBalancerRegionPoolArgs{
			Region:  pulumi.String(s.Cloudflare),
			PoolIds: poolIDs(s.Regions),
		})
	}
	if _, err := cloudflare.NewLoadBalancer(ctx, name+"-lb", &cloudflare.LoadBalancerArgs{
		ZoneId:         pulumi.String(args.ZoneID),
		Name:           pulumi.String(args.Domain),
		SteeringPolicy: pulumi.String("geo"),
		RegionPools:    regionPools,
		DefaultPoolIds: poolIDs(regions),
		// The last resort when every pool is down: the first region's pool.
		FallbackPoolId: pools[regions[0]],
		// DNS-only (video may not go through Cloudflare's proxy) is
		// Cloudflare's default for a load balancer, and `proxied` may not be
		// set next to `ttl`, not even to false: terraform-provider-cloudflare
		// v4 declares them ConflictsWith
		// (internal/sdkv2provider/schema_cloudflare_load_balancer.go lines
		// 567-587).
		Ttl:         pulumi.Int(lbTTL),
		Description: pulumi.String("livecdn " + ctx.Stack() + " viewers"),
	}, parent); err != nil {
		return fmt.Errorf("dns %q: load balancer: %w", name, err)
	}
	return nil
}
