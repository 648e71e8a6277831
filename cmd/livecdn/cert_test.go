package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/acme"
	"github.com/livecdn/livecdn/acme/acmetest"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/internal/throwaway"
)

// pulumiEnv names a Pulumi CLI to run instead of the one tools/engine-tools.sh builds into
// .cache/pulumi/bin (e.g. another worktree's).
const pulumiEnv = "LIVECDN_PULUMI"

// testPassphrase encrypts the test stacks' secrets.
const testPassphrase = "cert-test-passphrase"

func runCertForTest(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runForTest(t, runCert, args...)
}

// pulumiForTest puts a real Pulumi CLI on PATH with its own home, a file backend and a passphrase,
// and returns a directory holding Pulumi.yaml and Pulumi.animecon.yaml, the stack created in the
// backend, with the event ending two weeks from now.
func pulumiForTest(t *testing.T) (dir string) {
	t.Helper()
	bin := os.Getenv(pulumiEnv)
	if bin == "" {
		root, err := filepath.Abs(repoRoot)
		require.NoError(t, err)
		bin = filepath.Join(root, ".cache", "pulumi", "bin", "pulumi")
		// engine-tools.sh builds the pinned CLI once (minutes) and skips it when it is built.
		build := exec.Command("bash", "tools/engine-tools.sh")
		build.Dir = root
		out, err := build.CombinedOutput()
		require.NoError(t, err, "build the Pulumi CLI (or set %s to one): %s", pulumiEnv, out)
	}
	_, err := os.Stat(bin)
	require.NoError(t, err, "the Pulumi CLI (%s)", pulumiEnv)

	work := t.TempDir()
	t.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("PULUMI_HOME", filepath.Join(work, "home"))
	t.Setenv("PULUMI_BACKEND_URL", "file://"+filepath.Join(work, "state"))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	t.Setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
	t.Setenv("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
	require.NoError(t, os.MkdirAll(filepath.Join(work, "state"), 0o700))

	dir = filepath.Join(work, "project")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	project, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), project, 0o600))
	stack, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi.animecon.yaml"))
	require.NoError(t, err)
	end := regexp.MustCompile(`(?m)^    end: "[0-9-]+"`)
	require.True(t, end.Match(stack), "Pulumi.animecon.yaml has an event end")
	stack = end.ReplaceAll(stack, []byte(`    end: "`+time.Now().AddDate(0, 0, 14).Format(time.DateOnly)+`"`))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.animecon.yaml"), stack, 0o600))

	cmd := exec.Command("pulumi", "stack", "init", "animecon", "--non-interactive")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "pulumi stack init: %s", out)
	return dir
}

// stackFileOf reads the test stack file.
func stackFileOf(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "Pulumi.animecon.yaml"))
	require.NoError(t, err)
	return string(b)
}

// storedLeaf decrypts the stored certificate through the CLI and parses its leaf.
func storedLeaf(t *testing.T, pc pulumiConfig) *x509.Certificate {
	t.Helper()
	chain, err := pc.Get(context.Background(), config.KeyTLSCertificate)
	require.NoError(t, err)
	block, _ := pem.Decode([]byte(chain))
	require.NotNil(t, block, "a PEM chain is stored")
	leaf, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return leaf
}

