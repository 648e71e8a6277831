package image

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// rehearsalPackages are what the droplets' user data installs without a
// rendition ladder (a ladder adds ffmpeg): the image the machine tests boot,
// so this test and they build it once between them.
var rehearsalPackages = []string{"nginx", "libnginx-mod-rtmp", "nftables"}

func TestKey(t *testing.T) {
	base, err := Key(Spec{Packages: []string{"nginx", "libnginx-mod-rtmp", "ffmpeg"}})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(base) {
		t.Fatalf("Key = %q, want 32 hex digits", base)
	}
	cases := []struct {
		name string
		pkgs []string
		same bool
	}{
		{"same list", []string{"nginx", "libnginx-mod-rtmp", "ffmpeg"}, true},
		{"other order", []string{"ffmpeg", "nginx", "libnginx-mod-rtmp"}, true},
		{"duplicate", []string{"ffmpeg", "nginx", "nginx", "libnginx-mod-rtmp"}, true},
		{"one package more", []string{"nginx", "libnginx-mod-rtmp", "ffmpeg", "jq"}, false},
		{"one package fewer", []string{"nginx", "libnginx-mod-rtmp"}, false},
		{"one package changed", []string{"nginx", "libnginx-mod-rtmp", "ffmpeg-doc"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := Key(Spec{Packages: c.pkgs})
			if err != nil {
				t.Fatal(err)
			}
			if (k == base) != c.same {
				t.Errorf("Key(%v) = %s, base %s: want same=%v", c.pkgs, k, base, c.same)
			}
		})
	}
}

