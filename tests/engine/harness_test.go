package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/internal/throwaway"
	"github.com/livecdn/livecdn/program"
)

// The Pulumi tools `make engine-tools` builds (tools/engine-tools.sh).
const (
	toolsDir     = ".cache/pulumi" // under the repository; auto.NewPulumiCommand wants ROOT/bin/pulumi
	cliModule    = "github.com/pulumi/pulumi/pkg/v3"
	hostModule   = "github.com/pulumi/pulumi/sdk/v3"
	cliBinary    = "pulumi"
	hostBinary   = "pulumi-language-go"
	cliWrapper   = "tools/pulumi-cli"
	hostWrapper  = "tools/pulumi-language-go"
	standinPkg   = "./tests/engine/standin"
	testPassword = "engine-test-passphrase"
	// testStreamKey stands in for the secret a team sets with `pulumi config set --secret`.
	testStreamKey = "engine-test-stream-key-0123456789"
)

// plugins are the resource packages the program uses: the Go module of each
// SDK and the folder of its pulumi-plugin.json, which names the plugin
// version the SDK asks the engine for.
var plugins = []struct{ name, module, dir string }{
	{"digitalocean", "github.com/pulumi/pulumi-digitalocean/sdk/v4", "go/digitalocean"},
	{"cloudflare", "github.com/pulumi/pulumi-cloudflare/sdk/v5", "go/cloudflare"},
	{"command", "github.com/pulumi/pulumi-command/sdk", "go/command"},
}

// repoRoot is the repository's root: this package is tests/engine.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	return root
}

// engine is one isolated Pulumi installation: its own PULUMI_HOME with the
// stand-in plugins, a file backend, and a project folder outside the
// repository whose program is the repository's.
type engine struct {
	ws      auto.Workspace
	project string
}

// newEngine checks that the tools are built, installs the stand-in under
// each plugin name and version the SDKs request, and sets up a project whose
// Pulumi.yaml is the repository's, pointed at the repository's program.
func newEngine(ctx context.Context, t *testing.T) *engine {
	t.Helper()
	root := repoRoot(t)
	tools := filepath.Join(root, toolsDir)
	requireTool(t, root, tools, cliBinary, cliWrapper, cliModule)
	requireTool(t, root, tools, hostBinary, hostWrapper, hostModule)

	tmp := t.TempDir()
	home, state, project := filepath.Join(tmp, "home"), filepath.Join(tmp, "state"), filepath.Join(tmp, "project")
	for _, dir := range []string{home, state, project} {
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	env := map[string]string{
		"PULUMI_HOME":                                 home,
		"PULUMI_BACKEND_URL":                          "file://" + state,
		"PULUMI_CONFIG_PASSPHRASE":                    testPassword,
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
	}

	standin := filepath.Join(tmp, "standin")
	run(t, root, nil, "go", "build", "-o", standin, standinPkg)
	pulumiBin := filepath.Join(tools, "bin", cliBinary)
	for _, p := range plugins {
		run(t, root, env, pulumiBin, "plugin", "install", "resource", p.name, pluginVersion(t, root, p.module, p.dir),
			"--file", standin)
	}

	program := filepath.Join(tmp, "program")
	snapshot(t, root, program)
	writeProject(t, root, project, program)

	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: tools})
	require.NoError(t, err)
	ws, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(project), auto.Pulumi(cmd), auto.PulumiHome(home),
		auto.EnvVars(env), auto.SecretsProvider("passphrase"))
	require.NoError(t, err)
	return &engine{ws: ws, project: project}
}

// requireTool fails, never skips, when a tool is missing or built at another
// version than its wrapper module pins.
func requireTool(t *testing.T, root, tools, name, wrapper, module string) {
	t.Helper()
	want := requiredVersion(t, filepath.Join(root, wrapper, "go.mod"), module)
	got, err := os.ReadFile(filepath.Join(tools, "bin", name+".version"))
	if _, statErr := os.Stat(filepath.Join(tools, "bin", name)); err != nil || statErr != nil {
		t.Fatalf("%s %s is not built in %s/bin: run `make engine-tools` (about 8 minutes the first time)", name, want, tools)
	}
	if strings.TrimSpace(string(got)) != want {
		t.Fatalf("%s in %s/bin is %s, but %s pins %s: run `make engine-tools`",
			name, tools, strings.TrimSpace(string(got)), wrapper, want)
	}
}