// TestCert runs `livecdn cert` and `livecdn plan` against Pebble, the Cloudflare double and a real
// Pulumi CLI with a file backend, one stack through its whole life: first order, reuse, renewal, the
// team's own certificate, refusals that change nothing, and plan's checks.
func TestCert(t *testing.T) {
	dir := pulumiForTest(t)
	env := acmetest.Start(t, "example.org")
	t.Setenv(acme.TokenEnv, acmetest.Token)
	t.Setenv("CLOUDFLARE_BASE_URL", env.CloudflareURL)
	t.Setenv("LEGO_CA_CERTIFICATES", env.CAFile)
	pc := pulumiConfig{stack: "animecon", dir: dir}
	ctx := context.Background()
	order := []string{"--stack", "animecon", "--dir", dir, "--directory", env.Directory, "--dns-resolver", env.Nameserver}
	settings, err := config.LoadStackFile(filepath.Join(dir, "Pulumi.animecon.yaml"))
	require.NoError(t, err)
	eventEnd := settings.EventEnd

	out, _, err := runPlanForTest(t, "--stack", "animecon", "--dir", dir)
	require.NoError(t, err)
	require.Contains(t, out, "TLS:     no certificate stored yet for live.example.org and *.live.example.org: livecdn cert --stack animecon orders one")

	// The first order registers an account and stores all three values encrypted.
	out, _, err = runCertForTest(t, append(order, "--email", "ops@example.org")...)
	require.NoError(t, err)
	require.Equal(t, 2, env.TXTCreated(), "one order: a TXT record for each name")
	require.Contains(t, out, "names:   *.live.example.org, live.example.org\n")
	require.Contains(t, out, "issuer:  Pebble Intermediate CA")
	require.Contains(t, out, "(registered at "+env.Directory+")")
	require.Contains(t, out, "Next: pulumi up -s animecon\n")
	file := stackFileOf(t, dir)
	for _, key := range []string{config.KeyTLSCertificate, config.KeyTLSKey, config.KeyACMEAccount} {
		require.Regexp(t, `(?m)^  `+regexp.QuoteMeta(key)+`:\n    secure: \S+`, file, "%s is stored encrypted", key)
	}
	require.NotContains(t, file, "BEGIN", "no PEM in plain text")
	require.NotContains(t, file, env.Directory, "the account is not in plain text")
	first := storedLeaf(t, pc)
	require.ElementsMatch(t, []string{"live.example.org", "*.live.example.org"}, first.DNSNames)
	accountJSON, err := pc.Get(ctx, config.KeyACMEAccount)
	require.NoError(t, err)
	account, err := acme.ParseAccount(accountJSON)
	require.NoError(t, err)
	require.Equal(t, env.Directory, account.Directory)
	require.Equal(t, "ops@example.org", account.Email)
	key, err := pc.Get(ctx, config.KeyTLSKey)
	require.NoError(t, err)
	require.Contains(t, key, "PRIVATE KEY")

	// Run again: the stored certificate outlives the event by more than a week, so nothing is ordered.
	out, _, err = runCertForTest(t, order...)
	require.NoError(t, err)
	require.Contains(t, out, "already holds a certificate good until well past the event; keeping it")
	require.Equal(t, 2, env.TXTCreated(), "no new order")
	require.Equal(t, file, stackFileOf(t, dir), "nothing stored")

	// Another directory (production, after trying staging) is not served by the stored certificate.
	_, stderr, err := runCertForTest(t, "--stack", "animecon", "--dir", dir, "--directory", "https://127.0.0.1:1/dir")
	require.Error(t, err, "nothing listens there")
	require.Contains(t, stderr, "The stored certificate was ordered from "+env.Directory+", not https://127.0.0.1:1/dir; ordering a new one.")
	require.Equal(t, file, stackFileOf(t, dir), "nothing stored")

	out, _, err = runPlanForTest(t, "--stack", "animecon", "--dir", dir)
	require.NoError(t, err)
	require.Regexp(t, `TLS:     \*\.live\.example\.org, live\.example\.org from Pebble Intermediate CA \S+, valid until \S+\n`, out)

	// --renew orders again, with the stored account.
	out, _, err = runCertForTest(t, append(order, "--renew")...)
	require.NoError(t, err)
	// A CA may reuse the first order's valid authorizations (Let's Encrypt
	// keeps them for 30 days, Pebble sometimes), so a new order need not
	// write TXT records: the new serial is what proves it.
	require.Contains(t, out, account.URI+" (reused at "+env.Directory+")")
	renewed := storedLeaf(t, pc)
	require.NotEqual(t, first.SerialNumber, renewed.SerialNumber)

	// The team's own certificate.
	ordered := env.TXTCreated()
	ca, err := throwaway.NewCA("Team CA")
	require.NoError(t, err)
	own, err := ca.Issue([]string{"live.example.org", "*.live.example.org"}, eventEnd.AddDate(0, 2, 0))
	require.NoError(t, err)
	chainFile, keyFile := writeTemp(t, "chain.pem", own.Chain), writeTemp(t, "key.pem", own.Key)
	out, _, err = runCertForTest(t, "--stack", "animecon", "--dir", dir, "--chain", chainFile, "--key", keyFile)
	require.NoError(t, err)
	require.Contains(t, out, "issuer:  Team CA\n")
	require.NotContains(t, out, "account:")
	require.Equal(t, "Team CA", storedLeaf(t, pc).Issuer.CommonName)
	storedKey, err := pc.Get(ctx, config.KeyTLSKey)
	require.NoError(t, err)
	require.Equal(t, strings.TrimSpace(own.Key), strings.TrimSpace(storedKey))
	require.Equal(t, ordered, env.TXTCreated(), "nothing ordered")

	// Refusals store nothing.
	file = stackFileOf(t, dir)
	other, err := ca.Issue([]string{"other.example.org", "*.other.example.org"}, eventEnd.AddDate(0, 2, 0))
	require.NoError(t, err)
	_, _, err = runCertForTest(t, "--stack", "animecon", "--dir", dir,
		"--chain", writeTemp(t, "other.pem", other.Chain), "--key", writeTemp(t, "other.key", other.Key))
	require.ErrorContains(t, err, "does not cover ams3-1.live.example.org")
	require.ErrorContains(t, err, "livecdn cert --stack animecon")
	require.ErrorContains(t, err, "nothing is stored")
	_, _, err = runCertForTest(t, "--stack", "animecon", "--dir", dir, "--chain", chainFile,
		"--key", writeTemp(t, "wrong.key", other.Key))
	require.ErrorContains(t, err, "is not the private key of --chain")
	require.Equal(t, file, stackFileOf(t, dir), "nothing stored")

	// A certificate that lasts past the event, but by less than a week, is replaced.
	short, err := ca.Issue([]string{"live.example.org", "*.live.example.org"}, eventEnd.Add(3*24*time.Hour))
	require.NoError(t, err)
	_, _, err = runCertForTest(t, "--stack", "animecon", "--dir", dir,
		"--chain", writeTemp(t, "short.pem", short.Chain), "--key", writeTemp(t, "short.key", short.Key))
	require.NoError(t, err)
	_, stderr, err = runCertForTest(t, order...)
	require.NoError(t, err)
	require.Contains(t, stderr, "less than 7 days after the event; ordering a new one")
	require.Contains(t, storedLeaf(t, pc).Issuer.CommonName, "Pebble")
	ordered = env.TXTCreated()

	// plan refuses a stored certificate that ends before the event does (set past livecdn cert, which
	// would refuse it).
	expiring, err := ca.Issue([]string{"live.example.org", "*.live.example.org"}, eventEnd.Add(-24*time.Hour))
	require.NoError(t, err)
	require.NoError(t, pc.SetSecret(ctx, config.KeyTLSCertificate, expiring.Chain))
	require.NoError(t, pc.SetSecret(ctx, config.KeyTLSKey, expiring.Key))
	out, _, err = runPlanForTest(t, "--stack", "animecon", "--dir", dir)
	require.ErrorContains(t, err, "stack animecon: livecdn:tlsCertificate: the certificate expires on")
	require.ErrorContains(t, err, "before the event is over")
	require.ErrorContains(t, err, "livecdn cert --stack animecon")
	require.Contains(t, out, ": REFUSED\n")

	// Without the passphrase the certificate cannot be read: plan says so and goes on.
	require.NoError(t, os.Unsetenv("PULUMI_CONFIG_PASSPHRASE"))
	out, _, err = runPlanForTest(t, "--stack", "animecon", "--dir", dir)
	require.NoError(t, err)
	require.Contains(t, out, "TLS:     a certificate is stored for live.example.org and *.live.example.org but cannot be decrypted here")
	require.Contains(t, out, "PULUMI_CONFIG_PASSPHRASE")
	_, _, err = runCertForTest(t, order...)
	require.ErrorContains(t, err, "read the stored ACME account")
	require.ErrorContains(t, err, "PULUMI_CONFIG_PASSPHRASE")
	require.Equal(t, ordered, env.TXTCreated(), "nothing ordered")
}

