package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// recipe is the version of the build steps in build.go. Bump it whenever they
// change in a way the other key inputs do not capture (a new mmdebstrap
// option, another file edited in the root fs): cached images of the old recipe
// are then left alone and a new one is built.
const recipe = 1

// suite and the sources below are Debian 12 as the host's
// /etc/apt/sources.list.d/debian.sources configures it; DigitalOcean's
// debian-12-x64 tracks the same three suites.
const (
	suite = "bookworm"
	arch  = "amd64"
	// rootFSSize is the ext4 file system's size: room for the repository's
	// packages once installed, and for logs and HLS files; the image is sparse.
	rootFSSize = "3G"
)

var sources = []string{
	"deb http://deb.debian.org/debian bookworm main",
	"deb http://deb.debian.org/debian bookworm-updates main",
	"deb http://deb.debian.org/debian-security bookworm-security main",
}

// keyring verifies the mirror's Release files; debian-archive-keyring ships
// it. Naming it keeps the build independent of the host's trusted.gpg.d.
const keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// basePackages are installed in the image on top of minbase: what a cloud
// droplet boots with before its user data runs. procps is there because the
// user data runs sysctl, nftables for the droplets' firewall work, locales
// because cloud-init's locale module needs en_US.UTF-8 generated, sudo for
// cloud-init's default user, e2fsprogs for fsck and cloud-init's resizefs,
// resolvconf so the nameservers of a static network-config reach
// /etc/resolv.conf (ifupdown alone ignores dns-nameservers).
var basePackages = []string{
	"ca-certificates",
	"cloud-init",
	"curl",
	"dbus",
	"e2fsprogs",
	"ifupdown",
	"iproute2",
	"isc-dhcp-client",
	"kmod",
	"linux-image-cloud-amd64",
	"locales",
	"netbase",
	"nftables",
	"openssh-server",
	"procps",
	"resolvconf",
	"sudo",
	"systemd-sysv",
	"udev",
}

// BasePackages returns the packages installed in every image on top of
// Debian's minbase variant, sorted. User data may rely on them without
// listing them in Spec.Packages.
func BasePackages() []string {
	return slices.Clone(basePackages)
}

// customizeHooks run in mmdebstrap after the packages are installed. Debian's
// locale-gen ignores its arguments: the locale must be enabled in
// /etc/locale.gen first; grep makes a changed locale.gen fail the build
// instead of shipping an image whose cloud-init locale module errors.
var customizeHooks = []string{
	`sed -i 's/^# *\(en_US.UTF-8 UTF-8\)$/\1/' "$1/etc/locale.gen"`,
	`grep -qx 'en_US.UTF-8 UTF-8' "$1/etc/locale.gen"`,
	`chroot "$1" locale-gen`,
}

// packageName is Debian policy's package name syntax. Checking it keeps a
// stray "-o..." or "foo=1.2" from reaching apt-get's command line.
var packageName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// normalise sorts and deduplicates package names, so the order user data
// happens to list them in does not change the image.
func normalise(pkgs []string) []string {
	out := slices.Clone(pkgs)
	for i, p := range out {
		out[i] = strings.TrimSpace(p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s Spec) validate() error {
	if len(s.Packages) == 0 {
		return errors.New("image: Spec.Packages is empty: list the packages the user data installs (e.g. nginx)")
	}
	var bad []string
	for _, p := range normalise(s.Packages) {
		if !packageName.MatchString(p) {
			bad = append(bad, fmt.Sprintf("%q", p))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("image: Spec.Packages: %s: not Debian package names (lowercase letters, digits, + - .; no versions)", strings.Join(bad, ", "))
	}
	return nil
}

// keyInputs is everything that changes the result, hashed as JSON.
type keyInputs struct {
	Recipe   int               `json:"recipe"`
	Suite    string            `json:"suite"`
	Arch     string            `json:"arch"`
	Sources  []string          `json:"sources"`
	Base     []string          `json:"base"`
	Repo     []string          `json:"repo"`
	Hooks    []string          `json:"hooks"`
	Files    map[string]string `json:"files"`
	FSSize   string            `json:"fsSize"`
	RepoHost string            `json:"repoHost"`
}

// Key returns the cache key of spec: the hex SHA-256 (first 16 bytes) of the
// recipe version, the Debian suites and mirror, the base and repository
// package lists and the files written into the image. It does not include the
// date: what the mirror serves changes over time, and an image keyed by its
// inputs is rebuilt only when they change (or when its cache dir is removed).
func Key(spec Spec) (string, error) {
	if err := spec.validate(); err != nil {
		return "", err
	}
	files := map[string]string{}
	for _, f := range overlayFiles() {
		files[f.path] = fmt.Sprintf("%o:%s", f.mode, f.content)
	}
	b, err := json.Marshal(keyInputs{
		Recipe:   recipe,
		Suite:    suite,
		Arch:     arch,
		Sources:  sources,
		Base:     normalise(basePackages),
		Repo:     normalise(spec.Packages),
		Hooks:    customizeHooks,
		Files:    files,
		FSSize:   rootFSSize,
		RepoHost: RepoHost,
	})
	if err != nil {
		return "", fmt.Errorf("image: encode key inputs: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16]), nil
}
