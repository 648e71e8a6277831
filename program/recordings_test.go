package program

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
)

const guardName = "origin-recordings-guard"

// recordingStack is the dev stack recording to the team's bucket.
func recordingStack(t *testing.T) stack {
	return committedStack(t, "dev").
		with(config.KeyStream, `{"name":"dev","record":true}`).
		with(config.KeyRecordings, `{"bucket":"team-recordings","region":"ams3","prefix":"dev","chunkMinutes":5}`)
}

func TestRecordingsUploadWithAKeyLimitedToTheTeamsBucket(t *testing.T) {
	st := recordingStack(t)
	r := deploy(t, st, true)
	require.NoError(t, r.err)

	// The bucket is looked up, never declared: destroying the event cannot delete it.
	require.Empty(t, r.cloud.ofType("digitalocean:index/spacesBucket:SpacesBucket"))
	key := r.cloud.named(t, spacesKeyType, "recordings-key")
	assert.Equal(t, "livecdn-livecdn-dev-recordings", key.Inputs["name"].StringValue())
	assert.Equal(t, resource.NewPropertyValue([]any{map[string]any{"bucket": "team-recordings", "permission": "readwrite"}}),
		key.Inputs["grants"], "readwrite on the team's bucket only")

	// The origin's user data carries that key and uploads there.
	s, err := config.Load(st.values, st.secretKeys)
	require.NoError(t, err)
	bp, err := blueprint.New(s)
	require.NoError(t, err)
	want, err := bp.Origin.Render(blueprint.Cloud{
		OriginAddress: netip.MustParseAddr(mockReservedIP), StreamKey: testStreamKey,
		SpacesAccessKey: mockSpacesAccessKey, SpacesSecretKey: mockSpacesSecretKey,
	})
	require.NoError(t, err)
	require.Contains(t, want.UserData, "access_key_id = "+mockSpacesAccessKey)
	require.Contains(t, want.UserData, "endpoint = https://ams3.digitaloceanspaces.com")
	require.Contains(t, want.NginxConf, "record_interval 300s;")
	assertSecretString(t, want.UserData, r.cloud.named(t, dropletType, "origin-droplet").Inputs["userData"], "origin user data")

	assert.Equal(t, map[string]any{
		"bucket": "team-recordings", "region": "ams3", "prefix": "dev",
		"endpoint": "https://ams3.digitaloceanspaces.com", "statusUrl": "http://" + mockReservedIP + ":8080/recordings.json",
	}, r.outputs["recordings"])
}

// TestRecordingsGuardIsDeletedBeforeTheOrigin proves the ordering that makes
// `pulumi destroy` wait for the last chunk: Pulumi deletes a resource before
// everything it depends on, and the guard depends on the origin droplet (its
// address is in the guard's script, and DependsOn says so), while nothing of
// the origin depends on the guard.
func TestRecordingsGuardIsDeletedBeforeTheOrigin(t *testing.T) {
	r := deploy(t, recordingStack(t), true)
	require.NoError(t, r.err)
	guard := r.cloud.named(t, readyType, guardName)
	droplet := r.cloud.named(t, dropletType, "origin-droplet")
	require.True(t, slices.ContainsFunc(guard.Deps, func(urn string) bool {
		return strings.HasSuffix(urn, "$"+dropletType+"::origin-droplet")
	}), "the guard depends on the droplet, so it is deleted before it: %v", guard.Deps)
	for _, dep := range droplet.Deps {
		require.NotContains(t, dep, guardName)
	}

	// Nothing to do on create; the delete asks the droplet itself, not the
	// reserved IP, which a replacement has already moved to the new droplet.
	require.False(t, guard.Inputs.HasValue("create"))
	script := guard.Inputs["delete"].StringValue()
	require.Regexp(t, `status='http://198\.51\.100\.\d+:8080/recordings\.json'`, script, "the droplet's own address (the mock's)")
	require.NotContains(t, script, mockReservedIP)
	// A new droplet gets a guard of its own: the old one, with the old
	// address, is deleted with the old droplet.
	require.Equal(t, droplet.ID, guard.Inputs["triggers"].ArrayValue()[0].StringValue())
}

func TestRecordingsNeedTheTeamsBucketToExist(t *testing.T) {
	st := recordingStack(t).with(config.KeyRecordings, `{"bucket":"`+missingBucket+`","region":"ams3","prefix":"dev"}`)
	r := deploy(t, st, true)
	require.ErrorContains(t, r.err, "recordings bucket no-such-bucket in ams3")
	require.ErrorContains(t, r.err, "create it once, outside any event stack")
}

func TestRecordOnlyOnTheOriginHasNoKeyAndNoGuard(t *testing.T) {
	r := deploy(t, committedStack(t, "dev").with(config.KeyStream, `{"name":"dev","record":true}`), true)
	require.NoError(t, r.err)
	require.Empty(t, r.cloud.ofType(spacesKeyType))
	for _, c := range r.cloud.ofType(readyType) {
		require.NotEqual(t, guardName, c.Name)
	}
	require.NotContains(t, r.outputs, "recordings")
}

// TestBringYourOwnOriginUploadsWithTheSameKey: the team's own origin gets
// the uploader through its bootstrap script, and no guard: `pulumi destroy`
// leaves the team's machine, and its chunks, alone.
func TestBringYourOwnOriginUploadsWithTheSameKey(t *testing.T) {
	st := recordingStack(t).
		with(config.KeyOrigin, `{"byo":{"address":"100.64.1.1","hostKey":"`+testHostKey+`"}}`).
		with(config.KeyOriginSSHPrivateKey, testSSHKey)
	st.secretKeys = append(st.secretKeys, config.KeyOriginSSHPrivateKey)
	r := deploy(t, st, true)
	require.NoError(t, r.err)
	r.cloud.named(t, spacesKeyType, "recordings-key")
	for _, c := range r.cloud.ofType(readyType) {
		require.NotEqual(t, guardName, c.Name)
	}
	script := r.cloud.named(t, commandType, "origin-configure").Inputs["stdin"]
	require.True(t, script.IsSecret())
	require.Contains(t, script.SecretValue().Element.StringValue(), "/etc/livecdn/rclone.conf")
	require.Contains(t, script.SecretValue().Element.StringValue(), "livecdn-recordings.service")
}