// TestCertRefusesBadInput checks that bad flags and a stack without a domain are refused before
// anything is read or stored, each naming the flag, the value and the fix.
func TestCertRefusesBadInput(t *testing.T) {
	t.Setenv(acme.TokenEnv, "")
	chain := writeTemp(t, "chain.pem", "not used")
	animecon := []string{"--stack", "animecon", "--dir", repoRoot}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no domain", []string{"--stack", "dev", "--dir", repoRoot},
			"stack dev has no livecdn:domain, so there is nothing to certify: it serves plain HTTP"},
		{"no stack", nil, "--stack is required"},
		{"http directory", append(animecon, "--directory", "http://acme.example.net/dir"),
			`--directory "http://acme.example.net/dir" is neither staging, production nor an https URL`},
		{"bad email", append(animecon, "--email", "ops at example.org"),
			`--email "ops at example.org" is not an email address`},
		{"chain without key", append(animecon, "--chain", chain), "--chain and --key go together"},
		{"renew with chain", append(animecon, "--chain", chain, "--key", chain, "--renew"), "give one or the other"},
		{"directory with chain", append(animecon, "--chain", chain, "--key", chain, "--directory", "staging"),
			"with --chain and --key nothing is ordered"},
		{"bad resolver", append(animecon, "--dns-resolver", "1.1.1.1"), `--dns-resolver "1.1.1.1" is not HOST:PORT`},
		{"missing chain file", append(animecon, "--chain", chain+".missing", "--key", chain), "--chain: open"},
		{"no token", animecon, "CLOUDFLARE_API_TOKEN is not set: create a Cloudflare API token with the permissions Zone:Read and DNS:Edit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCertForTest(t, tc.args...)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestPlanPlainHTTP: a stack without a domain says what it gives up.
func TestPlanPlainHTTP(t *testing.T) {
	out, _, err := runPlanForTest(t, "--stack", "dev", "--dir", repoRoot)
	require.NoError(t, err)
	require.Contains(t, out, "TLS:     none: without livecdn:domain the stack serves plain HTTP, which a page on an HTTPS site cannot embed")
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}
