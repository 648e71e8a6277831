package rehearsal

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func seedConfig() VMConfig {
	return VMConfig{
		Name:              "origin",
		Address:           netip.MustParsePrefix("198.18.0.10/24"),
		Gateway:           gateway,
		DNS:               gateway,
		UserData:          "#cloud-config\nruncmd: [ [sh, -c, \"echo hi > /root/hi\"] ]\n",
		InstanceID:        "droplet-101",
		SSHAuthorizedKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample livecdn-rehearsal"},
	}
}

func TestSeedGolden(t *testing.T) {
	cfg := seedConfig()
	s, err := renderSeed(cfg, stableMAC("52", cfg.Name))
	require.NoError(t, err)
	require.Equal(t, cfg.UserData, s.UserData, "user data goes in byte for byte")
	checkGolden(t, "origin.meta-data", s.MetaData)
	checkGolden(t, "origin.network-config", s.NetworkConfig)

	// What cloud-init will read back.
	var nc struct {
		Version   int
		Ethernets map[string]struct {
			Match       map[string]string
			SetName     string `yaml:"set-name"`
			Addresses   []string
			Gateway4    string
			Nameservers struct{ Addresses []string }
		}
	}
	require.NoError(t, yaml.Unmarshal([]byte(s.NetworkConfig), &nc))
	eth := nc.Ethernets["eth0"]
	require.Equal(t, 2, nc.Version)
	require.Equal(t, stableMAC("52", "origin"), eth.Match["macaddress"])
	require.Equal(t, []string{"198.18.0.10/24"}, eth.Addresses)
	require.Equal(t, "198.18.0.1", eth.Gateway4)
	require.Equal(t, []string{"198.18.0.1"}, eth.Nameservers.Addresses)

	// cloud-init's YAML 1.1 would read a bare all-digit MAC as a base-60
	// number, and instance-ids such as "on" or "0x10" as other types.
	cfg.InstanceID = "on"
	s, err = renderSeed(cfg, "52:54:00:12:34:56")
	require.NoError(t, err)
	require.Contains(t, s.NetworkConfig, `macaddress: "52:54:00:12:34:56"`)
	require.Contains(t, s.MetaData, `instance-id: "on"`)
}

func TestStableMAC(t *testing.T) {
	require.Equal(t, stableMAC("52", "origin"), stableMAC("52", "origin"))
	require.NotEqual(t, stableMAC("52", "origin"), stableMAC("52", "ams3-1"))
	require.Regexp(t, `^52:54:00(:[0-9a-f]{2}){3}$`, stableMAC("52", "origin"))
	require.Regexp(t, `^02(:[0-9a-f]{2}){5}$`, stableMAC("02", "bridge"))
}

func TestSeedISO(t *testing.T) {
	for _, tool := range []string{"genisoimage", "isoinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian: genisoimage)", tool)
		}
	}
	cfg := seedConfig()
	cfg.TrustedCAs = []string{"-----BEGIN CERTIFICATE-----\nMIIBexample\n-----END CERTIFICATE-----\n"}
	s, err := renderSeed(cfg, stableMAC("52", cfg.Name))
	require.NoError(t, err)
	dir := t.TempDir()
	iso := filepath.Join(dir, "seed.iso")
	require.NoError(t, s.writeISO(context.Background(), filepath.Join(dir, "seed"), iso))

	// NoCloud finds the seed by its label and reads the files by name.
	out, err := exec.Command("isoinfo", "-d", "-i", iso).Output()
	require.NoError(t, err)
	require.Contains(t, string(out), "Volume id: cidata")
	for name, want := range map[string]string{"user-data": s.UserData, "meta-data": s.MetaData, "network-config": s.NetworkConfig, "vendor-data": s.VendorData} {
		got, err := exec.Command("isoinfo", "-R", "-i", iso, "-x", "/"+name).Output()
		require.NoError(t, err)
		require.Equal(t, want, string(got), name)
	}
}

func TestGenerateSSHKey(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("needs ssh-keygen (Debian: openssh-client)")
	}
	dir := filepath.Join(t.TempDir(), "ssh")
	pub, priv, err := GenerateSSHKey(dir)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(pub, "ssh-ed25519 "), pub)
	fi, err := os.Stat(priv)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "ssh refuses a private key others can read")

	again, priv2, err := GenerateSSHKey(dir)
	require.NoError(t, err)
	require.Equal(t, pub, again, "an existing key is reused")
	require.Equal(t, priv, priv2)
}

// TestSeedVendorDataTrustsCAs: the CAs a VM trusts travel as vendor-data
// cloud-init's own schema accepts, in the seed ISO next to the user data,
// which stays byte for byte what the droplet gets.
func TestSeedVendorDataTrustsCAs(t *testing.T) {
	cfg := seedConfig()
	s, err := renderSeed(cfg, stableMAC("52", cfg.Name))
	require.NoError(t, err)
	require.Empty(t, s.VendorData, "no CA, no vendor-data")

	ca := "-----BEGIN CERTIFICATE-----\nMIIBexample\n-----END CERTIFICATE-----\n"
	cfg.TrustedCAs = []string{ca}
	s, err = renderSeed(cfg, stableMAC("52", cfg.Name))
	require.NoError(t, err)
	require.Equal(t, cfg.UserData, s.UserData)
	require.True(t, strings.HasPrefix(s.VendorData, "#cloud-config\n"), s.VendorData)
	var vd struct {
		CACerts struct{ Trusted []string } `yaml:"ca_certs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(s.VendorData), &vd))
	require.Equal(t, []string{ca}, vd.CACerts.Trusted)

	if _, err := exec.LookPath("cloud-init"); err != nil {
		t.Skip("needs cloud-init (Debian: cloud-init) for its schema")
	}
	file := filepath.Join(t.TempDir(), "vendor-data")
	require.NoError(t, os.WriteFile(file, []byte(s.VendorData), 0o644))
	out, err := exec.Command("cloud-init", "schema", "--config-file", file).CombinedOutput()
	require.NoError(t, err, "%s", out)
}
