// Package acme obtains the one certificate a livecdn stack serves: DOMAIN and *.DOMAIN, ordered from an
// ACME CA (Let's Encrypt by default) by DNS-01 through Cloudflare, where the stack's zone lives. A
// wildcard can only be proven by DNS-01, and a DNS-01 proof needs no machine to exist yet, so the
// certificate is ready before `pulumi up`. It never answers HTTP-01 or TLS-ALPN-01. It imports no Pulumi
// package: `livecdn cert` decides what to store.
package acme

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/go-acme/lego/v4/certcrypto"
	"github.com/go-acme/lego/v4/certificate"
	"github.com/go-acme/lego/v4/challenge/dns01"
	"github.com/go-acme/lego/v4/lego"
	legolog "github.com/go-acme/lego/v4/log"
	"github.com/go-acme/lego/v4/providers/dns/cloudflare"
	"github.com/go-acme/lego/v4/registration"
)

// The ACME directories `--directory` names; any other https URL is taken as a directory too.
const (
	// StagingURL is Let's Encrypt's staging CA: generous rate limits, certificates no browser trusts.
	StagingURL = "https://acme-staging-v02.api.letsencrypt.org/directory"
	// ProductionURL is Let's Encrypt's CA, the default.
	ProductionURL = "https://acme-v02.api.letsencrypt.org/directory"
)

// TokenEnv is the variable the Cloudflare API token is read from: the one pulumi-cloudflare reads, so
// the token that manages the stack's DNS records also proves the names.
const TokenEnv = "CLOUDFLARE_API_TOKEN"

// DirectoryURL turns a --directory value (staging, production or an https URL) into a directory URL.
func DirectoryURL(choice string) (string, error) {
	switch choice {
	case "staging":
		return StagingURL, nil
	case "production", "":
		return ProductionURL, nil
	}
	u, err := url.Parse(choice)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("--directory %q is neither staging, production nor an https URL of an ACME directory; "+
			"use --directory staging to try, production (the default) for the event", choice)
	}
	return choice, nil
}

// Names are the names the certificate for domain covers: the domain itself and every name one label
// under it, which is every name a stack serves (blueprint's TLSNames).
func Names(domain string) []string { return []string{domain, "*." + domain} }

// TokenFromEnv reads the Cloudflare API token from TokenEnv, or says which token to make.
func TokenFromEnv() (string, error) {
	token := os.Getenv(TokenEnv)
	if token == "" {
		return "", errNoToken
	}
	return token, nil
}

var errNoToken = fmt.Errorf("%s is not set: create a Cloudflare API token with the permissions Zone:Read and "+
	"DNS:Edit on the stack's zone (My Profile > API Tokens) and export it as %s", TokenEnv, TokenEnv)

// Account is an ACME account as livecdn stores it (secret JSON under livecdn:acmeAccount): the key
// signs every request, the URI names the account at its CA, and an account only exists at the
// directory that registered it.
type Account struct {
	// Email is the contact given at registration; empty when none was given.
	Email string `json:"email"`
	// KeyPEM is the account's private key.
	KeyPEM string `json:"key"`
	// URI is the account's URL at the CA.
	URI string `json:"uri"`
	// Directory is the URL of the directory the account was registered with.
	Directory string `json:"directory"`
}

// ParseAccount reads an Account stored as JSON and checks that it can sign requests.
func ParseAccount(data string) (Account, error) {
	var a Account
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Account{}, fmt.Errorf("not an ACME account as livecdn stores it: %w", err)
	}
	if a.URI == "" || a.Directory == "" {
		return Account{}, errors.New("the ACME account has no uri or no directory")
	}
	if _, err := certcrypto.ParsePEMPrivateKey([]byte(a.KeyPEM)); err != nil {
		return Account{}, fmt.Errorf("the ACME account's key: %w", err)
	}
	return a, nil
}

// JSON is what livecdn stores.
func (a Account) JSON() (string, error) {
	b, err := json.Marshal(a)
	return string(b), err
}

// Request says what to order and how.
type Request struct {
	// Domain is the stack's domain (required); the certificate covers Names(Domain).
	Domain string
	// Directory is the ACME directory URL (required), e.g. from DirectoryURL.
	Directory string
	// Email is the contact registered with a new account (optional).
	Email string
	// Account is reused when it was registered at Directory (optional); otherwise a new account is
	// registered, agreeing to the CA's terms of service.
	Account *Account
	// CloudflareToken is the API token, with Zone:Read and DNS:Edit (required).
	CloudflareToken string
	// CloudflareBaseURL is the Cloudflare API (optional; default CLOUDFLARE_BASE_URL as lego reads it,
	// else the public API).
	CloudflareBaseURL string
	// HTTPClient talks to the ACME directory (optional; default lego's, which trusts the system roots
	// and LEGO_CA_CERTIFICATES).
	HTTPClient *http.Client
	// RecursiveNameservers (host:port) are asked whether the TXT records are visible and which zone a
	// name is in (optional; default the resolvers of /etc/resolv.conf). lego keeps them process-wide.
	RecursiveNameservers []string
	// OnlyRecursiveNameservers checks propagation at RecursiveNameservers instead of at the zone's
	// authoritative servers (optional; default false, lego's check of the authoritative servers).
	OnlyRecursiveNameservers bool
	// Log receives lego's progress (optional; default discarded). lego keeps it process-wide.
	Log io.Writer
}

