package machines

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/nginx"
	"github.com/livecdn/livecdn/rehearsal"
)

// TestDevStack boots the committed dev stack (one origin, one edge) from the
// user data `livecdn render --stack dev` shows, then checks the firewall,
// the README's publish command and an origin reboot.
func TestDevStack(t *testing.T) {
	r := rehearse(t, "dev", loadStack(t, "dev"))
	info := r.Info()
	origin, edge := machine(t, r, blueprint.OriginName), machine(t, r, "ams3-1")

	// Before a stream, the edge runs livecdn's config and says it has none.
	eventually(t, "the edge answers 503 before a stream", healTimeout, wantStatus(t, r, edge.Health, 503))

	// The firewall the program declares, on the VMs' packets.
	rtmp := net.JoinHostPort(origin.Address, strconv.Itoa(blueprint.RTMPPort))
	ssh := func(addr string) string { return net.JoinHostPort(addr, strconv.Itoa(blueprint.SSHPort)) }
	stat := net.JoinHostPort(origin.Address, strconv.Itoa(blueprint.StatPort))
	wantDropped(t, r, r.ViewerAddress(), rtmp, "a viewer publishing to the origin")
	wantDropped(t, r, r.ViewerAddress(), ssh(origin.Address), "a viewer's ssh to the origin")
	wantDropped(t, r, r.ViewerAddress(), ssh(edge.Address), "a viewer's ssh to the edge")
	wantDropped(t, r, r.ViewerAddress(), stat, "a viewer reading the origin's stat page")
	wantOpen(t, r, r.EncoderAddress(), rtmp, "the encoder publishing")
	wantOpen(t, r, r.AdminAddress(), ssh(origin.Address), "the operator's ssh")
	wantOpen(t, r, r.AdminAddress(), stat, "the operator reading the stat page")

	// The metadata service serves the user data, which holds a secret, to
	// root only: the droplet's own rules refuse everyone else.
	metadata := "curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://" + nginx.MetadataAddress + rehearsal.MetadataUserDataPath
	for _, m := range []string{blueprint.OriginName, "ams3-1"} {
		vm := r.VM(m)
		out, err := vm.SSH(context.Background(), r.AdminAddress(), metadata)
		require.NoError(t, err, "%s: root reads the metadata", m)
		require.Equal(t, "200", out, "%s: root reads its user data", m)
		out, err = vm.SSH(context.Background(), r.AdminAddress(), "runuser -u nobody -- "+metadata+" || echo refused")
		require.NoError(t, err)
		require.Equal(t, "000refused", strings.TrimSpace(out), "%s: an unprivileged process must not read the user data", m)
	}

	// The same origin as the team's own server: the bootstrap script `pulumi
	// up` sends over ssh writes what differs and restarts nginx; sent again
	// unchanged, it touches nothing.
	byoBootstrapIsIdempotent(t, r, netip.MustParseAddr(origin.Address))

	// The README's publish command, from the encoder's address.
	encoder := publishAsTheREADMESays(t, r, false)
	eventually(t, "the edge's /healthz turns 200", healTimeout, wantStatus(t, r, edge.Health, 200))
	eventually(t, "the edge's playlist plays at the published size", healTimeout, playsAt(r, edge.HLS, "1280x720"))

	// What `livecdn status` reads, as shipped: the exporters and the status
	// document answer the operator, and the firewall keeps viewers out.
	for _, port := range []int{blueprint.NodeExporterPort, blueprint.NginxExporterPort} {
		addr := net.JoinHostPort(edge.Address, strconv.Itoa(port))
		wantDropped(t, r, r.ViewerAddress(), addr, "a viewer reading an edge's exporter")
		wantOpen(t, r, r.AdminAddress(), addr, "the operator reading an edge's exporter")
	}
	// The origin droplet's node exporter, which the bring-your-own
	// bootstrap above neither installs nor stops.
	originExporter := net.JoinHostPort(origin.Address, strconv.Itoa(blueprint.NodeExporterPort))
	wantDropped(t, r, r.ViewerAddress(), originExporter, "a viewer reading the origin's node exporter")
	wantOpen(t, r, r.AdminAddress(), originExporter, "the operator reading the origin's node exporter")
	for url, want := range map[string]string{
		blueprint.NodeExporterURL(edge.Address):   "\nnode_network_transmit_bytes_total{",
		blueprint.NginxExporterURL(edge.Address):  "\nnginx_up 1\n",
		blueprint.EdgeStatusURL(edge.Address):     `"edge": "ams3-1"`,
		blueprint.NodeExporterURL(origin.Address): "\nnode_cpu_seconds_total{",
	} {
		eventually(t, "the operator reads "+url, healTimeout, adminBodyContains(r, url, want))
	}
	require.NoError(t, wantStatus(t, r, blueprint.EdgeStatusURL(edge.Address), 403)(context.Background()), "a viewer reading the status document")

	// The origin loses power and boots again (a droplet's power cycle): the
	// edge pulls again by itself; the encoder, like OBS, reconnects.
	vm := r.VM(blueprint.OriginName)
	bootID := func(ctx context.Context) (string, error) {
		return vm.SSH(ctx, r.AdminAddress(), "cat /proc/sys/kernel/random/boot_id")
	}
	before, err := bootID(context.Background())
	require.NoError(t, err)
	stopPublisher(encoder)
	require.NoError(t, vm.Reset())
	eventually(t, "the origin boots again", 5*time.Minute, func(ctx context.Context) error {
		after, err := bootID(ctx)
		if err == nil && after == before {
			return errors.New("still the same boot")
		}
		return err
	})
	eventually(t, "the origin takes a publisher again", healTimeout, func(ctx context.Context) error {
		conn, err := r.Network().Dial(ctx, "tcp", rtmp, r.EncoderAddress())
		if err != nil {
			return err
		}
		return conn.Close()
	})
	publishAsTheREADMESays(t, r, false)
	eventually(t, "the edge serves the stream again, untouched", 2*healTimeout, wantStatus(t, r, edge.Health, 200))
	eventually(t, "and it plays", healTimeout, playsAt(r, edge.HLS, "1280x720"))
	t.Logf("dev rehearsal: %s", info.Netns)
}

