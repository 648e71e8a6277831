package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/livecdn/livecdn/acme"
	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
)

// reuseMargin is how long past the event's end a stored certificate must stay valid to be reused
// rather than replaced. Let's Encrypt issues at most 5 certificates per exact set of names per 7 days,
// so a certificate that is good until well past the event is kept, and running `livecdn cert` again
// costs nothing.
const reuseMargin = 7 * 24 * time.Hour

// runCert is `livecdn cert`: it makes sure the stack holds a certificate for DOMAIN and *.DOMAIN that
// outlives the event, ordering one by ACME DNS-01 through Cloudflare or storing the team's own, and
// stores it encrypted in the stack through the Pulumi CLI.
func runCert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := addStackFlags(fs, "certify")
	directory := fs.String("directory", "production", "ACME directory: staging, production or an https `URL`")
	email := fs.String("email", "", "contact `ADDR` registered with a new ACME account (optional)")
	renew := fs.Bool("renew", false, "order a new certificate even when the stored one is still good")
	chainFile := fs.String("chain", "", "store the team's own certificate chain from `FILE` (PEM, leaf first) instead of ordering one")
	keyFile := fs.String("key", "", "the private key (PEM) of --chain, from `FILE`")
	resolver := fs.String("dns-resolver", "", "ask this resolver (`HOST:PORT`) for the zone and the TXT records "+
		"instead of the system's resolvers and the zone's authoritative servers")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: livecdn cert --stack NAME [--dir DIR] [--directory staging|production|URL] [--email ADDR] [--renew]")
		fmt.Fprintln(stderr, "                    [--dns-resolver HOST:PORT]")
		fmt.Fprintln(stderr, "       livecdn cert --stack NAME [--dir DIR] --chain FILE --key FILE")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Orders a certificate for the stack's domain and *.domain by ACME DNS-01 through Cloudflare")
		fmt.Fprintf(stderr, "(token from %s, with Zone:Read and DNS:Edit), or stores the team's own, encrypted\n", acme.TokenEnv)
		fmt.Fprintln(stderr, "in the stack through the Pulumi CLI. A stored certificate good until a week past the event is kept.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	own := *chainFile != "" || *keyFile != ""
	switch {
	case own && (*chainFile == "" || *keyFile == ""):
		return errors.New("--chain and --key go together: give the certificate chain and its private key, or neither to order one")
	case own && *renew:
		return errors.New("--renew orders a new certificate from ACME, --chain and --key store the team's own: give one or the other")
	case own && (isSet(fs, "directory") || *email != "" || *resolver != ""):
		return errors.New("--directory, --email and --dns-resolver are for ordering; with --chain and --key nothing is ordered: drop them")
	}
	dirURL, err := acme.DirectoryURL(*directory)
	if err != nil {
		return err
	}
	if *email != "" {
		if addr, err := mail.ParseAddress(*email); err != nil || addr.Address != *email {
			return fmt.Errorf("--email %q is not an email address; give a bare address such as ops@example.org, or leave it out", *email)
		}
	}
	if *resolver != "" {
		if _, _, err := net.SplitHostPort(*resolver); err != nil {
			return fmt.Errorf("--dns-resolver %q is not HOST:PORT; give e.g. 1.1.1.1:53", *resolver)
		}
	}
	name, settings, err := stack.load(fs)
	if err != nil {
		return err
	}
	if !settings.HTTPS() {
		return fmt.Errorf("stack %s has no %s, so there is nothing to certify: it serves plain HTTP. Set the viewers' "+
			"hostname first with pulumi config set -s %s %s live.example.org (a name in your Cloudflare zone)",
			name, config.KeyDomain, name, config.KeyDomain)
	}
	st, err := blueprint.New(settings)
	if err != nil {
		return fmt.Errorf("stack %s: %w", name, err)
	}
	pc := pulumiConfig{stack: *stack.stack, dir: *stack.dir}
	c := certCommand{name: name, st: st, pc: pc, stdout: stdout, stderr: stderr, now: time.Now()}

	if own {
		return c.storeOwn(ctx, *chainFile, *keyFile)
	}
	account, err := c.storedAccount(ctx)
	if err != nil {
		return err
	}
	if !*renew && settings.TLS.Certificate.IsSet() {
		reused, err := c.reuse(ctx, dirURL, account)
		if err != nil || reused {
			return err
		}
	}
	req := acme.Request{Domain: settings.Domain, Directory: dirURL, Email: *email, Account: account, Log: stderr}
	if *resolver != "" {
		req.RecursiveNameservers, req.OnlyRecursiveNameservers = []string{*resolver}, true
	}
	return c.order(ctx, req)
}

