package components

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-command/sdk/go/command/local"
	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/livecdn/livecdn/blueprint"
)

// recordingsGuard declares NAME-recordings-guard, a command with nothing to
// do on create whose Delete (blueprint.Machine.RecordingsGuard) fails while
// a chunk of the recording exists only on the droplet. It takes the
// droplet's own address as input, so Pulumi deletes it before the droplet:
// `pulumi destroy` stops there, and so does the deletion of an old origin
// after a replacement (the droplet ID is a trigger, so every new droplet
// gets a guard of its own and the old one keeps the old address).
func recordingsGuard(ctx *pulumi.Context, name string, m blueprint.Machine, droplet *digitalocean.Droplet, parent pulumi.ResourceOption) error {
	script := droplet.Ipv4Address.ApplyT(func(a string) (string, error) {
		addr, err := netip.ParseAddr(a)
		if err != nil {
			return "", fmt.Errorf("the droplet's address %q: %w", a, err)
		}
		return m.RecordingsGuard(addr)
	}).(pulumi.StringOutput)
	_, err := local.NewCommand(ctx, name+"-recordings-guard", &local.CommandArgs{
		Delete:   script,
		Triggers: pulumi.Array{droplet.ID()},
	}, parent, pulumi.DependsOn([]pulumi.Resource{droplet}))
	if err != nil {
		return fmt.Errorf("recordings guard: %w", err)
	}
	return nil
}

// RecordingsKeyArgs configure NewRecordingsKey.
type RecordingsKeyArgs struct {
	// Bucket is the team's recordings bucket, which must exist. Required.
	Bucket string
	// Region is the bucket's Spaces region. Required.
	Region string
	// KeyName names the key in DigitalOcean's control panel, e.g.
	// "livecdn-animecon-recordings". Required.
	KeyName string
}

// RecordingsKey is the Spaces key the origin uploads with.
type RecordingsKey struct {
	// AccessKey and SecretKey (secret) are the key's credentials.
	AccessKey, SecretKey pulumi.StringOutput
}

// NewRecordingsKey looks the team's bucket up (it is never the event's to
// create or delete: docs/RECORDINGS.md) and creates a Spaces key with
// readwrite on that bucket only, so the origin holds no key to anything
// else. A missing bucket fails the preview, naming it.
func NewRecordingsKey(ctx *pulumi.Context, name string, args *RecordingsKeyArgs, opts ...pulumi.ResourceOption) (*RecordingsKey, error) {
	if args == nil || args.Bucket == "" || args.Region == "" || args.KeyName == "" {
		return nil, fmt.Errorf("recordings key %q: Bucket, Region and KeyName are required", name)
	}
	bucket, err := digitalocean.LookupSpacesBucket(ctx, &digitalocean.LookupSpacesBucketArgs{
		Name: args.Bucket, Region: args.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("recordings bucket %s in %s: %w (create it once, outside any event stack: docs/RECORDINGS.md)",
			args.Bucket, args.Region, err)
	}
	key, err := digitalocean.NewSpacesKey(ctx, name, &digitalocean.SpacesKeyArgs{
		Name: pulumi.String(args.KeyName),
		Grants: digitalocean.SpacesKeyGrantArray{digitalocean.SpacesKeyGrantArgs{
			Bucket: pulumi.String(bucket.Name), Permission: pulumi.String(SpacesReadWrite),
		}},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("recordings key %q: %w", name, err)
	}
	return &RecordingsKey{AccessKey: key.AccessKey, SecretKey: pulumi.ToSecret(key.SecretKey).(pulumi.StringOutput)}, nil
}

// SpacesReadWrite is the grant that lets a key list, read, write and delete
// objects in one bucket, but not change or delete the bucket
// (terraform-provider-digitalocean's resource_spaces_key.go maps it to
// godo.SpacesKeyReadWrite; the others are "read" and "fullaccess", the
// latter with an empty bucket, for every bucket).
const SpacesReadWrite = "readwrite"
