// Package image builds and caches what a rehearsal boots: a Debian 12 root file
// system that behaves like DigitalOcean's debian-12-x64 for cloud-init, its
// kernel and initrd, and an offline apt repository holding exactly the packages
// the machines' user data installs and the image lacks.
//
// Rehearsals run the shipped user data unchanged, so the image must let
// cloud-init's `packages:` succeed with no internet: its only apt source is
// http://apt.rehearsal.invalid/, which the harness serves from Image.Repo.
// See README.md for what differs from DigitalOcean's image.
//
// Building needs root (mmdebstrap --mode=root) and Debian's mirror; a warm
// cache costs one stat and one small read.
package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// RepoHost is the name the image's apt sources use for the local repository;
// the harness resolves it (dnsmasq) to an address in the rehearsal namespace
// and serves Image.Repo over plain HTTP on port 80 there, at the URL path "/".
const RepoHost = "apt.rehearsal.invalid"

// Spec is everything an image depends on; its hash keys the cache.
type Spec struct {
	// Packages are the Debian packages the machines' user data installs with
	// cloud-init's `packages:` (e.g. nginx, libnginx-mod-rtmp, ffmpeg). The
	// repository holds them with every dependency the base image lacks.
	// Required, at least one; plain package names only (no versions).
	Packages []string `json:"packages"`
}

// Image is a built, cached image. All paths are absolute and read-only by
// convention: VMs boot from a qcow2 overlay over RootFS.
type Image struct {
	// Kernel and Initrd are vmlinuz and initrd.img of linux-image-cloud-amd64,
	// extracted from the root fs.
	Kernel, Initrd string
	// RootFS is a raw ext4 file system image, no partition table (boot with
	// root=/dev/vda). It is sparse: copy it with `cp --sparse=always`, or better
	// not at all.
	RootFS string
	// Repo is the directory of a flat apt repository: *.deb plus Packages,
	// Packages.gz (dpkg-scanpackages) and an unsigned Release, served at
	// http://RepoHost/ so the image's sources.list line is
	// `deb [trusted=yes] http://apt.rehearsal.invalid/ ./`.
	Repo string
	// Key is the hex hash of the inputs.
	Key string
	// Dir is the image's cache directory; it holds manifest.json (ReadManifest).
	Dir string
}

// Manifest records what was built and what it cost, so people and tests can
// tell a cache hit from a rebuild without timing anything.
type Manifest struct {
	Recipe        int       `json:"recipe"`
	Key           string    `json:"key"`
	Spec          Spec      `json:"spec"`
	BasePackages  []string  `json:"basePackages"`
	Sources       []string  `json:"sources"`
	KernelVersion string    `json:"kernelVersion"`
	BuiltAt       time.Time `json:"builtAt"`
	BuildSeconds  float64   `json:"buildSeconds"`
	Sizes         Sizes     `json:"sizes"`
}

// Sizes are in bytes. RootFSUsed counts the blocks the sparse image occupies,
// which is what the cache costs on disk.
type Sizes struct {
	RootFSApparent int64 `json:"rootfsApparent"`
	RootFSUsed     int64 `json:"rootfsUsed"`
	Kernel         int64 `json:"kernel"`
	Initrd         int64 `json:"initrd"`
	Repo           int64 `json:"repo"`
	RepoPackages   int   `json:"repoPackages"`
}

const (
	manifestName = "manifest.json"
	kernelName   = "vmlinuz"
	initrdName   = "initrd.img"
	rootFSName   = "rootfs.ext4"
	repoName     = "repo"
)

// Ensure returns the image for spec from cacheDir (the repository's .cache/
// directory; images live in cacheDir/rehearsal/<key>/), building it first only
// when it is missing. log receives progress lines and the build tools' output;
// nil discards them. Concurrent callers, in this process or others, serialise
// on a lock file per key; a build happens in a temporary directory beside the
// final one and is renamed into place, so a reader never sees half an image.
func Ensure(ctx context.Context, cacheDir string, spec Spec, log io.Writer) (Image, error) {
	if log == nil {
		log = io.Discard
	}
	key, err := Key(spec)
	if err != nil {
		return Image{}, err
	}
	abs, err := filepath.Abs(cacheDir)
	if err != nil {
		return Image{}, fmt.Errorf("image: cache dir %q: %w", cacheDir, err)
	}
	parent := filepath.Join(abs, "rehearsal")
	img := imageAt(filepath.Join(parent, key), key)

	if ok, err := present(img); ok || err != nil {
		return img, err
	}
	if err := CheckTools(); err != nil {
		return Image{}, fmt.Errorf("image %s is not cached and cannot be built: %w", key, err)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Image{}, fmt.Errorf("image: create cache dir: %w", err)
	}
	unlock, err := lock(ctx, filepath.Join(parent, key+".lock"), func() {
		fmt.Fprintf(log, "image %s: waiting for another process building it\n", key)
	})
	if err != nil {
		return Image{}, fmt.Errorf("image %s: %w", key, err)
	}
	defer unlock()

	// Another process may have finished the build while we waited.
	if ok, err := present(img); ok || err != nil {
		return img, err
	}
	if err := removeStale(parent, key, log); err != nil {
		return Image{}, fmt.Errorf("image %s: %w", key, err)
	}
	tmp, err := os.MkdirTemp(parent, tmpPrefix(key))
	if err != nil {
		return Image{}, fmt.Errorf("image %s: %w", key, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Image{}, fmt.Errorf("image %s: %w", key, err)
	}
	fmt.Fprintf(log, "image %s: building in %s (packages: %v)\n", key, tmp, normalise(spec.Packages))
	if err := build(ctx, tmp, key, spec, log); err != nil {
		if rmErr := removeTree(tmp); rmErr != nil {
			err = errors.Join(err, rmErr)
		}
		return Image{}, fmt.Errorf("image %s: %w", key, err)
	}
	if err := os.Rename(tmp, img.Dir); err != nil {
		return Image{}, fmt.Errorf("image %s: move into place: %w", key, err)
	}
	fmt.Fprintf(log, "image %s: ready in %s\n", key, img.Dir)
	return img, nil
}

// imageAt names the files of the image whose cache directory is dir.
func imageAt(dir, key string) Image {
	return Image{
		Kernel: filepath.Join(dir, kernelName),
		Initrd: filepath.Join(dir, initrdName),
		RootFS: filepath.Join(dir, rootFSName),
		Repo:   filepath.Join(dir, repoName),
		Key:    key,
		Dir:    dir,
	}
}

// present reports whether img is complete. The manifest is written last,
// before the directory is renamed into place, so its presence is the test; an
// unreadable manifest or another key in it means someone tampered with the
// cache, which deserves an error rather than a silent rebuild.
func present(img Image) (bool, error) {
	m, err := ReadManifest(img.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if m.Key != img.Key {
		return false, fmt.Errorf("image: %s holds key %q, want %q: remove the directory", img.Dir, m.Key, img.Key)
	}
	return true, nil
}

// ReadManifest reads the manifest of the image cached in dir (Image.Dir).
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return m, fmt.Errorf("image: read manifest: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("image: decode %s: %w", filepath.Join(dir, manifestName), err)
	}
	return m, nil
}

func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifestName), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}
