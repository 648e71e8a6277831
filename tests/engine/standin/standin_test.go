package main

import (
	"context"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const dropletType = "digitalocean:index/droplet:Droplet"

func droplet(userData string) resource.PropertyMap {
	return resource.PropertyMap{
		"name":     resource.NewProperty("livecdn-animecon-ams3-1"),
		"region":   resource.NewProperty("ams3"),
		"size":     resource.NewProperty("s-4vcpu-8gb-amd"),
		"sshKeys":  resource.NewProperty([]resource.PropertyValue{resource.NewProperty("3b:16")}),
		"userData": resource.MakeSecret(resource.NewProperty(userData)),
	}
}

func TestDiffMarksWhatTheRealProviderReplaces(t *testing.T) {
	s := newStandin("digitalocean")
	diff := func(olds, news resource.PropertyMap) plugin.DiffResult {
		t.Helper()
		d, err := s.Diff(context.Background(), plugin.DiffRequest{Type: tokens.Type(dropletType), OldInputs: olds, NewInputs: news})
		require.NoError(t, err)
		return d
	}

	for _, tc := range []struct {
		name string
		edit func(resource.PropertyMap)
		want map[string]plugin.PropertyDiff
	}{
		{"nothing", func(resource.PropertyMap) {}, nil},
		{"user data replaces", func(m resource.PropertyMap) {
			m["userData"] = resource.MakeSecret(resource.NewProperty("#cloud-config\nb"))
		},
			map[string]plugin.PropertyDiff{"userData": {Kind: plugin.DiffUpdateReplace, InputDiff: true}}},
		{"size resizes in place", func(m resource.PropertyMap) { m["size"] = resource.NewProperty("c-4") },
			map[string]plugin.PropertyDiff{"size": {Kind: plugin.DiffUpdate, InputDiff: true}}},
		{"an unknown region replaces", func(m resource.PropertyMap) { m["region"] = resource.MakeComputed(resource.NewProperty("")) },
			map[string]plugin.PropertyDiff{"region": {Kind: plugin.DiffUpdateReplace, InputDiff: true}}},
		{"added tags update", func(m resource.PropertyMap) { m["tags"] = resource.NewProperty([]resource.PropertyValue{}) },
			map[string]plugin.PropertyDiff{"tags": {Kind: plugin.DiffAdd, InputDiff: true}}},
		{"secretness alone is no change", func(m resource.PropertyMap) { m["userData"] = resource.NewProperty("#cloud-config\na") }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			news := droplet("#cloud-config\na")
			tc.edit(news)
			d := diff(droplet("#cloud-config\na"), news)
			if tc.want == nil {
				assert.Equal(t, plugin.DiffNone, d.Changes)
				return
			}
			assert.Equal(t, plugin.DiffSome, d.Changes)
			assert.Equal(t, tc.want, d.DetailedDiff)
		})
	}
}

func TestCreateInventsRepeatableOutputs(t *testing.T) {
	s := newStandin("digitalocean")
	ctx := context.Background()
	urn := resource.URN("urn:pulumi:animecon::livecdn::livecdn:index:EdgeNode$" + dropletType + "::ams3-1-droplet")
	create := func(in resource.PropertyMap, preview bool) plugin.CreateResponse {
		t.Helper()
		r, err := s.Create(ctx, plugin.CreateRequest{URN: urn, Type: tokens.Type(dropletType), Properties: in, Preview: preview})
		require.NoError(t, err)
		return r
	}

	a, b := create(droplet("a"), false), create(droplet("a"), false)
	assert.Equal(t, a, b, "the same resource and inputs give the same ID and addresses")
	assert.Regexp(t, `^\d{9}$`, string(a.ID))
	assert.Regexp(t, `^198\.1[89]\.\d+\.\d+$`, a.Properties["ipv4Address"].StringValue())
	assert.Equal(t, droplet("a")["userData"], a.Properties["userData"], "inputs are echoed, secrets kept")
	assert.NotEqual(t, a.ID, create(droplet("b"), false).ID, "a replacement gets a new droplet")

	p := create(droplet("a"), true)
	assert.Empty(t, p.ID)
	assert.True(t, p.Properties["ipv4Address"].IsComputed(), "a preview cannot know the address")
}

func TestCheckRefusesTypesWithoutADecision(t *testing.T) {
	r, err := newStandin("cloudflare").Check(context.Background(), plugin.CheckRequest{Type: "cloudflare:index/zone:Zone"})
	require.NoError(t, err)
	require.Len(t, r.Failures, 1)
	assert.Contains(t, r.Failures[0].Reason, "does not know cloudflare:index/zone:Zone")
}

func TestPluginFolderNamesTheVersion(t *testing.T) {
	v, err := installedVersion("/home/.pulumi/plugins/resource-digitalocean-v4.78.1/pulumi-resource-digitalocean", "digitalocean")
	require.NoError(t, err)
	assert.Equal(t, "4.78.1", v.String())
	_, err = installedVersion("/tmp/standin", "digitalocean")
	assert.ErrorContains(t, err, "pulumi plugin install resource digitalocean")

	pkg, err := packageOf("/x/pulumi-resource-command")
	require.NoError(t, err)
	assert.Equal(t, "command", pkg)
	_, err = packageOf("/x/pulumi-resource-aws")
	assert.ErrorContains(t, err, "cloudflare, command, digitalocean")
}
