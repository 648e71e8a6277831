// Command standin is a test double: never ship it as a provider, and never
// install it anywhere but a test's own PULUMI_HOME.
//
// It stands in for the digitalocean, cloudflare and command resource
// providers so the engine test (tests/engine) can run the real Pulumi engine
// over livecdn's program with no cloud and no network. It creates nothing:
// it answers the engine's gRPC calls the way the real providers would for
// the resources livecdn declares, and keeps no state of its own (the engine
// holds the state).
//
// The test installs the one binary once per package, under the plugin name
// and version each SDK requests (pulumi plugin install resource NAME VERSION
// --file BIN); the engine then starts it as pulumi-resource-NAME, and that
// file name tells it which package it serves.
//
// What it does, call by call (docs/ENGINE_TEST.md says why):
//   - Check refuses inputs the real provider or its API would refuse
//     (constraints.go: conflicting arguments, ranges, enums, name formats,
//     firewall limits), accepts the others as they are, and fails for a
//     resource type not in the kinds table, so a new type forces a
//     decision about which of its inputs replace it.
//   - Diff compares old and new inputs key by key and marks as a
//     replacement every changed key the real provider replaces on.
//   - Create echoes the inputs as outputs and adds the outputs the real
//     provider computes (IDs, addresses), derived from the resource's URN
//     and inputs so that runs are repeatable; in a preview those outputs
//     are unknown, as they are with the real providers.
//   - Update echoes the new inputs and keeps the computed outputs.
//   - Read returns the state the engine holds; Delete does nothing.
//   - Invoke (data sources) fails: livecdn's program must not need one
//     to be previewed.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// pluginPrefix is how the engine names a resource plugin's executable.
const pluginPrefix = "pulumi-resource-"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		os.Exit(1)
	}
}

// run serves the provider protocol the way provider.Main in the Pulumi SDK
// does (that package pulls in tracing modules livecdn does not otherwise
// need): listen on a free port, print it for the engine, and stop when the
// engine interrupts or goes away.
func run() error {
	pkg, err := packageOf(os.Args[0])
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// The engine passes logging and tracing flags first and its own
	// address last.
	if args := os.Args[1:]; len(args) > 0 && !strings.HasPrefix(args[len(args)-1], "-") {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		if err := rpcutil.Healthcheck(ctx, args[len(args)-1], 5*time.Minute, cancel); err != nil {
			return fmt.Errorf("watch the engine at %s: %w", args[len(args)-1], err)
		}
	}
	done := make(chan bool)
	go func() {
		<-ctx.Done()
		close(done)
	}()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: done,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, plugin.NewProviderServer(newStandin(pkg)))
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// The protocol: the first line on stdout is the port.
	fmt.Printf("%d\n", handle.Port)
	return <-handle.Done
}

// packageOf names the package a plugin executable serves from its file name.
func packageOf(executable string) (string, error) {
	name := strings.TrimSuffix(filepath.Base(executable), ".exe")
	pkg, ok := strings.CutPrefix(name, pluginPrefix)
	if !ok || kindsOf(pkg) == nil {
		return "", fmt.Errorf("started as %q; install this test double as %s<package> for one of: %s",
			name, pluginPrefix, strings.Join(packages(), ", "))
	}
	return pkg, nil
}

// standin serves one package's resources; see the package comment.
type standin struct {
	plugin.UnimplementedProvider

	pkg   string
	kinds map[string]kind
}

func newStandin(pkg string) *standin {
	return &standin{pkg: pkg, kinds: kindsOf(pkg)}
}

// GetPluginInfo reports the version the plugin was installed under, which
// is the one the SDK asked for: the engine warns about any other.
func (s *standin) GetPluginInfo(context.Context) (plugin.PluginInfo, error) {
	exe, err := os.Executable()
	if err != nil {
		return plugin.PluginInfo{}, err
	}
	v, err := installedVersion(exe, s.pkg)
	if err != nil {
		return plugin.PluginInfo{}, err
	}
	return plugin.PluginInfo{Version: &v}, nil
}

// installedVersion reads the version from the folder `pulumi plugin install`
// put the executable in: PULUMI_HOME/plugins/resource-NAME-vVERSION/.
func installedVersion(executable, pkg string) (semver.Version, error) {
	dir := filepath.Base(filepath.Dir(executable))
	v, ok := strings.CutPrefix(dir, "resource-"+pkg+"-v")
	if !ok {
		return semver.Version{}, fmt.Errorf("%s is not in a resource-%s-vVERSION folder: install it with "+
			"pulumi plugin install resource %s VERSION --file BIN", executable, pkg, pkg)
	}
	return semver.Parse(v)
}

