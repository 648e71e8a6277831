package nginx

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRecordingsSpecErrorsNameTheField: every bad field is reported at
// once, with its value (never a key's) and what to use instead.
func TestRecordingsSpecErrorsNameTheField(t *testing.T) {
	spec := exampleOrigin()
	spec.Recordings = &Recordings{
		ChunkInterval: 1500 * time.Millisecond,
		Endpoint:      "ams3.digitaloceanspaces.com",
		Provider:      "AWS",
		Region:        "AMS3",
		Bucket:        "Team_Recordings",
		Prefix:        "../other-event",
		AccessKey:     "short",
		SecretKey:     "line\nbreak-secret-value",
	}
	_, err := RenderOriginConf(spec)
	for _, want := range []string{
		`Recordings: "set": needs Record`,
		`Recordings.ChunkInterval: "1.5s": use whole seconds from 5s to 1h0m0s`,
		`Recordings.Endpoint: "ams3.digitaloceanspaces.com": use the S3 API's base URL`,
		`Recordings.Provider: "AWS": use "DigitalOcean" or "Other"`,
		`Recordings.Region: "AMS3"`,
		`Recordings.Bucket: "Team_Recordings"`,
		`Recordings.Prefix: "../other-event"`,
		`Recordings.AccessKey: "(5 characters, not shown)"`,
		`Recordings.SecretKey: "(23 characters, not shown)"`,
	} {
		require.ErrorContains(t, err, want)
	}
	require.NotContains(t, err.Error(), "break-secret-value")

	_, err = RenderRecordScript(exampleOrigin())
	require.ErrorContains(t, err, "Recordings: \"nil\": the uploader needs the bucket")
}

// TestRecordScriptClosedAndRecover runs the shipped script's two file
// steps: nginx's exec_record_done moves only its own chunks, and recover
// refuses while nginx runs (its chunk is still open).
func TestRecordScriptClosedAndRecover(t *testing.T) {
	dir := t.TempDir()
	spec := exampleOrigin()
	spec.Record = true
	spec.Recordings = exampleRecordings()
	spec.Layout.RecordDir = filepath.Join(dir, "recordings")
	spec.Layout.LibDir = filepath.Join(dir, "lib")
	spec.Layout.PIDFile = filepath.Join(dir, "nginx.pid")
	spec.Layout.RcloneConfig = filepath.Join(dir, "rclone.conf")
	script, err := RenderRecordScript(spec)
	require.NoError(t, err)
	path := filepath.Join(dir, RecordScript)
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	closed := filepath.Join(spec.Layout.RecordDir, RecordClosedDir)
	require.NoError(t, os.MkdirAll(closed, 0o755))
	chunk := func(name string) string {
		p := filepath.Join(spec.Layout.RecordDir, name)
		require.NoError(t, os.WriteFile(p, []byte("FLV"), 0o644))
		return p
	}

	require.NoError(t, exec.Command(path, "closed", chunk("con-main-1795914625.flv")).Run())
	require.FileExists(t, filepath.Join(closed, "con-main-1795914625.flv"))
	out, err := exec.Command(path, "closed", "/etc/passwd").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "/etc/passwd is not a chunk in "+spec.Layout.RecordDir)

	open := chunk("con-main-1795914631.flv")
	// This test's own process stands in for a running nginx.
	pid := strconv.Itoa(os.Getpid())
	require.NoError(t, os.WriteFile(spec.Layout.PIDFile, []byte(pid+"\n"), 0o644))
	out, err = exec.Command(path, "recover").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "nginx is running (pid "+pid+")")
	require.FileExists(t, open)
	require.NoError(t, os.Remove(spec.Layout.PIDFile))
	require.NoError(t, exec.Command(path, "recover").Run())
	require.NoFileExists(t, open)
	require.FileExists(t, filepath.Join(closed, "con-main-1795914631.flv"))
}