// certCommand is one run of `livecdn cert` on a loaded stack.
type certCommand struct {
	name           string
	st             *blueprint.Stack
	pc             pulumiConfig
	stdout, stderr io.Writer
	now            time.Time
}

// storedAccount decrypts and reads the stored ACME account; nil when none is stored.
func (c certCommand) storedAccount(ctx context.Context) (*acme.Account, error) {
	stored := c.st.Settings.TLS.ACMEAccount
	if !stored.IsSet() {
		return nil, nil
	}
	data, err := c.pc.reveal(ctx, config.KeyACMEAccount, stored)
	if err != nil {
		return nil, fmt.Errorf("read the stored ACME account: %w", err)
	}
	account, err := acme.ParseAccount(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; remove it with pulumi config rm -s %s %s and a new account is registered",
			config.KeyACMEAccount, err, c.name, config.KeyACMEAccount)
	}
	return &account, nil
}

// reuse reports whether the stored certificate serves the stack until well past the event, and came
// from the directory asked for (a staging certificate covers the names too, but nothing trusts it); it
// says so. When it does not, it says why a new one is ordered.
func (c certCommand) reuse(ctx context.Context, directory string, account *acme.Account) (bool, error) {
	chain, err := c.pc.reveal(ctx, config.KeyTLSCertificate, c.st.Settings.TLS.Certificate)
	if err != nil {
		return false, fmt.Errorf("read the stored certificate: %w", err)
	}
	cert, err := checkCertificate(c.st, c.name, chain, c.now)
	switch {
	case account != nil && account.Directory != directory:
		fmt.Fprintf(c.stderr, "The stored certificate was ordered from %s, not %s; ordering a new one.\n",
			account.Directory, directory)
		return false, nil
	case err != nil:
		fmt.Fprintf(c.stderr, "The stored certificate cannot serve the stack, ordering a new one: %v\n", err)
		return false, nil
	case cert.NotAfter.Before(c.st.Settings.EventEnd.Add(reuseMargin)):
		fmt.Fprintf(c.stderr, "The stored certificate expires on %s, less than %d days after the event; ordering a new one.\n",
			cert.NotAfter.UTC().Format(time.DateOnly), reuseMargin/(24*time.Hour))
		return false, nil
	}
	fmt.Fprintf(c.stdout, "Stack %s already holds a certificate good until well past the event; keeping it "+
		"(--renew orders a new one; Let's Encrypt allows 5 per week for the same names).\n", c.name)
	return true, c.summary(cert, "")
}

