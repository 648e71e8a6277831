package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/nginx"
)

// renderTestdata holds the golden renders, one directory per stack, and Pulumi.byo.yaml, a stack with a
// bring-your-own origin that no committed event uses yet.
const renderTestdata = "testdata/render"

func runRenderForTest(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runRender(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// renderStacks are the stacks the golden renders cover: every committed event stack, so a pull request
// that changes one shows its machines' new text in testdata too, and the bring-your-own test stack.
func renderStacks(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "Pulumi.*.yaml"))
	require.NoError(t, err)
	stacks := map[string]string{"byo": renderTestdata}
	for _, f := range files {
		stacks[strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml")] = repoRoot
	}
	require.Contains(t, stacks, "dev")
	require.Contains(t, stacks, "animecon")
	return stacks
}

// readTree returns every file under dir by slash-separated relative path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		tree[filepath.ToSlash(rel)] = string(data)
		return err
	}))
	return tree
}

func sortedPaths(tree map[string]string) []string {
	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}

// TestRenderGolden renders each stack and compares the whole tree with testdata/render/STACK/.
// UPDATE_GOLDEN=1 (`make golden`) rewrites the golden trees after a deliberate change.
func TestRenderGolden(t *testing.T) {
	stacks := renderStacks(t)
	entries, err := os.ReadDir(renderTestdata)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			require.Contains(t, stacks, e.Name(), "%s/%s renders a stack that is gone: delete it", renderTestdata, e.Name())
		}
	}
	for stack, dir := range stacks {
		t.Run(stack, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "rendered")
			stdout, _, err := runRenderForTest(t, "--stack", stack, "--dir", dir, "--out", out)
			require.NoError(t, err)
			require.Contains(t, stdout, "rendered stack "+stack+" into "+out)
			got := readTree(t, out)

			golden := filepath.Join(renderTestdata, stack)
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				// The render replaces its own previous output, which is what this exercises too.
				_, _, err := runRenderForTest(t, "--stack", stack, "--dir", dir, "--out", golden)
				require.NoError(t, err)
			}
			_, err = os.Stat(golden)
			require.NoError(t, err, "run with UPDATE_GOLDEN=1 to create it")
			want := readTree(t, golden)
			require.Equal(t, sortedPaths(want), sortedPaths(got))
			for _, p := range sortedPaths(want) {
				require.Equal(t, want[p], got[p], "%s differs from %s; UPDATE_GOLDEN=1 rewrites it", p, golden)
			}
		})
	}
}

// TestRenderIsWhatTheMachinesGet checks the render against the renderers the Pulumi components call,
// file by file, and that the placeholders are the only stand-ins.
func TestRenderIsWhatTheMachinesGet(t *testing.T) {
	for _, tt := range []struct {
		stack, dir string
		edges      []string
	}{
		{"dev", repoRoot, []string{"ams3-1"}},
		{"animecon", repoRoot, []string{"ams3-1", "ams3-2", "nyc3-1", "nyc3-2", "sgp1-1", "sgp1-2"}},
		{"byo", renderTestdata, []string{"fra1-1"}},
	} {
		t.Run(tt.stack, func(t *testing.T) {
			out := t.TempDir()
			_, _, err := runRenderForTest(t, "--stack", tt.stack, "--dir", tt.dir, "--out", out)
			require.NoError(t, err)
			got := readTree(t, out)

			s, err := config.LoadStackFile(filepath.Join(tt.dir, "Pulumi."+tt.stack+".yaml"))
			require.NoError(t, err)
			st, err := blueprint.New(s)
			require.NoError(t, err)
			originIP := blueprint.PlaceholderOriginAddress.String()
			if st.Origin.BYO {
				originIP = st.Origin.Address.String()
			}
			cloud := placeholderCloud(st)
			want := map[string]string{"README.txt": got["README.txt"]}
			origin, err := st.Origin.Render(cloud)
			require.NoError(t, err)
			want["origin/nginx.conf"] = origin.NginxConf
			if st.Origin.BYO {
				want["origin/bootstrap.sh"] = origin.Bootstrap
			} else {
				want["origin/user-data.yaml"] = origin.UserData
			}
			var edges []string
			for _, e := range st.Edges {
				edges = append(edges, e.Name)
				f, err := e.Render(cloud)
				require.NoError(t, err)
				want["edges/"+e.Name+"/nginx.conf"] = f.NginxConf
				want["edges/"+e.Name+"/user-data.yaml"] = f.UserData
				for _, sf := range f.Site {
					want["site/"+sf.Path] = sf.Content
					require.Contains(t, f.UserData, "path: /var/www/livecdn/"+sf.Path, "the page shown is the page each edge gets")
				}
			}
			require.Equal(t, tt.edges, edges)
			// The cloud resources are the program's own declarations, under mocks.
			require.Contains(t, got["cloud/resources.yaml"], "type: digitalocean:index/droplet:Droplet\n  name: "+edges[0]+"-droplet", "the resources file lists the program's declarations")
			require.NotContains(t, got["cloud/resources.yaml"], placeholderStreamKey, "secrets show as [secret]")
			want["cloud/resources.yaml"] = got["cloud/resources.yaml"]
			require.Equal(t, want, got)

			// The README lists exactly the files written, and explains the placeholders it used.
			for _, p := range sortedPaths(got) {
				require.Contains(t, got["README.txt"], "\n  "+p+" ")
			}
			require.Contains(t, got["README.txt"], placeholderStreamKey)
			require.Equal(t, s.Origin.BYO == nil, strings.Contains(got["README.txt"], blueprint.PlaceholderOriginAddress.String()))

			// Every edge pulls from the origin's (placeholder) address with the (placeholder) relay token.
			pull := "pull rtmp://" + originIP + ":1935/"
			token := "relay=" + nginx.RelayToken(placeholderStreamKey)
			for _, e := range edges {
				require.Contains(t, got["edges/"+e+"/nginx.conf"], pull)
				require.Contains(t, got["edges/"+e+"/nginx.conf"], token)
				require.Contains(t, got["edges/"+e+"/user-data.yaml"], pull)
			}
			require.Contains(t, got["origin/nginx.conf"], placeholderStreamKey)
			if s.HTTPS() {
				// The placeholder certificate, in the user data of the machines that serve it.
				require.Contains(t, got["README.txt"], "rendered-without-the-real-certificate.invalid")
				leaf := strings.Split(placeholderCertificate, "\n")[1] // the first line of base64
				require.Contains(t, got["origin/user-data.yaml"], leaf)
				for _, e := range edges {
					require.Contains(t, got["edges/"+e+"/user-data.yaml"], leaf)
				}
			}

			// The user data is cloud-config YAML.
			for _, p := range sortedPaths(got) {
				if strings.HasSuffix(p, "user-data.yaml") {
					require.True(t, strings.HasPrefix(got[p], "#cloud-config\n"), p)
					var doc map[string]any
					require.NoError(t, yaml.Unmarshal([]byte(got[p]), &doc), p)
					require.Contains(t, doc, "write_files", p)
				}
			}
		})
	}
}

