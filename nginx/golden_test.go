package nginx

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

const goldenDir = "testdata/golden"

// updateGolden rewrites the golden files from the renderers' output.
var updateGolden = os.Getenv("UPDATE_GOLDEN") == "1"

// cloudConfigKeys are the cloud-init modules' keys the user data may use.
// `cloud-init schema` accepts any unknown top-level key, so a misspelled one
// would pass it and silently do nothing on the droplet.
var cloudConfigKeys = []string{"mounts", "package_update", "packages", "runcmd", "write_files"}

// TestGolden pins every golden case's nginx.conf and user data, and checks
// them with the tools that will read them: nginx, cloud-init, shellcheck and
// systemd.
func TestGolden(t *testing.T) {
	tools := requireTools(t)
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			conf, userData := c.render(t)
			checkGolden(t, c.name+".conf", conf)
			checkGolden(t, c.name+".user-data.yaml", userData)

			hlsDir, tls := "", c.tls()
			if c.edge != nil {
				hlsDir = c.edge.Layout.HLSDir
			}
			nginxTest(t, tools, conf, hlsDir, tls)
			cloudInitSchema(t, tools, userData)

			ud := parseUserData(t, userData)
			nginxConf := ud.file(t, nginxConfPath)
			require.Equal(t, conf, nginxConf.Content, "write_files must carry the rendered nginx.conf byte for byte")
			require.Equal(t, "0600", nginxConf.Permissions, "nginx.conf holds a secret")
			for _, f := range ud.WriteFiles {
				require.True(t, f.Defer, "%s must be written after the packages are installed", f.Path)
			}
			require.Equal(t, []string{ApplyScriptPath}, ud.RunCmd)
			for _, cmd := range ud.RunCmd {
				shellcheck(t, tools, "runcmd entry", cmd)
			}
			shellcheck(t, tools, ApplyScriptPath, ud.file(t, ApplyScriptPath).Content)
			nftCheck(t, ud.file(t, nftablesConfPath).Content)

			dropIn := ud.file(t, nginxDropInPath).Content
			systemdVerify(t, tools, dropIn)
			for _, script := range shellLines.FindAllStringSubmatch(dropIn, -1) {
				shellcheck(t, tools, nginxDropInPath+" "+script[1], script[2])
				require.NotContains(t, script[2], "$", "systemd expands $ in Exec lines")
				require.NotContains(t, script[2], "%", "systemd expands % specifiers in Exec lines")
				require.NotContains(t, script[2], `\`, "systemd unescapes \\ in Exec lines")
			}

			require.Contains(t, dropIn, "\nExecReload=\nExecReload=/bin/sh -c ", "every node must replace Debian's reload, not add to it")
			checkTLSFiles(t, ud, tls)
			if c.origin != nil {
				ladder := len(c.origin.Stream.Renditions) > 0
				require.Equal(t, ladder, slices.Contains(ud.Packages, "ffmpeg"), "ffmpeg is installed exactly when the origin transcodes")
				require.Equal(t, tls != nil, slices.Contains(ud.Packages, streamModulePackage), "the stream module is installed exactly when the origin takes RTMPS")
				require.Empty(t, ud.Mounts, "an origin needs no tmpfs")
				require.NotContains(t, dropIn, ".live", "an origin has no relay markers")
				nodeExporterVerify(t, ud, c.origin.NodeExporterListen)
				require.NotContains(t, ud.Packages, "prometheus-nginx-exporter", "the origin's figures come from rtmp_stat")
				require.Contains(t, ud.file(t, ApplyScriptPath).Content, "\nsystemctl restart prometheus-node-exporter\n")
				if r := c.origin.Recordings; r != nil {
					script := ud.file(t, c.origin.Layout.LibDir+"/"+RecordScript)
					require.Equal(t, "0755", script.Permissions)
					shellcheck(t, tools, RecordScript, script.Content)
					require.Equal(t, "0600", ud.file(t, c.origin.Layout.RcloneConfig).Permissions, "rclone.conf holds the bucket's key")
					require.Contains(t, ud.Packages, "rclone")
					require.Contains(t, ud.file(t, ApplyScriptPath).Content, "systemctl restart "+RecordUnit)
					require.Contains(t, dropIn, "\nExecStartPre=-"+c.origin.Layout.LibDir+"/"+RecordScript+" recover\n")
					unitVerify(t, tools, ud.file(t, recordUnitPath).Content, script.Path)
				} else {
					require.NotContains(t, ud.Packages, "rclone")
				}
			} else {
				require.NotContains(t, ud.Packages, "ffmpeg")
				require.Len(t, ud.Mounts, 1)
				mount := ud.Mounts[0]
				require.Equal(t, []string{"tmpfs", c.edge.Layout.HLSDir, "tmpfs"}, mount[:3])
				require.Contains(t, mount[3], ",uid=33,gid=33,")
				require.Contains(t, dropIn, "rm -f "+c.edge.Layout.HLSDir+"/*.live")
				require.Len(t, shellLines.FindAllString(dropIn, -1), 2, "the marker cleanup and the refused reload must both be shellchecked")
				for _, f := range c.site {
					require.Equal(t, f.Content, ud.file(t, c.edge.Layout.WebRoot+"/"+f.Path).Content)
				}
				edgeStatusVerify(t, tools, ud, *c.edge)
			}
		})
	}
}

// TestGoldenFilesHaveCases finds golden files left behind by removed or
// renamed cases, which would otherwise never be compared again.
func TestGoldenFilesHaveCases(t *testing.T) {
	want := map[string]bool{}
	for _, c := range goldenCases() {
		want[c.name+".conf"] = true
		want[c.name+".user-data.yaml"] = true
	}
	entries, err := os.ReadDir(goldenDir)
	require.NoError(t, err)
	for _, e := range entries {
		require.True(t, want[e.Name()], "%s/%s belongs to no case in goldenCases(): delete it or add the case", goldenDir, e.Name())
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if updateGolden {
		require.NoError(t, os.MkdirAll(goldenDir, 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("golden file %s is missing: run UPDATE_GOLDEN=1 go test ./nginx/... and review the new file", path)
	}
	require.NoError(t, err)
	require.Equal(t, string(want), got,
		"%s differs from the rendered output; if the change is intended, run UPDATE_GOLDEN=1 go test ./nginx/... and review the diff", path)
}

// tools are the validators' paths.
type tools struct {
	nginx, cloudInit, shellcheck, systemdAnalyze string
}

// requireTools fails, never skips, when a validator is missing: a test that
// skipped quietly would pass on a machine that checked nothing.
func requireTools(t *testing.T) tools {
	t.Helper()
	find := func(name, aptPackages string) string {
		path, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s is not on PATH, so rendered files cannot be validated: apt-get install %s", name, aptPackages)
		}
		return path
	}
	return tools{
		nginx:          find("nginx", "nginx libnginx-mod-rtmp"),
		cloudInit:      find("cloud-init", "cloud-init"),
		shellcheck:     find("shellcheck", "shellcheck"),
		systemdAnalyze: find("systemd-analyze", "systemd"),
	}
}

// checkTLSFiles checks that the user data writes the certificate and key
// under TLSDir exactly when the node has TLS, the key for root alone.
func checkTLSFiles(t *testing.T, ud userData, tls *TLS) {
	t.Helper()
	l := ProductionLayout()
	var written []string
	for _, f := range ud.WriteFiles {
		if strings.HasPrefix(f.Path, l.TLSDir+"/") {
			written = append(written, f.Path)
		}
	}
	if tls == nil {
		require.Empty(t, written, "a node without TLS gets no TLS files")
		return
	}
	require.Equal(t, []string{l.TLSChainPath(), l.TLSKeyPath()}, written)
	chain, key := ud.file(t, l.TLSChainPath()), ud.file(t, l.TLSKeyPath())
	require.Equal(t, tls.Chain, chain.Content)
	require.Equal(t, tls.Key, key.Content)
	require.Equal(t, "root:root", key.Owner)
	require.Equal(t, "0600", key.Permissions, "the private key is for root (nginx's master) alone")
}

// tls is the case's certificate, if any.
func (c goldenCase) tls() *TLS {
	if c.origin != nil {
		return c.origin.TLS
	}
	return c.edge.TLS
}

// nginxTest runs `nginx -t` on conf. nginx creates hls_path when it loads the
// config, and a test must not create /var/lib/livecdn on the machine it runs
// on, so an edge's HLS directory is moved into a temporary one, and so are
// the TLS files nginx reads; nothing else of the rendered text changes.
func nginxTest(t *testing.T, tl tools, conf, hlsDir string, tls *TLS) {
	t.Helper()
	dir := t.TempDir()
	if hlsDir != "" {
		conf = strings.ReplaceAll(conf, hlsDir, filepath.Join(dir, "hls"))
	}
	if tls != nil {
		l := Layout{TLSDir: filepath.Join(dir, "tls")}
		require.NoError(t, os.Mkdir(l.TLSDir, 0o700))
		require.NoError(t, os.WriteFile(l.TLSChainPath(), []byte(tls.Chain), 0o644))
		require.NoError(t, os.WriteFile(l.TLSKeyPath(), []byte(tls.Key), 0o600))
		conf = strings.ReplaceAll(conf, ProductionLayout().TLSDir+"/", l.TLSDir+"/")
	}
	file := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(file, []byte(conf), 0o600))
	out, err := exec.Command(tl.nginx, "-t", "-q", "-p", dir+"/", "-e", filepath.Join(dir, "error.log"), "-c", file).CombinedOutput()
	require.NoError(t, err, "nginx -t rejects the config (needs Debian's nginx and libnginx-mod-rtmp):\n%s", out)
}

// nftCheck parses a ruleset with nft's check mode, which loads nothing.
func nftCheck(t *testing.T, ruleset string) {
	t.Helper()
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Skip("nft is not installed: make deps")
	}
	file := filepath.Join(t.TempDir(), "nftables.conf")
	require.NoError(t, os.WriteFile(file, []byte(ruleset), 0o600))
	out, err := exec.Command(nft, "-c", "-f", file).CombinedOutput()
	require.NoError(t, err, "nft rejects the ruleset:\n%s", out)
}

func cloudInitSchema(t *testing.T, tl tools, userData string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "user-data.yaml")
	require.NoError(t, os.WriteFile(file, []byte(userData), 0o600))
	out, err := exec.Command(tl.cloudInit, "schema", "--config-file", file).CombinedOutput()
	require.NoError(t, err, "cloud-init schema rejects the user data:\n%s", out)
	require.Contains(t, string(out), "Valid cloud-config")
}

func shellcheck(t *testing.T, tl tools, what, script string) {
	t.Helper()
	cmd := exec.Command(tl.shellcheck, "-s", "sh", "-")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "shellcheck finds problems in %s:\n%s", what, out)
}

// shellLines are the drop-in's Exec lines that run a /bin/sh -c script.
var shellLines = regexp.MustCompile(`(?m)^(Exec\w+)=/bin/sh -c '([^']*)'$`)

// unitVerify checks the uploader's unit with systemd-analyze. systemd
// refuses an ExecStart that does not exist here, so the check runs on a
// copy whose script path points at a stand-in; every other line is as
// shipped.
func unitVerify(t *testing.T, tl tools, unit, script string) {
	t.Helper()
	dir := t.TempDir()
	standIn := filepath.Join(dir, "livecdn-record")
	require.NoError(t, os.WriteFile(standIn, []byte("#!/bin/sh\n"), 0o755))
	require.Contains(t, unit, "\nExecStart="+script+" run\n")
	unit = strings.ReplaceAll(unit, script, standIn)
	name := filepath.Base(recordUnitPath)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(unit), 0o644))
	nginxUnit, err := os.ReadFile("/lib/systemd/system/nginx.service")
	require.NoError(t, err, "Debian's nginx.service is missing: apt-get install nginx")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nginx.service"), nginxUnit, 0o644))
	cmd := exec.Command(tl.systemdAnalyze, "verify", "--man=no", filepath.Join(dir, name))
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+dir+":")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "systemd-analyze verify:\n%s", out)
	require.Empty(t, string(out), "systemd-analyze verify complains about %s", name)
}