// requiredVersion reads the version of module a go.mod requires.
func requiredVersion(t *testing.T, gomod, module string) string {
	t.Helper()
	data, err := os.ReadFile(gomod)
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + `\s+(v\S+)`).FindSubmatch(data)
	require.NotNil(t, m, "%s requires no %s", gomod, module)
	return string(m[1])
}

// pluginVersion is the plugin version an SDK module asks for, from the
// pulumi-plugin.json it ships (go list finds the module the build uses).
func pluginVersion(t *testing.T, root, module, dir string) string {
	t.Helper()
	out := run(t, root, nil, "go", "list", "-m", "-json", module)
	var m struct{ Dir string }
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	require.NotEmpty(t, m.Dir, "%s is not in the module cache: run `go mod download`", module)
	data, err := os.ReadFile(filepath.Join(m.Dir, dir, "pulumi-plugin.json"))
	require.NoError(t, err)
	var info struct{ Name, Version string }
	require.NoError(t, json.Unmarshal(data, &info))
	require.NotEmpty(t, info.Version, "%s/%s/pulumi-plugin.json", module, dir)
	return info.Version
}

// snapshot copies the repository's files (not .git or .cache) to dir. The
// language host builds the program anew for every operation: from a copy,
// every operation of one test runs the same program even while people edit
// the working tree.
func snapshot(t *testing.T, root, dir string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && (rel == ".git" || rel == ".cache"):
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
	require.NoError(t, err, "snapshot the program")
}

// writeProject copies Pulumi.yaml, with `main` pointing at the program, and
// the committed stack files to project. Pulumi writes each stack's
// encryption salt and secrets into its stack file, so the copies keep the
// repository clean.
func writeProject(t *testing.T, root, project, program string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Pulumi.yaml"))
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))
	top := doc.Content[0]
	require.Equal(t, yaml.MappingNode, top.Kind, "Pulumi.yaml is not a mapping")
	setKey(top, "main", program)
	out, err := yaml.Marshal(&doc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.yaml"), out, 0o644))

	stacks, err := filepath.Glob(filepath.Join(root, "Pulumi.*.yaml"))
	require.NoError(t, err)
	for _, f := range stacks {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(project, filepath.Base(f)), data, 0o644))
	}
}

func setKey(mapping *yaml.Node, key, value string) {
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value == key {
			mapping.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Value: value}
			return
		}
	}
	mapping.Content = append(mapping.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Value: key}, &yaml.Node{Kind: yaml.ScalarNode, Value: value})
}

// run runs a command in dir and returns its standard output; env adds to the
// test's environment.
func run(t *testing.T, dir string, env map[string]string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), stderr.String())
	return string(out)
}

// newStack creates a stack from its stack file in the project and sets its
// secrets as the stack file's instructions say: the stream key and, for a
// stack with a domain, a certificate for it (`livecdn cert` stores one).
func (e *engine) newStack(ctx context.Context, t *testing.T, name string) auto.Stack {
	t.Helper()
	s, err := auto.NewStack(ctx, name, e.ws)
	require.NoError(t, err)
	e.set(ctx, t, s, config.KeyStreamKey, auto.ConfigValue{Value: testStreamKey, Secret: true})
	settings, err := config.LoadStackFile(filepath.Join(e.project, "Pulumi."+name+".yaml"))
	require.NoError(t, err)
	if settings.Domain != "" {
		e.certify(ctx, t, s, settings.Domain)
	}
	return s
}

// wantWarnings are the warnings a preview of the stack file (from dir) with
// real values gives: only that a stack recording without livecdn:recordings
// keeps its recording on the origin's disk.
func wantWarnings(t *testing.T, dir, name string) []string {
	t.Helper()
	s, err := config.LoadStackFile(filepath.Join(dir, "Pulumi."+name+".yaml"))
	require.NoError(t, err)
	if s.Stream.Record && s.Recordings == nil {
		return []string{program.LocalRecordingWarning}
	}
	return nil
}

