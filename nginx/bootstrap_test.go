package nginx

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// heredocFile matches one file the bootstrap script writes.
var heredocFile = regexp.MustCompile(`(?s)base64 -d > (\S+)\.livecdn-new <<'LIVECDN_FILE'\n(.*?)\nLIVECDN_FILE\nput (\S+) (\S+) (\S+)\n`)

// A bring-your-own origin must get exactly what an origin droplet gets.
func TestOriginBootstrapWritesTheUserDataFiles(t *testing.T) {
	tl := requireTools(t)
	for _, spec := range []OriginSpec{exampleOrigin(), func() OriginSpec {
		s := exampleOrigin()
		s.Stream = exampleLadderStream()
		s.Record = true
		return s
	}(), func() OriginSpec {
		s := exampleOrigin()
		withOriginTLS(&s)
		return s
	}()} {
		script, err := RenderOriginBootstrap(spec)
		require.NoError(t, err)
		shellcheck(t, tl, "origin bootstrap", script)

		// The bootstrap writes what a droplet's user data writes, less the
		// metadata guard and the node exporter: a team's own server keeps
		// its own packet filter, and no cloud firewall of ours would keep
		// the exporter to admins.
		cfg, err := originCloudConfig(spec, false)
		require.NoError(t, err)
		raw, err := cfg.marshal()
		require.NoError(t, err)
		var ud userData
		require.NoError(t, yaml.Unmarshal([]byte(raw), &ud))
		require.NotContains(t, script, nftablesConfPath)
		require.NotContains(t, script, nodeExporterDefaultsPath)
		require.NotContains(t, script, "prometheus-node-exporter")
		droplet, err := RenderOriginUserData(spec)
		require.NoError(t, err)
		require.Contains(t, droplet, "path: "+nftablesConfPath)
		require.Contains(t, droplet, "path: "+nodeExporterDefaultsPath)

		written := heredocFile.FindAllStringSubmatch(script, -1)
		require.Len(t, written, len(ud.WriteFiles))
		for i, m := range written {
			want := ud.WriteFiles[i]
			content, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(m[2], "\n", ""))
			require.NoError(t, err)
			require.Equal(t, want.Path, m[1])
			require.Equal(t, want.Path, m[3])
			require.Equal(t, want.Content, string(content), want.Path)
			require.Equal(t, want.Owner, m[4])
			require.Equal(t, want.Permissions, m[5])
		}
		require.Contains(t, script, "for package in "+strings.Join(ud.Packages, " ")+"; do\n")
		require.True(t, strings.HasSuffix(script, "\n"+ApplyScriptPath+"\n"), "the apply step runs last")
	}
}

func TestOriginBootstrapValidatesLikeUserData(t *testing.T) {
	spec := exampleOrigin()
	spec.StreamKey = "short"
	script, err := RenderOriginBootstrap(spec)
	require.ErrorContains(t, err, "StreamKey")
	require.NotContains(t, err.Error(), "short")
	require.Empty(t, script)
}
