package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/status"
)

func runStatusForTest(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runForTest(t, runStatus, args...)
}

// animeconOutputs is `pulumi stack output --json` of a deployed animecon
// (documentation addresses), with edges listed or left out.
func animeconOutputs(edges ...string) string {
	out := map[string]any{"ingestUrl": "rtmp://203.0.113.5:1935/live/con-main", "streamKey": "[secret]",
		"recordings": map[string]string{"bucket": "team-recordings", "statusUrl": blueprint.RecordingsStatusURL("203.0.113.5")}}
	es := map[string]any{}
	for i, e := range edges {
		es[e] = map[string]string{"region": e[:4], "address": fmt.Sprintf("203.0.113.%d", 10+i), "hlsUrl": "x", "healthUrl": "y"}
	}
	out["edges"] = es
	data, _ := json.Marshal(out)
	return string(data)
}

var animeconEdges = []string{"ams3-1", "ams3-2", "nyc3-1", "nyc3-2", "sgp1-1", "sgp1-2"}

func loadAnimecon(t *testing.T) *blueprint.Stack {
	t.Helper()
	s, err := config.LoadStackFile(filepath.Join(repoRoot, "Pulumi.animecon.yaml"))
	require.NoError(t, err)
	st, err := blueprint.New(s)
	require.NoError(t, err)
	return st
}

func TestStackTargetsPairOutputsWithThePlan(t *testing.T) {
	st := loadAnimecon(t)
	tg, err := stackTargets("animecon", st, []byte(animeconOutputs(animeconEdges...)))
	require.NoError(t, err)
	require.Equal(t, status.OriginTarget{
		StatURL:         "http://203.0.113.5:8080/stat",
		RecordingsURL:   "http://203.0.113.5:8080/recordings.json", // from the recordings output
		NodeExporterURL: "http://203.0.113.5:9100/metrics",
		NICGbps:         2, // c-4
	}, tg.Origin)
	require.Equal(t, 2000, tg.PlannedViewers)
	require.Len(t, tg.Edges, 6)
	require.Equal(t, status.EdgeTarget{
		Name: "ams3-1", Region: "ams3",
		HealthURL:        "http://203.0.113.10:80/healthz",
		StatusURL:        "http://203.0.113.10:80/livecdn/status",
		NodeExporterURL:  "http://203.0.113.10:9100/metrics",
		NginxExporterURL: "http://203.0.113.10:9113/metrics",
		NICGbps:          10, CapacityViewers: 1365,
	}, tg.Edges[0])
	require.Equal(t, "sgp1-2", tg.Edges[5].Name)
}

// A team's own server runs no node exporter (nothing of ours would keep it
// to admins): its load is not asked for, so status shows it as unknown.
func TestStackTargetsOfABringYourOwnOrigin(t *testing.T) {
	s, err := config.LoadStackFile(filepath.Join(renderTestdata, "Pulumi.byo.yaml"))
	require.NoError(t, err)
	st, err := blueprint.New(s)
	require.NoError(t, err)
	outputs := `{"ingestUrl":"rtmp://203.0.113.50:1935/live/x","edges":{"fra1-1":{"region":"fra1","address":"203.0.113.60"}}}`
	tg, err := stackTargets("byo", st, []byte(outputs))
	require.NoError(t, err)
	require.Equal(t, status.OriginTarget{StatURL: "http://203.0.113.50:8080/stat"}, tg.Origin)
	require.Equal(t, "http://203.0.113.60:9100/metrics", tg.Edges[0].NodeExporterURL)
}

func TestStackTargetsRefuseOutputsThatDoNotMatch(t *testing.T) {
	st := loadAnimecon(t)
	for _, c := range []struct{ name, outputs, want string }{
		{"not deployed", animeconOutputs(animeconEdges[:5]...), "edge sgp1-2 is in the stack file but not in the stack's outputs: run `pulumi up -s animecon` first"},
		{"removed from the stack file", animeconOutputs(append(animeconEdges, "ams3-3")...), "edges ams3-3 are deployed but no longer in the stack file"},
		{"no ingest URL", `{"edges":{}}`, `output ingestUrl "" has no origin address`},
		{"not JSON", `warning: x`, "stack animecon outputs: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := stackTargets("animecon", st, []byte(c.outputs))
			require.ErrorContains(t, err, c.want)
		})
	}
}

