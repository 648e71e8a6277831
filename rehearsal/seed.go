package rehearsal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// seed is the NoCloud data source of one VM: what DigitalOcean's metadata
// service gives cloud-init on a droplet.
type seed struct {
	UserData      string
	MetaData      string
	NetworkConfig string
	// VendorData is what the cloud adds to the user data: only the CAs the
	// VM trusts (VMConfig.TrustedCAs), or nothing.
	VendorData string
}

// vendorData is NoCloud's vendor-data: a cloud-config that cloud-init merges
// under the user data's (cc_ca_certs, in its init stage, before the user
// data's packages and services).
type vendorData struct {
	CACerts struct {
		Trusted []string `yaml:"trusted"`
	} `yaml:"ca_certs"`
}

// quoted is a string that YAML always double-quotes. cloud-init reads YAML
// 1.1 (PyYAML), where an unquoted MAC such as 52:54:00:12:34:56 is a
// base-60 integer and "on" or "no" are booleans; yaml.v3 writes YAML 1.2
// and would leave them bare.
type quoted string

func (q quoted) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Value: string(q)}, nil
}

func quoteAll(s []string) []quoted {
	q := make([]quoted, len(s))
	for i, v := range s {
		q[i] = quoted(v)
	}
	return q
}

// metaData is NoCloud's meta-data. public-keys is where cloud-init reads a
// data source's SSH keys from, as it reads DigitalOcean's.
type metaData struct {
	InstanceID    quoted   `yaml:"instance-id"`
	LocalHostname quoted   `yaml:"local-hostname"`
	PublicKeys    []quoted `yaml:"public-keys,omitempty"`
}

// networkConfig is cloud-init's network config version 2 for one NIC.
type networkConfig struct {
	Version   int                         `yaml:"version"`
	Ethernets map[string]networkEthernets `yaml:"ethernets"`
}

type networkEthernets struct {
	Match struct {
		MACAddress quoted `yaml:"macaddress"`
	} `yaml:"match"`
	SetName   quoted   `yaml:"set-name"`
	Addresses []quoted `yaml:"addresses"`
	// Gateway4/6 rather than routes: Debian's image renders network config
	// for ifupdown (cloud-init's ENI renderer), which turns a gateway into
	// `gateway` (run with ip) but routes into `route add`, a net-tools
	// command the image does not have.
	Gateway4    quoted `yaml:"gateway4,omitempty"`
	Gateway6    quoted `yaml:"gateway6,omitempty"`
	Nameservers struct {
		Addresses []quoted `yaml:"addresses"`
	} `yaml:"nameservers"`
}

// renderSeed renders the seed of a validated VMConfig with the VM's MAC.
func renderSeed(cfg VMConfig, mac string) (seed, error) {
	md, err := yaml.Marshal(metaData{InstanceID: quoted(cfg.InstanceID), LocalHostname: quoted(cfg.Name), PublicKeys: quoteAll(cfg.SSHAuthorizedKeys)})
	if err != nil {
		return seed{}, fmt.Errorf("render meta-data: %w", err)
	}
	eth := networkEthernets{SetName: "eth0", Addresses: []quoted{quoted(cfg.Address.String())}}
	eth.Match.MACAddress = quoted(mac)
	if cfg.Gateway.IsValid() {
		if cfg.Gateway.Is4() {
			eth.Gateway4 = quoted(cfg.Gateway.String())
		} else {
			eth.Gateway6 = quoted(cfg.Gateway.String())
		}
	}
	if cfg.DNS.IsValid() {
		eth.Nameservers.Addresses = []quoted{quoted(cfg.DNS.String())}
	}
	nc, err := yaml.Marshal(networkConfig{Version: 2, Ethernets: map[string]networkEthernets{"eth0": eth}})
	if err != nil {
		return seed{}, fmt.Errorf("render network-config: %w", err)
	}
	s := seed{UserData: cfg.UserData, MetaData: string(md), NetworkConfig: string(nc)}
	if len(cfg.TrustedCAs) > 0 {
		var vd vendorData
		vd.CACerts.Trusted = cfg.TrustedCAs
		b, err := yaml.Marshal(vd)
		if err != nil {
			return seed{}, fmt.Errorf("render vendor-data: %w", err)
		}
		s.VendorData = "#cloud-config\n" + string(b)
	}
	return s, nil
}

// writeISO writes the seed as an ISO 9660 image labelled "cidata", the
// label cloud-init's NoCloud looks for on every block device.
func (s seed) writeISO(ctx context.Context, dir, iso string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]string{"user-data": s.UserData, "meta-data": s.MetaData, "network-config": s.NetworkConfig}
	if s.VendorData != "" {
		files["vendor-data"] = s.VendorData
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	if err := run(ctx, "genisoimage", "-quiet", "-output", iso, "-volid", "cidata", "-joliet", "-rock", dir); err != nil {
		return fmt.Errorf("make seed ISO: %w", err)
	}
	return nil
}

// GenerateSSHKey returns an ed25519 key pair in dir (id_ed25519 and
// id_ed25519.pub), creating it unless it exists: pub is the public key for
// VMConfig.SSHAuthorizedKeys, privPath the file for NetworkConfig.SSHKey.
// The private key has no passphrase; keep dir out of the repository.
func GenerateSSHKey(dir string) (pub, privPath string, err error) {
	privPath = filepath.Join(dir, "id_ed25519")
	if _, err := os.Stat(privPath); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", "", fmt.Errorf("ssh key: %w", err)
		}
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "livecdn-rehearsal", "-f", privPath).CombinedOutput()
		if err != nil {
			return "", "", fmt.Errorf("ssh key: ssh-keygen: %w: %s", err, strings.TrimSpace(string(out)))
		}
	} else if err != nil {
		return "", "", fmt.Errorf("ssh key: %w", err)
	}
	b, err := os.ReadFile(privPath + ".pub")
	if err != nil {
		return "", "", fmt.Errorf("ssh key: %w", err)
	}
	return strings.TrimSpace(string(b)), privPath, nil
}