// order orders a certificate (acme reuses req.Account when it belongs to req.Directory), checks it and
// stores certificate, key and account.
func (c certCommand) order(ctx context.Context, req acme.Request) error {
	token, err := acme.TokenFromEnv()
	if err != nil {
		return err
	}
	req.CloudflareToken = token
	fmt.Fprintf(c.stderr, "Ordering a certificate for %s from %s (DNS-01 through Cloudflare)...\n",
		strings.Join(acme.Names(req.Domain), " and "), req.Directory)
	res, err := acme.Obtain(req)
	if err != nil {
		return err
	}
	cert, err := checkCertificate(c.st, c.name, res.ChainPEM, c.now)
	if err != nil {
		// Nothing is stored: a certificate that ends before the event is no use, and storing it would
		// cost the working one. It happens when the event is further away than the CA's lifetime.
		return fmt.Errorf("the CA issued a certificate that cannot serve the stack, so nothing is stored: %w "+
			"(order again within the CA's certificate lifetime before %s)", err, config.KeyEvent+".end")
	}
	account, err := res.Account.JSON()
	if err != nil {
		return fmt.Errorf("encode the ACME account: %w", err)
	}
	if err := c.store(ctx, res.ChainPEM, res.KeyPEM, account); err != nil {
		return err
	}
	registered := "reused"
	if res.Registered {
		registered = "registered"
	}
	return c.summary(cert, fmt.Sprintf("%s (%s at %s)", res.Account.URI, registered, res.Account.Directory))
}

// storeOwn stores the team's own certificate after checking it serves the stack and matches its key.
func (c certCommand) storeOwn(ctx context.Context, chainFile, keyFile string) error {
	chain, err := os.ReadFile(chainFile)
	if err != nil {
		return fmt.Errorf("--chain: %w", err)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("--key: %w", err)
	}
	cert, err := checkCertificate(c.st, c.name, string(chain), c.now)
	if err != nil {
		return fmt.Errorf("--chain %s: %w; nothing is stored", chainFile, err)
	}
	if _, err := tls.X509KeyPair(chain, key); err != nil {
		// The error names neither file's content, so no key material is echoed.
		return fmt.Errorf("--key %s is not the private key of --chain %s (%v): give the key the certificate was "+
			"issued for; nothing is stored", keyFile, chainFile, err)
	}
	if err := c.store(ctx, string(chain), string(key), ""); err != nil {
		return err
	}
	return c.summary(cert, "")
}

// store writes the key, then the certificate, then the account (when there is one), encrypted.
func (c certCommand) store(ctx context.Context, chain, key, account string) error {
	values := []struct{ key, value string }{
		{config.KeyTLSKey, key}, {config.KeyTLSCertificate, chain}, {config.KeyACMEAccount, account},
	}
	var stored []string
	for _, v := range values {
		if v.value == "" {
			continue
		}
		if err := c.pc.SetSecret(ctx, v.key, v.value); err != nil {
			if len(stored) > 0 {
				return fmt.Errorf("stored %s but not %s: %w; run livecdn cert again once that is fixed",
					strings.Join(stored, ", "), v.key, err)
			}
			return fmt.Errorf("nothing stored: %w", err)
		}
		stored = append(stored, v.key)
	}
	return nil
}

// summary prints what the stack now holds and what comes next.
func (c certCommand) summary(cert blueprint.Certificate, account string) error {
	ew := &errWriter{w: c.stdout}
	ew.printf("Stack %s holds (encrypted) in %s and %s:\n", c.name, config.KeyTLSCertificate, config.KeyTLSKey)
	ew.printf("  names:   %s\n", strings.Join(cert.Names, ", "))
	ew.printf("  issuer:  %s\n", cert.Issuer)
	ew.printf("  expires: %s\n", cert.NotAfter.UTC().Format(time.RFC3339))
	if account != "" {
		ew.printf("  account: %s in %s\n", account, config.KeyACMEAccount)
	}
	ew.printf("Next: pulumi up -s %s\n", c.name)
	return ew.err
}

// checkCertificate is blueprint's CheckCertificate, its fix spelled with the stack's name.
func checkCertificate(st *blueprint.Stack, name, chain string, now time.Time) (blueprint.Certificate, error) {
	cert, err := st.CheckCertificate(chain, now)
	if err != nil {
		// CheckCertificate's only wrapped error is x509's parse error, which no caller inspects.
		return cert, errors.New(strings.ReplaceAll(err.Error(), "<stack>", name))
	}
	return cert, nil
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
