package components

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/livecdn/livecdn/blueprint"
)

// Secrets are the stack's secrets a machine's files embed, as the secret
// Outputs Pulumi's config gives the program.
type Secrets struct {
	// StreamKey is the publish key (edges embed the relay token derived
	// from it). Required.
	StreamKey pulumi.StringInput
	// Certificate and CertificateKey are the PEM chain and key the edges
	// (HTTPS) and the origin (RTMPS) serve. Optional: nil on a stack
	// without a domain, which serves plain HTTP.
	Certificate, CertificateKey pulumi.StringInput
	// SpacesAccessKey and SpacesSecretKey are the key the origin uploads
	// its recording with. Optional: nil on a stack without recordings.
	SpacesAccessKey, SpacesSecretKey pulumi.StringInput
}

// file renders one of m's files inside an ApplyT of the secrets and, for an
// edge, of the origin's address, so the text stays secret in the state and
// in previews. pick chooses the file.
func (s Secrets) file(m blueprint.Machine, originAddress pulumi.StringInput, pick func(blueprint.Files) string) pulumi.StringOutput {
	inputs := []any{s.StreamKey, orEmpty(s.Certificate), orEmpty(s.CertificateKey), orEmpty(originAddress),
		orEmpty(s.SpacesAccessKey), orEmpty(s.SpacesSecretKey)}
	return pulumi.ToSecret(pulumi.All(inputs...).ApplyT(func(in []any) (string, error) {
		c := blueprint.Cloud{StreamKey: in[0].(string), Certificate: in[1].(string), CertificateKey: in[2].(string),
			SpacesAccessKey: in[4].(string), SpacesSecretKey: in[5].(string)}
		switch addr := in[3].(string); {
		case m.BYO:
			c.OriginAddress = m.Address
		case addr != "":
			a, err := netip.ParseAddr(addr)
			if err != nil {
				return "", fmt.Errorf("%s %q: the origin's address %q: %w", m.Role, m.Name, addr, err)
			}
			c.OriginAddress = a
		}
		files, err := m.Render(c)
		return pick(files), err
	})).(pulumi.StringOutput)
}

// orEmpty stands in "" for an optional input left nil.
func orEmpty(in pulumi.StringInput) pulumi.StringInput {
	if in == nil {
		return pulumi.String("")
	}
	return in
}

// Each pick names one file of blueprint.Files.
func userDataOf(f blueprint.Files) string  { return f.UserData }
func bootstrapOf(f blueprint.Files) string { return f.Bootstrap }
