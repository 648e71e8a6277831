package blueprint

import (
	"net/netip"
	"os/exec"
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
