package blueprint

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/internal/throwaway"
)

func TestCheckCertificate(t *testing.T) {
	st := loadStack(t, "animecon") // live.example.org; the event ends 2026-12-13
	ca, err := throwaway.NewCA("blueprint test")
	require.NoError(t, err)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC)
	issue := func(notAfter time.Time, names ...string) string {
		leaf, err := ca.Issue(names, notAfter)
		require.NoError(t, err)
		return leaf.Chain
	}

	require.Contains(t, st.TLSNames(), "ingest.live.example.org")
	require.Contains(t, st.TLSNames(), "sgp1-2.live.example.org")
	require.Contains(t, st.TLSNames(), "live.example.org")

	c, err := st.CheckCertificate(issue(end.Add(24*time.Hour), "live.example.org", "*.live.example.org"), now)
	require.NoError(t, err)
	require.Equal(t, []string{"*.live.example.org", "live.example.org"}, c.Names)
	require.Equal(t, "blueprint test", c.Issuer)

	for name, tc := range map[string]struct {
		chain string
		want  []string
	}{
		"wildcard only": {issue(end.AddDate(0, 1, 0), "*.live.example.org"),
			[]string{"does not cover live.example.org (it names *.live.example.org)", "livecdn cert --stack"}},
		"another domain": {issue(end.AddDate(0, 1, 0), "live.example.net", "*.live.example.net"),
			[]string{"does not cover ams3-1.live.example.org"}},
		"expires during the event": {issue(end.Add(-time.Hour), "live.example.org", "*.live.example.org"),
			[]string{"expires on 2026-12-13T23:00:00Z, before the event is over (livecdn:event.end ends 2026-12-13)"}},
		"expired": {issue(now.Add(-time.Hour), "live.example.org", "*.live.example.org"),
			[]string{"expired on 2026-11-30T23:00:00Z"}},
		"not PEM": {"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
			[]string{"livecdn:tlsCertificate: no PEM CERTIFICATE block"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := st.CheckCertificate(tc.chain, now)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}
