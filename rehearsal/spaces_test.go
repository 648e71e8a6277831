package rehearsal

import (
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
)

func loadStack(t *testing.T, name string) *config.Settings {
	t.Helper()
	s, err := config.LoadStackFile("../Pulumi." + name + ".yaml")
	require.NoError(t, err)
	return s
}

// TestStandInCA: a CA exists when the stack's certificate or a Spaces
// bucket needs one, and the certificate it makes covers the stack's names.
func TestStandInCA(t *testing.T) {
	o := Options{Stack: "dev", Settings: loadStack(t, "dev")}
	ca, err := o.standInCA()
	require.NoError(t, err)
	require.Nil(t, ca, "plain HTTP and no bucket: nothing to sign")

	o.Settings.Stream.Record = true
	o.Settings.Recordings = &config.Recordings{Bucket: "team-recordings", Region: "ams3", Prefix: "dev", ChunkMinutes: 1}
	ca, err = o.standInCA()
	require.NoError(t, err)
	require.NotNil(t, ca, "the Spaces stand-in's certificate needs one")
	require.Empty(t, o.Certificate, "no domain, no certificate")

	o = Options{Stack: "animecon", Settings: loadStack(t, "animecon")}
	ca, err = o.standInCA()
	require.NoError(t, err)
	require.NotNil(t, ca)
	block, _ := pem.Decode([]byte(o.Certificate))
	require.NotNil(t, block)
	leaf, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	for _, name := range []string{o.Settings.Domain, "ams3." + o.Settings.Domain, "ingest." + o.Settings.Domain} {
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Pool()})
		require.NoError(t, err, name)
	}

	given := o.Certificate
	o.Settings.Recordings = nil
	ca, err = o.standInCA()
	require.NoError(t, err)
	require.Nil(t, ca, "a given certificate and no bucket: nothing to sign")
	require.Equal(t, given, o.Certificate, "a given certificate is kept")

	// The names the stand-in answers to: the region's endpoint and the
	// bucket's virtual host.
	rec := &config.Recordings{Bucket: "team-recordings", Region: "sgp1", Prefix: "con", ChunkMinutes: 10}
	sp, err := newSpaces(rec, gateway)
	require.NoError(t, err)
	var names []string
	for _, r := range sp.records(gateway) {
		names = append(names, r.Name)
	}
	require.Equal(t, []string{"sgp1.digitaloceanspaces.com", "team-recordings.sgp1.digitaloceanspaces.com"}, names)
	require.Equal(t, "https://sgp1.digitaloceanspaces.com", sp.info.Endpoint)
}