// assertWarnings checks that got, a preview's warnings, are exactly want.
func assertWarnings(t *testing.T, want, got []string) {
	t.Helper()
	trimmed := make([]string, len(got))
	for i, w := range got {
		trimmed[i] = strings.TrimSpace(w)
	}
	assert.ElementsMatch(t, want, trimmed, "a stack with real values previews without other warnings")
}

// fixExamples replaces the example values of a stack file (from dir) with
// real ones (exampleValueFixes), and its certificate with one for the real
// domain.
func (e *engine) fixExamples(ctx context.Context, t *testing.T, s auto.Stack, dir, name string) {
	t.Helper()
	for path, value := range exampleValueFixes(t, dir, name) {
		e.set(ctx, t, s, path, auto.ConfigValue{Value: value})
		if path == config.KeyDomain {
			e.certify(ctx, t, s, value)
		}
	}
}

// certify stores a certificate for domain and *.domain from a CA made for
// the test, as `livecdn cert` would store one from Let's Encrypt.
func (e *engine) certify(ctx context.Context, t *testing.T, s auto.Stack, domain string) {
	t.Helper()
	_, leaf, err := throwaway.ForDomain("livecdn engine test", domain, time.Now().AddDate(0, 0, 90))
	require.NoError(t, err)
	e.set(ctx, t, s, config.KeyTLSCertificate, auto.ConfigValue{Value: leaf.Chain, Secret: true})
	e.set(ctx, t, s, config.KeyTLSKey, auto.ConfigValue{Value: leaf.Key, Secret: true})
}

// set runs `pulumi config set --path`, so keys inside objects and arrays can
// be set the way an operator would.
func (e *engine) set(ctx context.Context, t *testing.T, s auto.Stack, path string, v auto.ConfigValue) {
	t.Helper()
	require.NoError(t, s.SetConfigWithOptions(ctx, path, v, &auto.ConfigOptions{Path: true}), "set %s", path)
}

// step is what the engine plans, or did, to one resource.
type step struct {
	op     apitype.OpType // normalised: create, same, update, replace or delete
	urn    resource.URN
	parent resource.URN
	keys   []string // the inputs that force a replacement
	diffs  []string // the inputs that change
}

// name and typ are the resource's name and type (the last of its type chain).
func (s step) name() string { return s.urn.Name() }
func (s step) typ() string  { return string(s.urn.Type()) }

// parentType is the parent's type, or "" for the stack itself.
func (s step) parentType() string {
	if s.parent == "" {
		return ""
	}
	return string(s.parent.Type())
}

// plan is every resource's step in one preview or update, by URN.
type plan struct {
	steps    map[resource.URN]step
	warnings []string
	// events are the engine's step events in the order it emitted them:
	// when each step began (pre) and finished (done).
	events []event
}

// event is one step's start or finish, unfolded: a replacement shows as
// create-replacement, replace and, at the end of the run, delete-replaced.
type event struct {
	done bool
	op   apitype.OpType
	urn  resource.URN
}

