package nginx

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// relayMarker installs the script in a temp dir and returns a runner.
func relayMarker(t *testing.T) (dir string, run func(args ...string) *exec.Cmd) {
	t.Helper()
	dir = t.TempDir()
	script := filepath.Join(t.TempDir(), RelayMarker)
	require.NoError(t, os.WriteFile(script, []byte(RelayMarkerScript()), 0o755))
	return dir, func(args ...string) *exec.Cmd { return exec.Command(script, args...) }
}

func TestRelayMarkerScriptIsCleanShell(t *testing.T) {
	shellcheck(t, requireTools(t), RelayMarker, RelayMarkerScript())
}

func TestRelayMarkerNeedsAHeldRelayAndFreshMedia(t *testing.T) {
	t.Parallel()
	marker := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, "show.live"))
		return err == nil
	}

	t.Run("a refused retry never marks", func(t *testing.T) {
		t.Parallel()
		dir, run := relayMarker(t)
		// An old playlist from before the outage is still on disk.
		require.NoError(t, os.WriteFile(filepath.Join(dir, "show.m3u8"), nil, 0o644))
		up := run("up", dir, "show", "5")
		require.NoError(t, up.Start())
		require.NoError(t, run("down", dir, "show", "0").Run())
		// Media resumes later on another attachment: not this one's to mark.
		require.NoError(t, os.WriteFile(filepath.Join(dir, "show.m3u8"), []byte("#EXTM3U\n"), 0o644))
		require.NoError(t, up.Wait())
		require.False(t, marker(dir))
	})
	t.Run("a held relay without media never marks", func(t *testing.T) {
		t.Parallel()
		dir, run := relayMarker(t)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "show.m3u8"), nil, 0o644))
		require.NoError(t, run("up", dir, "show", "2").Run())
		require.False(t, marker(dir))
	})
	t.Run("media after attaching marks, detaching clears", func(t *testing.T) {
		t.Parallel()
		dir, run := relayMarker(t)
		up := run("up", dir, "show", "10")
		require.NoError(t, up.Start())
		time.Sleep(1200 * time.Millisecond) // the first fragment takes a while
		require.NoError(t, os.WriteFile(filepath.Join(dir, "show.m3u8"), []byte("#EXTM3U\n"), 0o644))
		require.NoError(t, up.Wait())
		require.True(t, marker(dir))
		require.NoError(t, run("down", dir, "show", "0").Run())
		require.False(t, marker(dir))
		require.NoFileExists(t, filepath.Join(dir, "show.attach"))
	})
	t.Run("usage", func(t *testing.T) {
		t.Parallel()
		_, run := relayMarker(t)
		out, err := run("up").CombinedOutput()
		require.Error(t, err)
		require.Contains(t, string(out), "usage:")
	})
}