func TestKeyRejectsBadSpecs(t *testing.T) {
	cases := []struct {
		name string
		pkgs []string
		want string
	}{
		{"no packages", nil, "Spec.Packages is empty"},
		{"apt option", []string{"nginx", "-oDebug::x=1"}, `"-oDebug::x=1"`},
		{"pinned version", []string{"nginx=1.22.1-9"}, `"nginx=1.22.1-9"`},
		{"upper case", []string{"Nginx"}, `"Nginx"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Key(Spec{Packages: c.pkgs})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Key(%q) error = %v, want it to contain %s", c.pkgs, err, c.want)
			}
		})
	}
}

// TestOverlay checks the settings that make cloud-init behave as on a
// droplet, parsed as cloud-init reads them.
func TestOverlay(t *testing.T) {
	files := map[string]string{}
	for _, f := range overlayFiles() {
		files[f.path] = f.content
	}
	var cfg struct {
		DatasourceList []string `yaml:"datasource_list"`
		DisableRoot    *bool    `yaml:"disable_root"`
		Apt            struct {
			PreserveSourcesList bool `yaml:"preserve_sources_list"`
		} `yaml:"apt"`
	}
	cc, ok := files["/etc/cloud/cloud.cfg.d/99_livecdn_rehearsal.cfg"]
	if !ok {
		t.Fatalf("no cloud.cfg.d file among %v", keys(files))
	}
	if err := yaml.Unmarshal([]byte(cc), &cfg); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.DatasourceList, []string{"NoCloud", "None"}) {
		t.Errorf("datasource_list = %v, want [NoCloud None]", cfg.DatasourceList)
	}
	if cfg.DisableRoot == nil || *cfg.DisableRoot {
		t.Errorf("disable_root must be false: droplets log in as root")
	}
	if !cfg.Apt.PreserveSourcesList {
		t.Errorf("apt.preserve_sources_list must be true, or cloud-init points apt at the internet")
	}
	var debLines []string
	for _, l := range strings.Split(files["/etc/apt/sources.list"], "\n") {
		if strings.HasPrefix(l, "deb") {
			debLines = append(debLines, l)
		}
	}
	want := []string{"deb [trusted=yes] http://" + RepoHost + "/ ./"}
	if !slices.Equal(debLines, want) {
		t.Errorf("sources.list entries = %q, want %q", debLines, want)
	}
	if !strings.Contains(files["/etc/fstab"], "/dev/vda / ext4 defaults 0 1\n") {
		t.Errorf("fstab = %q, want the root on /dev/vda", files["/etc/fstab"])
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.lock")
	unlock, err := lock(context.Background(), path, func() { t.Error("first lock waited") })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	waited := false
	if _, err := lock(ctx, path, func() { waited = true }); err == nil {
		t.Fatal("second lock succeeded while the first was held")
	}
	if !waited {
		t.Error("second lock did not report waiting")
	}
	unlock()
	unlock2, err := lock(context.Background(), path, func() { t.Error("lock waited after unlock") })
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
}

func TestMountsUnder(t *testing.T) {
	m, err := mountsUnder("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(m, "/proc") {
		t.Errorf("mountsUnder(/proc) = %v, want /proc in it", m)
	}
	m, err = mountsUnder(t.TempDir())
	if err != nil || len(m) != 0 {
		t.Errorf("mountsUnder(empty temp dir) = %v, %v; want none", m, err)
	}
}

// TestEnsure builds the image the rehearsal uses (about a minute and a half
// cold, plus the download) into the repository's .cache, then checks it
// without booting it: the boot files, the repository's contents and that
// apt can install the packages from it alone, what the image's files say,
// and that a second Ensure is a cache hit.
func TestEnsure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Debian image (minutes, needs root and Debian's mirror); skipped in -short mode")
	}
	if err := CheckTools(); err != nil {
		t.Skipf("cannot build images here: %v", err)
	}
	cache, err := filepath.Abs(filepath.Join("..", "..", ".cache"))
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Packages: rehearsalPackages}
	ctx := context.Background()
	img, err := Ensure(ctx, cache, spec, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	m1, err := ReadManifest(img.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: kernel %s, root fs %d MB used, repository %d packages, %d MB; built in %.0f s",
		img.Key, m1.KernelVersion, m1.Sizes.RootFSUsed>>20, m1.Sizes.RepoPackages, m1.Sizes.Repo>>20, m1.BuildSeconds)

	for _, p := range []string{img.Kernel, img.Initrd, img.RootFS} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() < 1<<20 {
			t.Errorf("%s is %d bytes, want at least 1 MiB", p, fi.Size())
		}
	}
	packages, err := os.ReadFile(filepath.Join(img.Repo, "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	// A package the base image has (nftables) needs no copy in the repository.
	for _, p := range rehearsalPackages {
		if !slices.Contains(BasePackages(), p) && !regexp.MustCompile(`(?m)^Package: `+regexp.QuoteMeta(p)+`$`).Match(packages) {
			t.Errorf("repository's Packages does not list %s", p)
		}
	}
	for _, f := range []string{"Packages.gz", "Release"} {
		if _, err := os.Stat(filepath.Join(img.Repo, f)); err != nil {
			t.Error(err)
		}
	}

	t.Run("image files", func(t *testing.T) { checkImageFiles(t, img) })
	t.Run("apt installs from the repository alone", func(t *testing.T) { checkAptInstall(t, img, spec) })

	fi1, err := os.Stat(img.RootFS)
	if err != nil {
		t.Fatal(err)
	}
	// Another order of the same packages is the same image.
	img2, err := Ensure(ctx, cache, Spec{Packages: []string{"nftables", "libnginx-mod-rtmp", "nginx"}}, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	if img2 != img {
		t.Errorf("second Ensure = %+v, want %+v", img2, img)
	}
	m2, err := ReadManifest(img2.Dir)
	if err != nil {
		t.Fatal(err)
	}
	fi2, err := os.Stat(img2.RootFS)
	if err != nil {
		t.Fatal(err)
	}
	if !m2.BuiltAt.Equal(m1.BuiltAt) || !fi2.ModTime().Equal(fi1.ModTime()) {
		t.Errorf("second Ensure rebuilt: built at %v then %v, root fs modified %v then %v",
			m1.BuiltAt, m2.BuiltAt, fi1.ModTime(), fi2.ModTime())
	}
}

// checkImageFiles reads files out of the ext4 image with debugfs, which needs
// no mount.
func checkImageFiles(t *testing.T, img Image) {
	read := func(p string) (string, bool) {
		out, err := exec.Command("debugfs", "-R", "cat "+p, img.RootFS).Output()
		if err != nil {
			t.Fatalf("debugfs cat %s: %v", p, err)
		}
		// debugfs exits 0 for a missing file; it says so on stderr only.
		return string(out), len(out) > 0
	}
	if s, _ := read("/etc/apt/sources.list"); s != sourcesList() {
		t.Errorf("image sources.list = %q, want %q", s, sourcesList())
	}
	if s, _ := read("/etc/cloud/cloud.cfg.d/99_livecdn_rehearsal.cfg"); !strings.Contains(s, "datasource_list: [ NoCloud, None ]") {
		t.Errorf("image cloud.cfg.d file = %q", s)
	}
	if s, _ := read("/etc/fstab"); !strings.Contains(s, "/dev/vda / ext4") {
		t.Errorf("image fstab = %q", s)
	}
	if s, _ := read("/etc/locale.gen"); !strings.Contains(s, "\nen_US.UTF-8 UTF-8\n") {
		t.Error("en_US.UTF-8 is not enabled in the image's locale.gen")
	}
	if s, _ := read("/etc/default/locale"); !strings.Contains(s, "\nLANG=en_US.UTF-8\n") {
		t.Errorf("image /etc/default/locale = %q, want LANG=en_US.UTF-8 (else cloud-init regenerates it)", s)
	}
	if _, ok := read("/usr/lib/locale/locale-archive"); !ok {
		t.Error("no locale archive in the image: locale-gen did not run")
	}
	if _, ok := read("/etc/ssh/ssh_host_ed25519_key"); ok {
		t.Error("the image holds an ssh host key that every VM would share")
	}
	if s, _ := read("/etc/machine-id"); s != "" {
		t.Errorf("image machine-id = %q, want empty", s)
	}
	ls, err := exec.Command("debugfs", "-R", "ls -p /etc/apt/sources.list.d", img.RootFS).Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ls), ".list") || strings.Contains(string(ls), ".sources") {
		t.Errorf("the image has more apt sources: %s", ls)
	}
}

// checkAptInstall serves the repository over HTTP as the harness does and
// simulates `apt-get install` of the spec's packages against the image's dpkg
// status, with the repository as the only source: a dependency missing from
// the repository fails here rather than in a VM minutes later.
func checkAptInstall(t *testing.T, img Image, spec Spec) {
	dir := t.TempDir()
	status, err := exec.Command("debugfs", "-R", "cat /var/lib/dpkg/status", img.RootFS).Output()
	if err != nil || len(status) == 0 {
		t.Fatalf("read the image's dpkg status: %v", err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(img.Repo)))
	defer srv.Close()
	for _, d := range []string{"lists/partial", "cache", "empty"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("status", string(status))
	write("sources.list", strings.Replace(sourcesList(), "http://"+RepoHost, srv.URL, 1))
	conf := write("apt.conf", strings.Join([]string{
		`Dir::Etc::Parts "/dev/null";`,
		`Dir::Etc::Main "/dev/null";`,
		`Dir::Etc::SourceList "` + dir + `/sources.list";`,
		`Dir::Etc::SourceParts "` + dir + `/empty";`,
		`Dir::Etc::Preferences "/dev/null";`,
		`Dir::Etc::PreferencesParts "` + dir + `/empty";`,
		`Dir::State::Lists "` + dir + `/lists";`,
		`Dir::State::status "` + dir + `/status";`,
		`Dir::State::extended_states "` + dir + `/extended_states";`,
		`Dir::Cache "` + dir + `/cache";`,
		`APT::Architecture "amd64";`,
		`Debug::NoLocking "true";`,
		`APT::Sandbox::User "root";`,
	}, "\n")+"\n")
	apt := func(args ...string) string {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "APT_CONFIG="+conf)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("apt-get %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := apt("-q", "update"); strings.Contains(out, "Err:") || strings.Contains(out, "W:") {
		t.Errorf("apt-get update from the repository complained:\n%s", out)
	}
	out := apt(append([]string{"-q", "-s", "install"}, spec.Packages...)...)
	for _, p := range spec.Packages {
		installed := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(p) + ` is already the newest version`).MatchString(out)
		if !installed && !regexp.MustCompile(`(?m)^Inst `+regexp.QuoteMeta(p)+` `).MatchString(out) {
			t.Errorf("simulated install neither installs %s nor finds it installed:\n%s", p, out)
		}
	}
	if bytes.Contains([]byte(out), []byte("has no installation candidate")) {
		t.Errorf("simulated install is missing packages:\n%s", out)
	}
}

// testLog sends progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