// adminBodyContains GETs url from the operator's address and wants 200 and
// a body containing want.
func adminBodyContains(r *rehearsal.Rehearsal, url, want string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		client := r.Network().HTTPClient(r.AdminAddress(), 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			return fmt.Errorf("GET %s = %d, want 200 with %q", url, resp.StatusCode, want)
		}
		return nil
	}
}

// byoBootstrapIsIdempotent runs, on the origin VM, the bootstrap a
// bring-your-own origin at its address would get, twice.
func byoBootstrapIsIdempotent(t *testing.T, r *rehearsal.Rehearsal, addr netip.Addr) {
	t.Helper()
	s := loadStack(t, "dev")
	s.Origin = config.Origin{BYO: &config.BYOOrigin{Address: addr, User: config.DefaultBYOUser, Port: config.DefaultBYOPort}}
	st, err := blueprint.New(s)
	require.NoError(t, err)
	files, err := st.Origin.Render(blueprint.Cloud{OriginAddress: addr, StreamKey: r.Info().StreamKey})
	require.NoError(t, err)
	vm := r.VM(blueprint.OriginName)
	// The script travels as base64 in the command: VM.SSH sends no stdin.
	run := "echo " + base64.StdEncoding.EncodeToString([]byte(files.Bootstrap)) + " | base64 -d | sh -s"
	mainPID := func() string {
		out, err := vm.SSH(context.Background(), r.AdminAddress(), "systemctl show -p MainPID --value nginx")
		require.NoError(t, err)
		return strings.TrimSpace(out)
	}
	before := mainPID()
	out, err := vm.SSH(context.Background(), r.AdminAddress(), run)
	require.NoError(t, err, "first bootstrap:\n%s", out)
	t.Logf("first bootstrap:\n%s", out)
	require.Contains(t, out, "livecdn: wrote "+nginx.ApplyScriptPath, "the droplet's apply script guards the metadata; a team's server's does not")
	require.NotEqual(t, before, mainPID(), "a changed file restarts nginx")
	restarted := mainPID()
	out, err = vm.SSH(context.Background(), r.AdminAddress(), run)
	require.NoError(t, err, "second bootstrap:\n%s", out)
	require.Contains(t, out, "livecdn: nothing changed; nginx keeps running")
	require.NotContains(t, out, "livecdn: wrote")
	require.Equal(t, restarted, mainPID(), "nothing changed, so nginx was not restarted")
}