// Result is what an order yields, all of it to be stored secret.
type Result struct {
	// ChainPEM is the certificate chain, leaf first.
	ChainPEM string
	// KeyPEM is the certificate's private key.
	KeyPEM string
	// Account ordered it; store it so the next order reuses it.
	Account Account
	// Registered says whether Account was registered by this order rather than reused.
	Registered bool
}

// Obtain orders a certificate for Names(req.Domain) by DNS-01 through Cloudflare and waits for it.
func Obtain(req Request) (Result, error) {
	switch {
	case req.Domain == "":
		return Result{}, errors.New("acme: no domain to certify")
	case req.Directory == "":
		return Result{}, errors.New("acme: no ACME directory")
	case req.CloudflareToken == "":
		return Result{}, errNoToken
	}
	logTo := req.Log
	if logTo == nil {
		logTo = io.Discard
	}
	legolog.Logger = stdlog.New(logTo, "", 0)

	user, reused, err := accountFor(req)
	if err != nil {
		return Result{}, err
	}
	cfg := lego.NewConfig(user)
	cfg.CADirURL = req.Directory
	cfg.UserAgent = "livecdn"
	cfg.Certificate.KeyType = certcrypto.EC256
	if req.HTTPClient != nil {
		cfg.HTTPClient = req.HTTPClient
	}
	client, err := lego.NewClient(cfg)
	if err != nil {
		return Result{}, fmt.Errorf("ACME directory %s: %w", req.Directory, err)
	}

	if reused {
		if _, err := client.Registration.QueryRegistration(); err != nil {
			return Result{}, fmt.Errorf("the stored ACME account %s at %s: %w; remove it with "+
				"pulumi config rm livecdn:acmeAccount and a new one is registered", user.account.URI, req.Directory, err)
		}
	} else {
		reg, err := client.Registration.Register(registration.RegisterOptions{TermsOfServiceAgreed: true})
		if err != nil {
			return Result{}, fmt.Errorf("register an ACME account at %s: %w", req.Directory, err)
		}
		user.reg = reg
		user.account.URI = reg.URI
	}

	provider, err := cloudflareProvider(req)
	if err != nil {
		return Result{}, err
	}
	var opts []dns01.ChallengeOption
	if len(req.RecursiveNameservers) > 0 {
		opts = append(opts, dns01.AddRecursiveNameservers(req.RecursiveNameservers))
	}
	if req.OnlyRecursiveNameservers {
		opts = append(opts, dns01.DisableAuthoritativeNssPropagationRequirement(), dns01.RecursiveNSsPropagationRequirement())
	}
	if err := client.Challenge.SetDNS01Provider(provider, opts...); err != nil {
		return Result{}, fmt.Errorf("DNS-01 through Cloudflare: %w", err)
	}

	res, err := client.Certificate.Obtain(certificate.ObtainRequest{Domains: Names(req.Domain), Bundle: true})
	if err != nil {
		return Result{}, fmt.Errorf("order a certificate for %s and *.%s at %s: %w", req.Domain, req.Domain, req.Directory, err)
	}
	return Result{ChainPEM: string(res.Certificate), KeyPEM: string(res.PrivateKey), Account: user.account, Registered: !reused}, nil
}

// cloudflareProvider is lego's Cloudflare DNS provider with one token for both the zone lookup and
// the TXT records.
func cloudflareProvider(req Request) (*cloudflare.DNSProvider, error) {
	cfg := cloudflare.NewDefaultConfig()
	cfg.AuthToken = req.CloudflareToken
	cfg.BaseURL = req.CloudflareBaseURL
	if cfg.BaseURL == "" {
		cfg.BaseURL = os.Getenv(cloudflare.EnvBaseURL)
	}
	p, err := cloudflare.NewDNSProviderConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("the Cloudflare DNS provider: %w", err)
	}
	return p, nil
}

// accountFor returns the account to order with: the stored one when it belongs to the directory, or a
// new key to register (reused false).
func accountFor(req Request) (*user, bool, error) {
	if a := req.Account; a != nil && a.Directory == req.Directory {
		key, err := certcrypto.ParsePEMPrivateKey([]byte(a.KeyPEM))
		if err != nil {
			return nil, false, fmt.Errorf("the stored ACME account's key: %w", err)
		}
		return &user{account: *a, key: key, reg: &registration.Resource{URI: a.URI}}, true, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("ACME account key: %w", err)
	}
	keyPEM := certcrypto.PEMEncode(key)
	return &user{account: Account{Email: req.Email, KeyPEM: string(keyPEM), Directory: req.Directory}, key: key}, false, nil
}

// user is lego's view of an account.
type user struct {
	account Account
	key     crypto.PrivateKey
	reg     *registration.Resource
}

func (u *user) GetEmail() string                        { return u.account.Email }
func (u *user) GetRegistration() *registration.Resource { return u.reg }
func (u *user) GetPrivateKey() crypto.PrivateKey        { return u.key }