// collect reads an operation's engine events until the stream closes. The
// engine emits several steps for a replacement (create-replacement,
// replace, delete-replaced); they fold into one "replace".
func collect(ch <-chan events.EngineEvent, out *plan, done chan<- struct{}) {
	out.steps = map[resource.URN]step{}
	for ev := range ch {
		if d := ev.DiagnosticEvent; d != nil && d.Severity == "warning" {
			out.warnings = append(out.warnings, d.Message)
		}
		if o := ev.ResOutputsEvent; o != nil {
			out.events = append(out.events, event{done: true, op: o.Metadata.Op, urn: resource.URN(o.Metadata.URN)})
		}
		pre := ev.ResourcePreEvent
		if pre == nil {
			continue
		}
		m := pre.Metadata
		out.events = append(out.events, event{op: m.Op, urn: resource.URN(m.URN)})
		urn := resource.URN(m.URN)
		s, seen := out.steps[urn]
		s.urn = urn
		if m.New != nil {
			s.parent = resource.URN(m.New.Parent)
		} else if m.Old != nil && s.parent == "" {
			s.parent = resource.URN(m.Old.Parent)
		}
		s.keys = union(s.keys, m.Keys)
		s.diffs = union(s.diffs, m.Diffs)
		op := m.Op
		switch op {
		case apitype.OpCreateReplacement, apitype.OpReplace, apitype.OpDeleteReplaced,
			apitype.OpDiscardReplaced, apitype.OpImportReplacement:
			op = apitype.OpReplace
		}
		if !seen || op == apitype.OpReplace {
			s.op = op
		}
		out.steps[urn] = s
	}
	close(done)
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// preview runs `pulumi preview` and returns its steps.
func preview(ctx context.Context, t *testing.T, s auto.Stack) (plan, auto.PreviewResult) {
	t.Helper()
	ch := make(chan events.EngineEvent)
	var p plan
	done := make(chan struct{})
	go collect(ch, &p, done)
	res, err := s.Preview(ctx, optpreview.EventStreams(ch))
	<-done
	require.NoError(t, err, "preview %s", s.Name())
	return p, res
}

// up runs `pulumi up` and returns its steps.
func up(ctx context.Context, s auto.Stack) (plan, auto.UpResult, error) {
	ch := make(chan events.EngineEvent)
	var p plan
	done := make(chan struct{})
	go collect(ch, &p, done)
	res, err := s.Up(ctx, optup.EventStreams(ch))
	<-done
	return p, res, err
}

// render lists the steps, one "OP TYPE-CHAIN NAME" line each, sorted: the
// type chain (the parents' types) shows where a resource sits.
func (p plan) render() string {
	var lines []string
	for _, s := range p.steps {
		lines = append(lines, fmt.Sprintf("%-7s %s %s", s.op, s.urn.QualifiedType(), s.name()))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

// changes renders the steps that are not "same".
func (p plan) changes() string {
	var lines []string
	for _, line := range strings.Split(strings.TrimSuffix(p.render(), "\n"), "\n") {
		if !strings.HasPrefix(line, string(apitype.OpSame)+" ") {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

// byOp lists the steps of one kind, by name, for messages.
func (p plan) byOp(op apitype.OpType) []string {
	var names []string
	for _, s := range p.steps {
		if s.op == op {
			names = append(names, s.typ()+" "+s.name())
		}
	}
	slices.Sort(names)
	return names
}

// find returns the step of the resource of type typ named name.
func (p plan) find(t *testing.T, typ, name string) step {
	t.Helper()
	for _, s := range p.steps {
		if s.typ() == typ && s.name() == name {
			return s
		}
	}
	t.Fatalf("no %s %s in the plan:\n%s", typ, name, p.render())
	return step{}
}

// exampleValueFixes says what replaces each example value the committed
// stack file carries, as config.ExampleValues reports them: CIDRs the
// program accepts (shared address space, RFC 6598, never used here) and a
// hostname under .internal, which no public zone holds.
func exampleValueFixes(t *testing.T, root, stack string) map[string]string {
	t.Helper()
	s, err := config.LoadStackFile(filepath.Join(root, "Pulumi."+stack+".yaml"))
	require.NoError(t, err)
	err = s.ExampleValues()
	require.Error(t, err, "stack %s has no example values: drop this step", stack)
	fixes := map[string]string{}
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
	for i, e := range joined.Unwrap() {
		var p *config.Problem
		require.True(t, errors.As(e, &p), "%v", e)
		switch {
		case strings.HasPrefix(p.Path, config.KeyIngestCIDRs+"["), strings.HasPrefix(p.Path, config.KeyAdminCIDRs+"["):
			fixes[p.Path] = fmt.Sprintf("100.64.%d.0/28", i)
		case p.Path == config.KeyDomain:
			fixes[p.Path] = "live." + stack + ".livecdn.internal"
		default:
			t.Fatalf("the engine test has no real value for %s: teach exampleValueFixes one", p.Path)
		}
	}
	return fixes
}
