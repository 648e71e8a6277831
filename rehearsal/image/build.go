package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// overlay holds files written into the root fs verbatim, at their path below
// overlay/.
//
//go:embed overlay
var overlay embed.FS

// file is one file the build writes into the root fs.
type file struct {
	path    string // absolute path in the image
	mode    fs.FileMode
	content string
}

// sourcesList is the image's only apt source. trusted=yes because the
// repository is unsigned; it lives only inside the rehearsal namespace.
func sourcesList() string {
	return "# livecdn rehearsal: the harness serves this repository; nothing here reaches the internet.\n" +
		"deb [trusted=yes] http://" + RepoHost + "/ ./\n"
}

// overlayFiles returns every file the build writes into the root fs, sorted by
// path; the cache key hashes them, so editing one rebuilds the image.
func overlayFiles() []file {
	files := []file{{path: "/etc/apt/sources.list", mode: 0o644, content: sourcesList()}}
	err := fs.WalkDir(overlay, "overlay", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := overlay.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, file{path: strings.TrimPrefix(p, "overlay"), mode: 0o644, content: string(b)})
		return nil
	})
	if err != nil {
		// The embedded tree is fixed at compile time; failing to walk it is a
		// broken build, not a runtime condition.
		panic(fmt.Sprintf("image: walk embedded overlay: %v", err))
	}
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.path, b.path) })
	return files
}

// build makes the image for spec in dir, which is empty and becomes the
// image's cache directory once renamed.
func build(ctx context.Context, dir, key string, spec Spec, log io.Writer) error {
	start := time.Now()
	root := filepath.Join(dir, "root")
	work := filepath.Join(dir, "work")
	img := imageAt(dir, key)

	fmt.Fprintf(log, "image %s: mmdebstrap %s (%d base packages)\n", key, suite, len(basePackages))
	if err := mmdebstrap(ctx, root, log); err != nil {
		return err
	}
	fmt.Fprintf(log, "image %s: downloading %v and what they need into the repository\n", key, normalise(spec.Packages))
	if err := downloadRepo(ctx, root, work, img.Repo, spec.Packages, log); err != nil {
		return err
	}
	n, err := indexRepo(ctx, img.Repo, start, log)
	if err != nil {
		return err
	}
	if err := finishRootFS(root); err != nil {
		return fmt.Errorf("finish root fs: %w", err)
	}
	kver, err := copyBoot(root, img)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "image %s: mkfs.ext4 %s\n", key, rootFSSize)
	if err := mkfs(ctx, root, img.RootFS, key, log); err != nil {
		return err
	}
	if err := removeTree(root); err != nil {
		return err
	}
	if err := removeTree(work); err != nil {
		return err
	}
	sizes, err := measure(img)
	if err != nil {
		return err
	}
	sizes.RepoPackages = n
	m := Manifest{
		Recipe:        recipe,
		Key:           key,
		Spec:          Spec{Packages: normalise(spec.Packages)},
		BasePackages:  normalise(basePackages),
		Sources:       sources,
		KernelVersion: kver,
		BuiltAt:       start.UTC().Truncate(time.Second),
		BuildSeconds:  time.Since(start).Round(100 * time.Millisecond).Seconds(),
		Sizes:         sizes,
	}
	// Flush the image before the manifest marks it complete: a crash must not
	// leave a manifest beside a truncated file system.
	syscall.Sync()
	if err := writeManifest(dir, m); err != nil {
		return err
	}
	syscall.Sync()
	return nil
}

// mmdebstrap installs minbase plus basePackages into root. Root mode, because
// mkfs.ext4 -d copies owners and modes from the tree as they are on disk.
// --skip=cleanup/apt/lists keeps the mirror's package lists, which
// downloadRepo resolves against, so the repository matches the image exactly.
func mmdebstrap(ctx context.Context, root string, log io.Writer) error {
	args := []string{
		"--mode=root",
		"--variant=minbase",
		"--architectures=" + arch,
		"--keyring=" + keyring,
		"--skip=cleanup/apt/lists",
		"--include=" + strings.Join(normalise(basePackages), ","),
	}
	for _, h := range customizeHooks {
		args = append(args, "--customize-hook="+h)
	}
	args = append(args, suite, root)
	args = append(args, sources...)
	if err := run(ctx, log, nil, "mmdebstrap", args...); err != nil {
		return err
	}
	return nil
}

