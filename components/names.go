package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The names livecdn gives things in a DigitalOcean team and a Cloudflare account (droplets, firewalls,
// tags, load-balancer pools) must differ between stacks, or two stacks called dev (two Pulumi projects or
// organizations sharing a team) share the edge tag, and destroying one strips the other's edges from its
// origin's firewall. A name is livecdn-STACK-HASH-NAME: STACK is the stack name cut short for people to
// read, HASH the first hex digits of a SHA-256 of organization/project/stack, which tells the stacks
// apart. It is deterministic, so an unchanged stack keeps its names.
const (
	// cloudNamePrefix marks what livecdn created.
	cloudNamePrefix = "livecdn-"
	// cloudNameHashLen hex digits (24 bits) tell apart the handful of stacks a team runs.
	cloudNameHashLen = 6
	// cloudNameStackLen is how much of the stack name a name shows.
	cloudNameStackLen = 8
	// maxDropletNameLen is the longest Droplet name DigitalOcean's API takes: the single-Droplet create
	// request's name pattern is ^[a-z][a-z0-9-]{0,30}[a-z0-9]$ (digitalocean/openapi
	// specification/resources/droplets/models/droplet_single_create.yml). Firewall names and tags allow
	// more, but every name livecdn makes fits a Droplet's, so all of them read alike.
	maxDropletNameLen = 32
)

var notNameChars = regexp.MustCompile(`[^a-z0-9]+`)

// CloudName is the name DigitalOcean and Cloudflare show for a stack's NAME ("ams3-1", "edge", "ams3"):
// livecdn-STACK-HASH-NAME, unique per Pulumi organization, project and stack, at most 32 lowercase
// letters, digits and dashes, starting with a letter. That fits a Droplet name (and hostname), a firewall
// name, a DigitalOcean tag ([a-zA-Z0-9:_-], terraform-provider-digitalocean digitalocean/tag/tags.go
// line 14) and a Cloudflare pool name ([-_a-zA-Z0-9]). name must itself be such a name, of at most 8
// characters, which every machine, role and region name is; an error says otherwise.
func CloudName(organization, project, stack, name string) (string, error) {
	sum := sha256.Sum256([]byte(organization + "/" + project + "/" + stack))
	hash := hex.EncodeToString(sum[:])[:cloudNameHashLen]
	readable := strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(stack), "-"), "-")
	readable = strings.TrimRight(readable[:min(len(readable), cloudNameStackLen)], "-")
	parts := []string{hash, name}
	if readable != "" {
		parts = append([]string{readable}, parts...)
	}
	out := cloudNamePrefix + strings.Join(parts, "-")
	if !validCloudName.MatchString(out) || len(out) > maxDropletNameLen {
		return "", fmt.Errorf("%q makes the cloud name %q, which is not 2-%d characters of a-z, 0-9 and "+
			"inner dashes", name, out, maxDropletNameLen)
	}
	return out, nil
}

var validCloudName = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)

// cloudName is CloudName for the stack being deployed.
func cloudName(ctx *pulumi.Context, name string) (string, error) {
	return CloudName(ctx.Organization(), ctx.Project(), ctx.Stack(), name)
}

// Tag names the DigitalOcean tag of a role ("origin", "edge") in this stack (see CloudName). Firewalls
// admit edges by this tag, so it must be this stack's alone.
func Tag(ctx *pulumi.Context, role string) (string, error) {
	tag, err := cloudName(ctx, role)
	if err != nil {
		return "", fmt.Errorf("%s tag: %w", role, err)
	}
	return tag, nil
}
