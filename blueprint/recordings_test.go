package blueprint

import (
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/nginx"
)

// TestRecordingsGuard runs the rendered guard against a stand-in origin
// status server: it lets the delete go on only when nothing is left on the
// origin, and otherwise says what is left and what to do.
func TestRecordingsGuard(t *testing.T) {
	_, err := exec.LookPath("curl")
	require.NoError(t, err, "the guard needs curl: apt-get install curl")
	// The guard asks the stat port of the address it is given.
	addr := netip.MustParseAddr("127.0.83.1")
	ln, err := net.Listen("tcp", net.JoinHostPort(addr.String(), strconv.Itoa(StatPort)))
	require.NoError(t, err)
	var body string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != nginx.RecordStatusPath {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	m := Machine{Name: OriginName, Role: RoleOrigin, Recordings: &config.Recordings{Bucket: "team-recordings", Prefix: "con"}}
	script, err := m.RecordingsGuard(addr)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "guard.sh")
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	out, err := exec.Command("shellcheck", "-s", "sh", path).CombinedOutput()
	require.NoError(t, err, "shellcheck: %s", out)

	run := func() (string, error) {
		cmd := exec.Command("/bin/sh", path)
		cmd.Env = append(os.Environ(), "LIVECDN_GUARD_WAIT=0")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	body = `{"updated":"2026-11-29T01:00:00Z","bucket":"team-recordings","prefix":"con","recording":0,"pending":0,"pendingBytes":0,"uploaded":12,"lastUploaded":"main-1795914625.flv","failures":0,"lastError":"","lastErrorAt":"","retryAt":""}`
	out2, err := run()
	require.NoError(t, err, out2)
	require.Contains(t, out2, "every chunk of the recording is in team-recordings/con")

	body = `{"updated":"2026-11-29T01:00:00Z","bucket":"team-recordings","prefix":"con","recording":1,"pending":2,"pendingBytes":900,"uploaded":3,"lastUploaded":"","failures":4,"lastError":"upload of main-1.flv failed: connection refused","lastErrorAt":"2026-11-29T01:00:00Z","retryAt":""}`
	out2, err = run()
	require.Error(t, err)
	require.Contains(t, out2, "refusing to delete origin (127.0.83.1)")
	require.Contains(t, out2, "1 chunk(s) still being recorded")
	require.Contains(t, out2, "2 closed chunk(s) not yet in the bucket; the last upload error: upload of main-1.flv failed: connection refused")
	require.Contains(t, out2, "pulumi state delete")

	require.NoError(t, srv.Close())
	out2, err = run()
	require.Error(t, err)
	require.Contains(t, out2, "cannot read http://127.0.83.1:8080/recordings.json")

	_, err = Machine{Name: "ams3-1", Role: RoleEdge}.RecordingsGuard(addr)
	require.ErrorContains(t, err, "an origin with recordings")
}
