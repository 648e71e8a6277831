package program

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
)

const testSSHKey = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----"

// A bring-your-own origin is configured over ssh with the bootstrap script
// on stdin; no origin droplet, reserved IP or firewall is declared, and the
// edges pull from the server's own address.
// testHostKey stands in for the server's ed25519 host key.
const testHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

func TestBringYourOwnOriginIsConfiguredOverSSH(t *testing.T) {
	for _, tc := range []struct {
		name, origin, user, run string
		port                    float64
	}{
		{"as root", `{"byo":{"address":"100.64.1.1","hostKey":"` + testHostKey + `"}}`, "root", "sh -s", 22},
		{"with sudo", `{"byo":{"address":"100.64.1.1","user":"stream","port":2222,"hostKey":"` + testHostKey + `"}}`, "stream", "sudo -n sh -s", 2222},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := committedStack(t, "dev").with(config.KeyOrigin, tc.origin).with(config.KeyOriginSSHPrivateKey, testSSHKey)
			st.secretKeys = append(st.secretKeys, config.KeyOriginSSHPrivateKey)
			r := deploy(t, st, true)
			require.NoError(t, r.err)
			s, err := config.Load(st.values, st.secretKeys)
			require.NoError(t, err)

			require.Empty(t, r.cloud.ofType(reservedIPType))
			for _, d := range r.cloud.ofType(dropletType) {
				require.NotEqual(t, "origin-droplet", d.Name)
			}
			cmd := r.cloud.named(t, commandType, "origin-configure")
			require.True(t, cmd.Inputs["connection"].IsSecret(), "the connection holds the ssh key, so it is secret")
			conn := cmd.Inputs["connection"].SecretValue().Element.ObjectValue()
			assert.Equal(t, "100.64.1.1", conn["host"].StringValue())
			assert.Equal(t, tc.user, conn["user"].StringValue())
			assert.Equal(t, tc.port, conn["port"].NumberValue())
			assert.Equal(t, testSSHKey, conn["privateKey"].StringValue())
			assert.Equal(t, testHostKey, conn["hostKey"].StringValue(), "the connection verifies the pinned host key")
			assert.Equal(t, tc.run, cmd.Inputs["create"].StringValue())
			assert.Equal(t, tc.run, cmd.Inputs["update"].StringValue())
			bp, err := blueprint.New(s)
			require.NoError(t, err)
			want, err := bp.Origin.Render(blueprint.Cloud{OriginAddress: s.Origin.BYO.Address, StreamKey: testStreamKey})
			require.NoError(t, err)
			assertSecretString(t, want.Bootstrap, cmd.Inputs["stdin"], "the bootstrap script")
			assert.NotContains(t, cmd.Inputs["create"].StringValue(), testStreamKey, "the key never goes on a command line")

			edge := r.cloud.named(t, dropletType, "ams3-1-droplet")
			assert.Contains(t, edge.Inputs["userData"].SecretValue().Element.StringValue(), "pull rtmp://100.64.1.1:1935/")
			assert.Equal(t, "rtmp://100.64.1.1:1935/live/dev", r.outputs["ingestUrl"])
		})
	}
}