// TestStatusOfAStackReadsPulumiAndShowsDeadMachines runs `livecdn status
// --stack` with a stand-in Pulumi CLI on PATH whose outputs point at
// loopback addresses where nothing answers: every machine is shown, as
// unreachable, and the command still succeeds.
func TestStatusOfAStackReadsPulumiAndShowsDeadMachines(t *testing.T) {
	bin := t.TempDir()
	script := "#!/bin/sh\n" +
		"[ \"$*\" = 'stack output --json -s animecon' ] || { echo \"unexpected: $*\" >&2; exit 3; }\n" +
		"cat <<'EOF'\n" + strings.ReplaceAll(animeconOutputs(animeconEdges...), "203.0.113.", "127.0.3.") + "\nEOF\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "pulumi"), []byte(script), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	out, _, err := runStatusForTest(t, "--stack", "animecon", "--dir", repoRoot, "--json", "--timeout", "1s")
	require.NoError(t, err)
	var r status.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.False(t, r.Origin.Reachable)
	require.Equal(t, status.Load{}, r.Origin.Load, "the origin's node exporter is dead too")
	require.Len(t, r.Edges, 6)
	for _, e := range r.Edges {
		require.False(t, e.Healthy, e.Name)
		require.Nil(t, e.Viewers, e.Name)
		require.NotEmpty(t, e.Problems, e.Name)
	}
	require.Equal(t, 6*1365, r.CapacityViewers)
	require.Equal(t, 2000, r.PlannedViewers)

	screen, _, err := runStatusForTest(t, "--stack", "animecon", "--dir", repoRoot, "--timeout", "1s")
	require.NoError(t, err)
	require.Contains(t, screen, "ORIGIN  UNREACHABLE!")
	require.Contains(t, screen, "\n        egress Mbps: -   NIC: -   CPU: -\n")
	require.Contains(t, screen, "TOTAL   0/6 ok!")
}

// TestStatusWatchFollowsTheStacksOutputs: with --watch, status reads the
// stack's outputs again every --reload, so an edge a rolling `pulumi up`
// replaced is fetched at its new address; outputs it cannot read again
// leave the last ones in place and say why.
func TestStatusWatchFollowsTheStacksOutputs(t *testing.T) {
	bin := t.TempDir()
	outputs := strings.ReplaceAll(animeconOutputs(animeconEdges...), "203.0.113.", "127.0.3.")
	replaced := strings.Replace(outputs, `"127.0.3.10"`, `"127.0.3.99"`, 1)
	require.NotEqual(t, outputs, replaced)
	// The stand-in Pulumi CLI answers the outputs, then the outputs after
	// ams3-1 was replaced, then fails as a CLI without its backend does.
	script := "#!/bin/sh\n" +
		"n=$(cat " + bin + "/calls 2>/dev/null || echo 0); echo $((n + 1)) > " + bin + "/calls\n" +
		"case $n in\n" +
		"0) cat <<'EOF'\n" + outputs + "\nEOF\n;;\n" +
		"1) cat <<'EOF'\n" + replaced + "\nEOF\n;;\n" +
		"*) echo 'error: could not reach the backend' >&2; exit 255;;\n" +
		"esac\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "pulumi"), []byte(script), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runStatus(ctx, []string{"--stack", "animecon", "--dir", repoRoot, "--watch", "--json",
			"--interval", "1s", "--reload", "1s", "--timeout", "500ms"}, pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	lines.Buffer(nil, 1<<20)
	var reports []status.Report
	for len(reports) < 3 && lines.Scan() {
		var r status.Report
		require.NoError(t, json.Unmarshal(lines.Bytes(), &r))
		reports = append(reports, r)
	}
	cancel()
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain until runStatus returns
	require.NoError(t, <-done)
	require.Len(t, reports, 3)

	ams := func(r status.Report) string { return strings.Join(r.Edges[0].Problems, "; ") }
	require.Equal(t, "ams3-1", reports[0].Edges[0].Name)
	require.Contains(t, ams(reports[0]), "127.0.3.10")
	require.Empty(t, reports[0].Problems)
	require.Contains(t, ams(reports[1]), "127.0.3.99", "the replaced edge is fetched at its new address")
	require.Empty(t, reports[1].Problems)
	require.Contains(t, ams(reports[2]), "127.0.3.99", "the last outputs stay")
	require.Len(t, reports[2].Problems, 1)
	require.Contains(t, reports[2].Problems[0], "showing the outputs read before")
	require.Contains(t, reports[2].Problems[0], "could not reach the backend")
}

func TestStatusFlagErrors(t *testing.T) {
	lab := filepath.Join(t.TempDir(), "lab.json")
	require.NoError(t, os.WriteFile(lab, []byte(`{"ingest":"rtmp://127.0.0.1:1/live"}`), 0o644))
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--stack NAME or --lab FILE is required"},
		{[]string{"--stack", "animecon", "--lab", lab}, "--lab and --stack: give one"},
		{[]string{"--lab", lab, "--interval", "100ms"}, "--interval 100ms: refresh at most once a second"},
		{[]string{"--lab", lab, "--watch", "--interval", "2s", "--timeout", "5s"}, "--timeout 5s: use a positive duration below --interval (2s)"},
		{[]string{"--stack", "animecon", "--watch", "--interval", "10s", "--reload", "5s"}, "--reload 5s: read the outputs at most once per refresh (--interval 10s)"},
		{[]string{"--lab", filepath.Join(t.TempDir(), "none.json")}, "save the line `livecdn lab` prints"},
		{[]string{"--lab", lab}, "no originStat or edges"},
		{[]string{"--stack", "nosuch", "--dir", repoRoot}, "stack nosuch: "},
		{[]string{"--stack", "animecon", "extra"}, `unexpected argument "extra"`},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, _, err := runStatusForTest(t, c.args...)
			require.ErrorContains(t, err, c.want)
		})
	}
}
