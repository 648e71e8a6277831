package blueprint

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadyChecksPassShellcheck: the scripts `pulumi up` runs on the
// operator's machine are plain POSIX sh. Their behaviour is proven against
// booting VMs by the rehearsal (tests/machines), which runs them.
func TestReadyChecksPassShellcheck(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not installed: make deps")
	}
	st := loadStack(t, "animecon")
	origin, edge := netip.MustParseAddr("203.0.113.10"), netip.MustParseAddr("203.0.113.20")
	for _, m := range st.Machines() {
		script, err := m.ReadyCheck(edge, origin)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(script, "#!/bin/sh\n"), m.Name)
		cmd := exec.Command(shellcheck, "-s", "sh", "-")
		cmd.Stdin = strings.NewReader(script)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s:\n%s\n%s", m.Name, out, script)
	}
	script, err := st.Edges[0].ReadyCheck(edge, origin)
	require.NoError(t, err)
	// HTTPS under the edge's name, asked at its address: the name may not
	// point there yet.
	require.Contains(t, script, "url='https://ams3-1.live.example.org/healthz'")
	require.Contains(t, script, "--resolve 'ams3-1.live.example.org:443:203.0.113.20'")
	require.Contains(t, script, "stat='http://203.0.113.10:8080/stat'")
	require.Contains(t, script, "= 'ams3-1'")

	_, err = st.Edges[0].ReadyCheck(edge, netip.Addr{})
	require.ErrorContains(t, err, "edge ams3-1: ready check")
}

// TestEdgeReadyCheckReadsHTTP1AndHTTP2Headers runs an edge's check with a
// curl that answers as nginx does over HTTP/1.1 (X-LiveCDN-Edge) and over
// HTTP/2 (x-livecdn-edge: header names in lowercase), with no publisher on
// the origin: both are ready. The rehearsal found the HTTP/2 case, where a
// check matching the name's case waited forever for a serving edge.
func TestEdgeReadyCheckReadsHTTP1AndHTTP2Headers(t *testing.T) {
	st := loadStack(t, "animecon")
	script, err := st.Edges[0].ReadyCheck(netip.MustParseAddr("203.0.113.20"), netip.MustParseAddr("203.0.113.10"))
	require.NoError(t, err)
	for name, headers := range map[string]string{
		"HTTP/1.1": "HTTP/1.1 503 Service Temporarily Unavailable\r\nServer: nginx\r\nX-LiveCDN-Edge: ams3-1\r\n\r\n",
		"HTTP/2":   "HTTP/2 503 \r\nserver: nginx\r\nx-livecdn-edge: ams3-1\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			bin := t.TempDir()
			// -D - prints the headers; the stat page has no publisher.
			curl := "#!/bin/sh\ncase \"$*\" in\n*/healthz*) printf '" + strings.ReplaceAll(headers, "\r\n", `\r\n`) +
				"' ;;\n*/stat*) echo '<rtmp><server><application><name>live</name></application></server></rtmp>' ;;\nesac\n"
			require.NoError(t, os.WriteFile(filepath.Join(bin, "curl"), []byte(curl), 0o755))
			cmd := exec.Command("sh", "-c", script)
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Contains(t, string(out), "ams3-1: ready (https://ams3-1.live.example.org/healthz answered 503)")
		})
	}
}