// GetSchema answers with a schema that declares the package and no
// resources: the Go SDKs register resources without one, and nothing here
// generates code from it.
func (s *standin) GetSchema(context.Context, plugin.GetSchemaRequest) (plugin.GetSchemaResponse, error) {
	return plugin.GetSchemaResponse{Schema: []byte(fmt.Sprintf(`{"name":%q}`, s.pkg))}, nil
}

// CheckConfig accepts any provider configuration: the real providers want
// API tokens, which a test double has no use for.
func (s *standin) CheckConfig(_ context.Context, req plugin.CheckConfigRequest) (plugin.CheckConfigResponse, error) {
	return plugin.CheckConfigResponse{Properties: req.News}, nil
}

// DiffConfig reports changed provider settings as updates, never as a
// replacement of every resource.
func (s *standin) DiffConfig(_ context.Context, req plugin.DiffConfigRequest) (plugin.DiffConfigResponse, error) {
	return diffInputs(nil, oldInputs(req.OldInputs, req.OldOutputs), req.NewInputs), nil
}

// Configure accepts any configuration.
func (s *standin) Configure(context.Context, plugin.ConfigureRequest) (plugin.ConfigureResponse, error) {
	return plugin.ConfigureResponse{}, nil
}

// Check refuses what the real provider would (constraints.go) and
// otherwise accepts a known type's inputs unchanged.
func (s *standin) Check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	if _, ok := s.kinds[string(req.Type)]; !ok {
		return plugin.CheckResponse{Failures: []plugin.CheckFailure{{Reason: s.unknownType(string(req.Type))}}}, nil
	}
	if failures := checkInputs(string(req.Type), req.News); len(failures) > 0 {
		return plugin.CheckResponse{Failures: failures}, nil
	}
	return plugin.CheckResponse{Properties: req.News}, nil
}

// Diff marks the changed inputs, as replacements where the real provider
// replaces.
func (s *standin) Diff(_ context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	k, err := s.kind(string(req.Type))
	if err != nil {
		return plugin.DiffResponse{}, err
	}
	return diffInputs(k.replaceOn, oldInputs(req.OldInputs, req.OldOutputs), req.NewInputs), nil
}

// Create invents what the cloud would: an ID and the computed outputs.
func (s *standin) Create(_ context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	k, err := s.kind(string(req.Type))
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	outputs := req.Properties.Copy()
	if req.Preview {
		for _, key := range k.computed {
			if _, set := outputs[resource.PropertyKey(key)]; !set {
				outputs[resource.PropertyKey(key)] = resource.MakeComputed(resource.NewProperty(""))
			}
		}
		return plugin.CreateResponse{Properties: outputs, Status: resource.StatusOK}, nil
	}
	id, computed := k.create(newSeed(req.URN, req.Properties), req.Properties)
	for key, v := range computed {
		outputs[key] = v
	}
	return plugin.CreateResponse{ID: resource.ID(id), Properties: outputs, Status: resource.StatusOK}, nil
}

// Update echoes the new inputs and keeps what the cloud computed.
func (s *standin) Update(_ context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	k, err := s.kind(string(req.Type))
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	outputs := req.NewInputs.Copy()
	for _, key := range k.computed {
		pk := resource.PropertyKey(key)
		if _, set := outputs[pk]; !set {
			if old, ok := req.OldOutputs[pk]; ok {
				outputs[pk] = old
			}
		}
	}
	return plugin.UpdateResponse{Properties: outputs, Status: resource.StatusOK}, nil
}

// Read finds the resource exactly as the engine last saw it.
func (s *standin) Read(_ context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	return plugin.ReadResponse{
		ReadResult: plugin.ReadResult{ID: req.ID, Inputs: req.Inputs, Outputs: req.State},
		Status:     resource.StatusOK,
	}, nil
}

// Delete has nothing to delete.
func (s *standin) Delete(context.Context, plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	return plugin.DeleteResponse{Status: resource.StatusOK}, nil
}

// Invoke refuses every data source: none is faked.
func (s *standin) Invoke(_ context.Context, req plugin.InvokeRequest) (plugin.InvokeResponse, error) {
	return plugin.InvokeResponse{}, fmt.Errorf("test double %s: data source %s is not faked; "+
		"add it to tests/engine/standin or keep the program from needing it", s.pkg, req.Tok)
}

func (s *standin) kind(typ string) (kind, error) {
	k, ok := s.kinds[typ]
	if !ok {
		return kind{}, fmt.Errorf("%s", s.unknownType(typ))
	}
	return k, nil
}

func (s *standin) unknownType(typ string) string {
	return fmt.Sprintf("test double %s does not know %s: add it to tests/engine/standin/kinds.go "+
		"with the inputs its real provider replaces on and the outputs it computes", s.pkg, typ)
}

// oldInputs are what Diff compares against. State written before the engine
// kept inputs has outputs only; they include the inputs.
func oldInputs(inputs, outputs resource.PropertyMap) resource.PropertyMap {
	if inputs != nil {
		return inputs
	}
	return outputs
}