// systemdVerify loads Debian's nginx.service with the drop-in next to it.
// systemd-analyze exits 0 even when it ignores a line, so any output fails.
func systemdVerify(t *testing.T, tl tools, dropIn string) {
	t.Helper()
	unit, err := os.ReadFile("/lib/systemd/system/nginx.service")
	require.NoError(t, err, "Debian's nginx.service is missing: apt-get install nginx")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nginx.service"), unit, 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "nginx.service.d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nginx.service.d", "livecdn.conf"), []byte(dropIn), 0o644))
	cmd := exec.Command(tl.systemdAnalyze, "verify", "--man=no", filepath.Join(dir, "nginx.service"))
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+dir+":")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "systemd-analyze verify:\n%s", out)
	require.Empty(t, string(out), "systemd-analyze verify complains about the drop-in")
}

// userData is rendered user data read back the way cloud-init reads it.
type userData struct {
	PackageUpdate bool        `yaml:"package_update"`
	Packages      []string    `yaml:"packages"`
	Mounts        [][]string  `yaml:"mounts"`
	WriteFiles    []writeFile `yaml:"write_files"`
	RunCmd        []string    `yaml:"runcmd"`
}

// parseUserData reads user data back and checks what cloud-init schema does
// not: the top-level keys, and that file contents stay readable in review.
func parseUserData(t *testing.T, text string) userData {
	t.Helper()
	require.True(t, strings.HasPrefix(text, "#cloud-config\n"), "cloud-init ignores user data without the #cloud-config header")

	var top map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(text), &top))
	for key := range top {
		require.Contains(t, cloudConfigKeys, key, "unexpected top-level key: cloud-init would ignore a misspelled one")
	}
	for _, key := range []string{"package_update", "packages", "write_files", "runcmd"} {
		require.Contains(t, top, key)
	}

	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(text), &doc))
	var ud userData
	require.NoError(t, doc.Decode(&ud))
	require.True(t, ud.PackageUpdate)
	require.True(t, slices.IsSorted(ud.Packages), "packages must be sorted")
	require.Subset(t, ud.Packages, []string{"libnginx-mod-rtmp", "nginx"})
	require.True(t, slices.IsSortedFunc(ud.WriteFiles, func(a, b writeFile) int {
		return strings.Compare(a.Path, b.Path)
	}), "write_files must be sorted by path")

	// Every multi-line content is a literal block (|), so golden files and
	// reviews show the files as they will be on disk.
	root := doc.Content[0]
	for i := 0; i < len(root.Content); i += 2 {
		if root.Content[i].Value != "write_files" {
			continue
		}
		for _, file := range root.Content[i+1].Content {
			for j := 0; j < len(file.Content); j += 2 {
				if v := file.Content[j+1]; file.Content[j].Value == "content" && strings.Contains(v.Value, "\n") {
					require.Equal(t, yaml.LiteralStyle, v.Style, "content of a write_files entry is not a literal block:\n%s", v.Value)
				}
			}
		}
	}
	return ud
}

func (ud userData) file(t *testing.T, path string) writeFile {
	t.Helper()
	for _, f := range ud.WriteFiles {
		if f.Path == path {
			return f
		}
	}
	t.Fatalf("write_files has no %s", path)
	panic("unreachable")
}