// TestRenderPlaceholders checks that the placeholders pass the renderers' own rules, so a render
// never fails for want of the real values, and that they cannot be mistaken for real ones.
func TestRenderPlaceholders(t *testing.T) {
	s, err := config.LoadStackFile(filepath.Join(repoRoot, "Pulumi.dev.yaml"))
	require.NoError(t, err)
	require.True(t, s.StreamKey.Reveal() == "", "a stack file's stream key is never readable here")
	st, err := blueprint.New(s)
	require.NoError(t, err)
	require.NoError(t, st.Check(blueprint.Cloud{StreamKey: placeholderStreamKey}))
	require.Contains(t, placeholderStreamKey, "RENDERED-WITHOUT")
	require.True(t, netip.MustParsePrefix("192.0.2.0/24").Contains(blueprint.PlaceholderOriginAddress), "TEST-NET-1, RFC 5737")
}

// TestRenderReplacesAPreviousRender renders animecon, then dev into the same directory: what is left is
// exactly dev's render, with no stale edge directories.
func TestRenderReplacesAPreviousRender(t *testing.T) {
	out := t.TempDir()
	_, _, err := runRenderForTest(t, "--stack", "animecon", "--dir", repoRoot, "--out", out)
	require.NoError(t, err)
	_, _, err = runRenderForTest(t, "--stack", "dev", "--dir", repoRoot, "--out", out)
	require.NoError(t, err)

	fresh := filepath.Join(t.TempDir(), "dev")
	_, _, err = runRenderForTest(t, "--stack", "dev", "--dir", repoRoot, "--out", fresh)
	require.NoError(t, err)
	require.Equal(t, readTree(t, fresh), readTree(t, out))
	entries, err := os.ReadDir(filepath.Join(out, "edges"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "animecon's edge directories are gone")
}

func TestRenderErrors(t *testing.T) {
	tmp := t.TempDir()
	aFile := filepath.Join(tmp, "a-file")
	require.NoError(t, os.WriteFile(aFile, []byte("keep me\n"), 0o644))
	foreign := filepath.Join(tmp, "foreign")
	require.NoError(t, os.MkdirAll(foreign, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("keep me\n"), 0o644))
	fake := filepath.Join(tmp, "fake")
	require.NoError(t, os.MkdirAll(fake, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(fake, "README.txt"), []byte("my own readme\n"), 0o644))

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no stack", []string{"--out", filepath.Join(tmp, "x")}, "--stack is required"},
		{"no out", []string{"--stack", "dev", "--dir", repoRoot}, "--out is required"},
		{"positional stack", []string{"dev"}, `unexpected argument "dev"`},
		{"unknown stack", []string{"--stack", "nope", "--dir", repoRoot, "--out", filepath.Join(tmp, "nope")},
			"stack nope: read stack file"},
		{"path in the stack name", []string{"--stack", "..", "--out", filepath.Join(tmp, "x")}, "not a stack name"},
		{"out is a file", []string{"--stack", "dev", "--dir", repoRoot, "--out", aFile}, "is not a directory"},
		{"out holds other files", []string{"--stack", "dev", "--dir", repoRoot, "--out", foreign},
			"is not empty and not a previous render (no README.txt from livecdn render)"},
		{"out holds someone else's README", []string{"--stack", "dev", "--dir", repoRoot, "--out", fake},
			"README.txt was not written by livecdn render"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runRenderForTest(t, tt.args...)
			require.ErrorContains(t, err, tt.want)
		})
	}
	// A failed render created nothing and touched nothing.
	_, err := os.Stat(filepath.Join(tmp, "nope"))
	require.True(t, errors.Is(err, fs.ErrNotExist))
	require.Equal(t, map[string]string{"notes.txt": "keep me\n"}, readTree(t, foreign))
	require.Equal(t, map[string]string{"README.txt": "my own readme\n"}, readTree(t, fake))
	data, err := os.ReadFile(aFile)
	require.NoError(t, err)
	require.Equal(t, "keep me\n", string(data))

	// A file added to a previous render is never deleted: the render refuses and leaves everything.
	out := filepath.Join(tmp, "render")
	_, _, err = runRenderForTest(t, "--stack", "dev", "--dir", repoRoot, "--out", out)
	require.NoError(t, err)
	before := readTree(t, out)
	require.NoError(t, os.WriteFile(filepath.Join(out, "edges", "review-notes.md"), []byte("mine\n"), 0o644))
	_, _, err = runRenderForTest(t, "--stack", "animecon", "--dir", repoRoot, "--out", out)
	require.ErrorContains(t, err, "review-notes.md, which livecdn render did not write")
	after := readTree(t, out)
	require.Equal(t, "mine\n", after["edges/review-notes.md"])
	delete(after, "edges/review-notes.md")
	require.Equal(t, before, after)
}

