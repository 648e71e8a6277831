package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/blueprint"
)

// TestRecordingsRefusesBadInput names the flag or key, the bad value and
// the fix; nothing here reaches a bucket.
func TestRecordingsRefusesBadInput(t *testing.T) {
	t.Setenv("SPACES_ACCESS_KEY_ID", "")
	t.Setenv("SPACES_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no stack", nil, "--stack is required, e.g. --stack animecon (or all of --endpoint, --bucket and --prefix)"},
		{"stack and endpoint", []string{"--stack", "dev", "--dir", "../..", "--endpoint", "http://127.0.0.1:9"},
			"--stack reads the bucket from the stack file: leave out --endpoint, --bucket and --prefix"},
		{"stack without recordings", []string{"--stack", "dev", "--dir", "../.."},
			"stack dev has no livecdn:recordings: its recording, if any, stayed on the origin's disk"},
		{"not an mp4", []string{"--endpoint", "http://127.0.0.1:9", "--bucket", "b", "--prefix", "p", "--out", "event.mkv"},
			`--out "event.mkv": name an .mp4 file`},
		{"no key", []string{"--endpoint", "http://127.0.0.1:9", "--bucket", "b", "--prefix", "p", "--list"},
			"no key for the bucket: set SPACES_ACCESS_KEY_ID and SPACES_SECRET_ACCESS_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runRecordings(context.Background(), tc.args, &stdout, &stderr)
			require.ErrorContains(t, err, tc.want)
			require.Empty(t, stdout.String())
		})
	}
}

// TestRenderShowsTheRecordingsUploader renders a stack with recordings: the
// origin's user data carries the uploader and the placeholder key, the
// README names the placeholder, and the declared resources hold the key
// and the guard but never a bucket.
func TestRenderShowsTheRecordingsUploader(t *testing.T) {
	dir := t.TempDir()
	stackFile, err := os.ReadFile("../../Pulumi.animecon.yaml")
	require.NoError(t, err)
	stackFile = append(stackFile, []byte("  livecdn:recordings:\n    bucket: team-recordings\n    region: ams3\n    prefix: animecon-2026\n")...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.rec.yaml"), stackFile, 0o644))
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	require.Zero(t, run(context.Background(), []string{"render", "--stack", "rec", "--dir", dir, "--out", out}, &stdout, &stderr), stderr.String())

	userData, err := os.ReadFile(filepath.Join(out, "origin", "user-data.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(userData), "access_key_id = "+blueprint.PlaceholderSpacesAccessKey)
	require.Contains(t, string(userData), "remote=livecdn:team-recordings/animecon-2026")
	readme, err := os.ReadFile(filepath.Join(out, "README.txt"))
	require.NoError(t, err)
	require.Contains(t, string(readme), blueprint.PlaceholderSpacesAccessKey+" and "+blueprint.PlaceholderSpacesSecretKey)
	resources, err := os.ReadFile(filepath.Join(out, "cloud", "resources.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(resources), "type: digitalocean:index/spacesKey:SpacesKey")
	require.Contains(t, string(resources), "name: origin-recordings-guard")
	require.NotContains(t, string(resources), "spacesBucket:SpacesBucket")
}
