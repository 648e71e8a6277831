package components

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCloudNameIsUniquePerStackAndStable(t *testing.T) {
	name := func(org, project, stack, n string) string {
		t.Helper()
		out, err := CloudName(org, project, stack, n)
		require.NoError(t, err)
		return out
	}
	base := name("acme", "livecdn", "dev", "edge")
	assert.Regexp(t, `^livecdn-dev-[0-9a-f]{6}-edge$`, base)
	assert.Equal(t, base, name("acme", "livecdn", "dev", "edge"), "the same stack keeps its names")
	// Two dev stacks sharing a DigitalOcean team must never share a tag.
	for _, other := range [][3]string{
		{"other-team", "livecdn", "dev"},
		{"acme", "livecdn-staging", "dev"},
		{"acme", "livecdn", "Dev"},
		{"acme", "livecdn", "dev2"},
	} {
		assert.NotEqual(t, base, name(other[0], other[1], other[2], "edge"), "%v", other)
	}
}

func TestCloudNameFitsEveryCloud(t *testing.T) {
	// DigitalOcean's Droplet name pattern, the strictest of the names it is used for (tags, firewall
	// names and Cloudflare pool names all accept these).
	droplet := regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)
	for _, stack := range []string{
		"dev", "animecon", "AnimeCon_2026.Europe-Main", "a-very-long-stack-name-for-an-event", "___", "2026",
	} {
		for _, n := range []string{"origin", "edge", "ams3", "sgp1-20"} {
			got, err := CloudName("organization", "livecdn", stack, n)
			require.NoError(t, err, "%s %s", stack, n)
			assert.Regexp(t, droplet, got, "%s %s", stack, n)
			assert.True(t, strings.HasSuffix(got, "-"+n), got)
			assert.NotContains(t, got, "--", got)
		}
	}
	got, err := CloudName("organization", "livecdn", "AnimeCon_2026.Europe", "ams3-1")
	require.NoError(t, err)
	assert.Regexp(t, `^livecdn-animecon-[0-9a-f]{6}-ams3-1$`, got, "the stack name is cut short, readable")

	_, err = CloudName("organization", "livecdn", "dev", "a-machine-name-far-too-long")
	assert.ErrorContains(t, err, `"a-machine-name-far-too-long" makes the cloud name`)
	_, err = CloudName("organization", "livecdn", "dev", "Edge_1")
	assert.ErrorContains(t, err, "not 2-32 characters of a-z, 0-9 and inner dashes")
}
