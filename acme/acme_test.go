package acme_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/acme"
	"github.com/livecdn/livecdn/acme/acmetest"
)

func request(env *acmetest.Env) acme.Request {
	return acme.Request{
		Domain:                   "live.example.org",
		Directory:                env.Directory,
		Email:                    "ops@example.org",
		CloudflareToken:          acmetest.Token,
		CloudflareBaseURL:        env.CloudflareURL,
		HTTPClient:               env.HTTPClient,
		RecursiveNameservers:     []string{env.Nameserver},
		OnlyRecursiveNameservers: true,
	}
}

// TestObtain orders from Pebble by DNS-01 through the Cloudflare double, then orders again with the
// account the first order registered.
func TestObtain(t *testing.T) {
	env := acmetest.Start(t, "example.org")

	first, err := acme.Obtain(request(env))
	require.NoError(t, err)
	require.True(t, first.Registered)
	require.Equal(t, 2, env.TXTCreated(), "one TXT record for live.example.org, one for *.live.example.org")
	require.Empty(t, env.TXTLeft(), "lego removes its TXT records")

	leaf := leafOf(t, first.ChainPEM)
	require.ElementsMatch(t, []string{"live.example.org", "*.live.example.org"}, leaf.DNSNames)
	for _, name := range []string{"live.example.org", "ingest.live.example.org", "ams3-1.live.example.org"} {
		require.NoError(t, leaf.VerifyHostname(name))
	}
	require.Error(t, leaf.VerifyHostname("a.b.live.example.org"), "a wildcard covers one label")
	_, err = tls.X509KeyPair([]byte(first.ChainPEM), []byte(first.KeyPEM))
	require.NoError(t, err)
	require.Greater(t, len(pemBlocks(first.ChainPEM)), 1, "the chain carries the issuer after the leaf")

	stored, err := first.Account.JSON()
	require.NoError(t, err)
	account, err := acme.ParseAccount(stored)
	require.NoError(t, err)
	require.Equal(t, first.Account, account)
	require.Equal(t, env.Directory, account.Directory)
	require.Equal(t, "ops@example.org", account.Email)
	require.NotEmpty(t, account.URI)

	req := request(env)
	req.Account = &account
	second, err := acme.Obtain(req)
	require.NoError(t, err)
	require.False(t, second.Registered, "the stored account is reused")
	require.Equal(t, account, second.Account)
	// A second certificate; the CA may have reused the first order's valid
	// authorizations (Let's Encrypt keeps them for 30 days), so how many TXT
	// records it took is the CA's choice.
	require.NotEqual(t, first.ChainPEM, second.ChainPEM)

	// An account registered elsewhere is no account at this directory: a new one is registered.
	elsewhere := account
	elsewhere.Directory = acme.StagingURL
	req.Account = &elsewhere
	third, err := acme.Obtain(req)
	require.NoError(t, err)
	require.True(t, third.Registered)
	require.NotEqual(t, account.URI, third.Account.URI)
}

func TestObtainRefusedToken(t *testing.T) {
	env := acmetest.Start(t, "example.org")
	req := request(env)
	req.CloudflareToken = "a-token-cloudflare-does-not-know"
	_, err := acme.Obtain(req)
	require.ErrorContains(t, err, "Authentication error")
	require.Equal(t, 0, env.TXTCreated())
}

func TestObtainWithoutToken(t *testing.T) {
	req := acme.Request{Domain: "live.example.org", Directory: acme.ProductionURL}
	_, err := acme.Obtain(req)
	require.ErrorContains(t, err, "CLOUDFLARE_API_TOKEN is not set")
	require.ErrorContains(t, err, "Zone:Read and DNS:Edit")
}

func TestTokenFromEnv(t *testing.T) {
	t.Setenv(acme.TokenEnv, "")
	_, err := acme.TokenFromEnv()
	require.ErrorContains(t, err, "export it as CLOUDFLARE_API_TOKEN")
	t.Setenv(acme.TokenEnv, "t0ken")
	token, err := acme.TokenFromEnv()
	require.NoError(t, err)
	require.Equal(t, "t0ken", token)
}

func TestDirectoryURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "", want: acme.ProductionURL},
		{in: "production", want: acme.ProductionURL},
		{in: "staging", want: acme.StagingURL},
		{in: "https://acme.example.net/directory", want: "https://acme.example.net/directory"},
		{in: "http://acme.example.net/directory", err: `--directory "http://acme.example.net/directory" is neither`},
		{in: "Staging", err: `--directory "Staging" is neither staging, production nor an https URL`},
		{in: "https://", err: "is neither"},
	} {
		got, err := acme.DirectoryURL(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got)
	}
}

func TestParseAccount(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{in: `not json`, err: "not an ACME account"},
		{in: `{"email":"","key":"","uri":"https://ca/acct/1","directory":"https://ca/dir","extra":1}`, err: "unknown field"},
		{in: `{"email":"","key":"","uri":"","directory":"https://ca/dir"}`, err: "no uri"},
		{in: `{"email":"","key":"nope","uri":"https://ca/acct/1","directory":"https://ca/dir"}`, err: "key"},
	} {
		_, err := acme.ParseAccount(tc.in)
		require.ErrorContains(t, err, tc.err, tc.in)
	}
}

func leafOf(t *testing.T, chain string) *x509.Certificate {
	t.Helper()
	blocks := pemBlocks(chain)
	require.NotEmpty(t, blocks)
	leaf, err := x509.ParseCertificate(blocks[0].Bytes)
	require.NoError(t, err)
	return leaf
}

func pemBlocks(s string) []*pem.Block {
	var blocks []*pem.Block
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return blocks
		}
		blocks = append(blocks, b)
	}
}
