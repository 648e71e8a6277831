package image

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// tools are the programs a build runs, directly or through mmdebstrap, with
// the Debian package that provides each.
var tools = []struct{ program, pkg string }{
	{"mmdebstrap", "mmdebstrap"},
	{"apt-get", "apt"},
	{"dpkg", "dpkg"},
	{"gpgv", "gpgv"},
	{"chroot", "coreutils"},
	{"mount", "mount"},
	{"mkfs.ext4", "e2fsprogs"},
	{"dpkg-scanpackages", "dpkg-dev"},
}

// CheckTools reports, in one error naming each missing program and the Debian
// package that provides it, what Ensure needs to build an image, so a test can
// skip with the apt-get line that fixes it. Building also needs root:
// mmdebstrap's root mode gives the tree the owners mkfs.ext4 copies.
func CheckTools() error {
	var problems, pkgs []string
	for _, t := range tools {
		if _, err := exec.LookPath(t.program); err != nil {
			problems = append(problems, fmt.Sprintf("%s (package %s)", t.program, t.pkg))
			pkgs = append(pkgs, t.pkg)
		}
	}
	if _, err := os.Stat(keyring); err != nil {
		problems = append(problems, fmt.Sprintf("%s (package debian-archive-keyring)", keyring))
		pkgs = append(pkgs, "debian-archive-keyring")
	}
	var msgs []string
	if len(problems) > 0 {
		msgs = append(msgs, fmt.Sprintf("missing %s: apt-get install %s", strings.Join(problems, ", "), strings.Join(pkgs, " ")))
	}
	if os.Geteuid() != 0 {
		msgs = append(msgs, "building needs root (mmdebstrap --mode=root); run as root")
	}
	if len(msgs) > 0 {
		return errors.New("image: " + strings.Join(msgs, "; "))
	}
	return nil
}