// TestRenderStackNamesWhatFailed: the config package rejects what the renderers would, so only
// settings changed after loading reach a renderer's error; it must say which machine's file failed.
func TestRenderStackNamesWhatFailed(t *testing.T) {
	s, err := config.LoadStackFile(filepath.Join(repoRoot, "Pulumi.dev.yaml"))
	require.NoError(t, err)
	s.Stream.Name = "Not A Stream"
	_, err = renderStack("dev", s)
	require.ErrorContains(t, err, "player page: invalid player spec: Stream.Name")

	s, err = config.LoadStackFile(filepath.Join(repoRoot, "Pulumi.dev.yaml"))
	require.NoError(t, err)
	s.Origin.BYO = &config.BYOOrigin{} // no address for the edges to pull from
	_, err = renderStack("dev", s)
	require.ErrorContains(t, err, "edge ams3-1: the origin's address is not known")
}

func TestRenderDispatch(t *testing.T) {
	var out, errOut bytes.Buffer
	dir := filepath.Join(t.TempDir(), "out")
	code := run(context.Background(), []string{"render", "--stack", "myorg/livecdn/dev", "--dir", repoRoot, "--out", dir},
		&out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.FileExists(t, filepath.Join(dir, "origin", "user-data.yaml"))

	_, stderr, err := runRenderForTest(t, "-h")
	require.True(t, errors.Is(err, flag.ErrHelp))
	require.Contains(t, stderr, "usage: livecdn render --stack NAME --out DIR")

	out.Reset()
	errOut.Reset()
	require.Equal(t, 2, run(context.Background(), nil, &out, &errOut))
	require.Contains(t, errOut.String(), "render ")
}

// TestWorkflowsOfferEveryStack keeps the manual up and destroy workflows' stack choices in step with
// the committed stack files: a new event is deployable from Actions as soon as its file lands.
func TestWorkflowsOfferEveryStack(t *testing.T) {
	var want []string
	for stack, dir := range renderStacks(t) {
		if dir == repoRoot {
			want = append(want, stack)
		}
	}
	slices.Sort(want)
	for _, name := range []string{"up.yml", "destroy.yml"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, ".github", "workflows", name))
		require.NoError(t, err)
		var workflow struct {
			On struct {
				WorkflowDispatch struct {
					Inputs struct {
						Stack struct {
							Options []string `yaml:"options"`
						} `yaml:"stack"`
					} `yaml:"inputs"`
				} `yaml:"workflow_dispatch"`
			} `yaml:"on"`
		}
		require.NoError(t, yaml.Unmarshal(data, &workflow), name)
		got := slices.Sorted(slices.Values(workflow.On.WorkflowDispatch.Inputs.Stack.Options))
		require.Equal(t, want, got, "%s: the stack input's options must list every Pulumi.STACK.yaml", name)
	}
}