// downloadRepo puts into repo the .deb files that `apt-get install pkgs` in
// the image would fetch: the host's apt-get resolves against the image's dpkg
// status and package lists, with a private configuration so neither the
// host's apt settings nor its state take part. Recommends are on, as in the
// image's apt, so cloud-init's install finds everything it asks for.
func downloadRepo(ctx context.Context, root, work, repo string, pkgs []string, log io.Writer) error {
	for _, d := range []string{filepath.Join(repo, "partial"), filepath.Join(work, "cache"), filepath.Join(work, "empty")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("repository: %w", err)
		}
	}
	conf := filepath.Join(work, "apt.conf")
	opts := [][2]string{
		{"Dir::Etc::Parts", "/dev/null"},
		{"Dir::Etc::Main", "/dev/null"},
		{"Dir::Etc::SourceList", filepath.Join(root, "etc/apt/sources.list")},
		{"Dir::Etc::SourceParts", filepath.Join(work, "empty")},
		{"Dir::Etc::Preferences", "/dev/null"},
		{"Dir::Etc::PreferencesParts", filepath.Join(work, "empty")},
		{"Dir::State::Lists", filepath.Join(root, "var/lib/apt/lists")},
		{"Dir::State::status", filepath.Join(root, "var/lib/dpkg/status")},
		{"Dir::State::extended_states", filepath.Join(work, "extended_states")},
		{"Dir::Cache", filepath.Join(work, "cache")},
		{"Dir::Cache::archives", repo},
		{"Dir::Log", work},
		{"APT::Architecture", arch},
		{"APT::Install-Recommends", "true"},
		{"Debug::NoLocking", "true"},
	}
	var b strings.Builder
	for _, o := range opts {
		fmt.Fprintf(&b, "%s %q;\n", o[0], o[1])
	}
	fmt.Fprintf(&b, "APT::Architectures { %q; };\n", arch)
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("repository: %w", err)
	}
	args := append([]string{"-q", "-y", "--download-only", "install", "--"}, normalise(pkgs)...)
	env := []string{"APT_CONFIG=" + conf, "DEBIAN_FRONTEND=noninteractive"}
	if err := run(ctx, log, env, "apt-get", args...); err != nil {
		return fmt.Errorf("repository: %w", err)
	}
	if err := os.Remove(filepath.Join(repo, "partial")); err != nil {
		return fmt.Errorf("repository: %w", err)
	}
	return nil
}

// indexRepo writes Packages, Packages.gz and Release in repo and returns how
// many packages it holds. The Release file is not needed with trusted=yes, but
// it tells apt which indexes exist (no 404s for Translation-en) and its Date
// keeps apt from warning.
func indexRepo(ctx context.Context, repo string, built time.Time, log io.Writer) (int, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "dpkg-scanpackages", "--multiversion", ".", "/dev/null")
	cmd.Dir = repo
	cmd.Stdout = &out
	// It warns about every package missing from the (absent) override file.
	cmd.Stderr = io.Discard
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("repository: dpkg-scanpackages: %w", err)
	}
	packages := out.Bytes()
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return 0, fmt.Errorf("repository: %w", err)
	}
	if _, err := zw.Write(packages); err != nil {
		return 0, fmt.Errorf("repository: gzip Packages: %w", err)
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("repository: gzip Packages: %w", err)
	}
	var rel strings.Builder
	fmt.Fprintf(&rel, "Origin: livecdn rehearsal\nLabel: livecdn rehearsal\nArchitectures: %s all\nDate: %s\nSHA256:\n",
		arch, built.UTC().Format(time.RFC1123Z))
	for _, f := range []struct {
		name string
		data []byte
	}{{"Packages", packages}, {"Packages.gz", gz.Bytes()}} {
		if err := os.WriteFile(filepath.Join(repo, f.name), f.data, 0o644); err != nil {
			return 0, fmt.Errorf("repository: %w", err)
		}
		sum := sha256.Sum256(f.data)
		fmt.Fprintf(&rel, " %s %d %s\n", hex.EncodeToString(sum[:]), len(f.data), f.name)
	}
	if err := os.WriteFile(filepath.Join(repo, "Release"), []byte(rel.String()), 0o644); err != nil {
		return 0, fmt.Errorf("repository: %w", err)
	}
	n := bytes.Count(packages, []byte("\nPackage: "))
	if bytes.HasPrefix(packages, []byte("Package: ")) {
		n++
	}
	fmt.Fprintf(log, "repository: %d packages\n", n)
	return n, nil
}

