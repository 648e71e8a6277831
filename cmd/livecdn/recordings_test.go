package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
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