// finishRootFS turns the bootstrapped tree into the image: the rehearsal apt
// source only, no package lists from the mirror (cloud-init's apt-get update
// fetches the repository's), the overlay files, no ssh host keys (every VM
// would share them; cloud-init generates them before ssh starts) and none of
// the host's resolv.conf or hostname, which mmdebstrap copies in.
func finishRootFS(root string) error {
	lists := filepath.Join(root, "var/lib/apt/lists")
	entries, err := os.ReadDir(lists)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == "lock" || e.Name() == "partial" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(lists, e.Name())); err != nil {
			return err
		}
	}
	for _, pattern := range []string{"etc/apt/sources.list.d/*", "etc/ssh/ssh_host_*", "var/cache/apt/*.bin"} {
		matches, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return err
			}
		}
	}
	for _, f := range overlayFiles() {
		p := filepath.Join(root, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil {
			return err
		}
	}
	// resolvconf makes resolv.conf a link into /run; a plain file is the
	// host's, copied in by mmdebstrap.
	resolv := filepath.Join(root, "etc/resolv.conf")
	if fi, err := os.Lstat(resolv); err == nil && fi.Mode().IsRegular() {
		if err := os.WriteFile(resolv, nil, 0o644); err != nil {
			return err
		}
	}
	// Empty, so systemd gives each VM its own machine id at first boot.
	return os.WriteFile(filepath.Join(root, "etc/machine-id"), nil, 0o444)
}

// copyBoot copies the kernel and initrd out of root, for QEMU's -kernel and
// -initrd, and returns the kernel version. The image installs one kernel;
// more would mean the recipe changed without this function knowing.
func copyBoot(root string, img Image) (string, error) {
	kernels, err := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if err != nil || len(kernels) != 1 {
		return "", fmt.Errorf("boot files: want one /boot/vmlinuz-*, found %v (%v)", kernels, err)
	}
	kver := strings.TrimPrefix(filepath.Base(kernels[0]), "vmlinuz-")
	initrd := filepath.Join(root, "boot", "initrd.img-"+kver)
	for _, c := range [][2]string{{kernels[0], img.Kernel}, {initrd, img.Initrd}} {
		if err := copyFile(c[0], c[1]); err != nil {
			return "", fmt.Errorf("boot files: %w", err)
		}
	}
	return kver, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", path.Base(src), err)
	}
	return out.Close()
}

// mkfs makes the ext4 image from the tree without mounting anything. The
// UUID and directory hash seed come from the key so that rebuilding the same
// inputs gives the same file system identity.
func mkfs(ctx context.Context, root, image, key string, log io.Writer) error {
	uuid := fmt.Sprintf("%s-%s-4%s-8%s-%s", key[0:8], key[8:12], key[13:16], key[17:20], key[20:32])
	args := []string{
		"-q", "-F", "-t", "ext4",
		"-L", "rehearsal-root",
		"-U", uuid,
		"-E", "hash_seed=" + uuid + ",lazy_itable_init=0,lazy_journal_init=0",
		"-d", root,
		image, rootFSSize,
	}
	if err := run(ctx, log, nil, "mkfs.ext4", args...); err != nil {
		return err
	}
	return os.Chmod(image, 0o644)
}

func measure(img Image) (Sizes, error) {
	var s Sizes
	fi, err := os.Stat(img.RootFS)
	if err != nil {
		return s, fmt.Errorf("measure: %w", err)
	}
	s.RootFSApparent = fi.Size()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.RootFSUsed = st.Blocks * 512
	}
	for _, f := range []struct {
		path string
		size *int64
	}{{img.Kernel, &s.Kernel}, {img.Initrd, &s.Initrd}} {
		fi, err := os.Stat(f.path)
		if err != nil {
			return s, fmt.Errorf("measure: %w", err)
		}
		*f.size = fi.Size()
	}
	err = filepath.WalkDir(img.Repo, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		s.Repo += fi.Size()
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("measure: %w", err)
	}
	return s, nil
}

// run runs a build tool with its output going to log. The error carries the
// output's last lines, so a failure is explained even when log discards.
// Cancelling ctx sends SIGTERM: mmdebstrap finishes its current phase (up to
// a minute here), unmounts what it mounted in the tree and exits. Only after
// WaitDelay is it killed, which can leave those mounts (removeTree refuses
// to delete through them).
func run(ctx context.Context, log io.Writer, env []string, name string, args ...string) error {
	tail := &tailBuffer{max: 4096}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	// One writer for both streams, so exec copies them in one goroutine.
	out := io.MultiWriter(log, tail)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Minute
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", name, errors.Join(ctx.Err(), err))
		}
		return fmt.Errorf("%s: %w; last output:\n%s", name, err, tail.String())
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = slices.Clone(t.buf[len(t.buf)-t.max:])
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
