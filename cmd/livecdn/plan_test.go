package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/plan"
)

// repoRoot holds the committed stack files; tests run in cmd/livecdn.
const repoRoot = "../.."

// runForTest runs a command's run function in-process and returns what it wrote.
func runForTest(t *testing.T, run func(context.Context, []string, io.Writer, io.Writer) error, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func runPlanForTest(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runForTest(t, runPlan, args...)
}

// TestPlanAnimecon checks the figures a person reads off the animecon plan, then compares the whole
// output with testdata/plan_animecon.golden (UPDATE_GOLDEN=1 rewrites it after a deliberate change).
func TestPlanAnimecon(t *testing.T) {
	out, _, err := runPlanForTest(t, "--stack", "animecon", "--dir", repoRoot)
	require.NoError(t, err)

	rows := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		if fields := strings.Fields(line); len(fields) > 0 {
			rows[fields[0]] = fields
		}
	}
	// region, viewers, size, NIC (2 fields), vCPU, viewers/edge, limit, needed, configured, edges, load,
	// TLS CPU per edge (3 fields), egress (2), USD/hour
	require.Equal(t, []string{"ams3", "1000", "s-4vcpu-8gb-amd", "10", "Gbps", "4", "1365", "network", "2", "auto", "2", "25.6%", "0.22", "of", "4", "5.13", "Gbps", "0.1667"}, rows["ams3"])
	require.Equal(t, []string{"nyc3", "600", "s-4vcpu-8gb-amd", "10", "Gbps", "4", "1365", "network", "2", "auto", "2", "15.4%", "0.13", "of", "4", "3.08", "Gbps", "0.1667"}, rows["nyc3"])
	require.Equal(t, []string{"sgp1", "400", "s-4vcpu-8gb-amd", "10", "Gbps", "4", "1365", "network", "2", "auto", "2", "10.3%", "0.09", "of", "4", "2.05", "Gbps", "0.1667"}, rows["sgp1"])
	require.Equal(t, []string{"total", "2000", "6", "10.26", "Gbps", "0.5000"}, rows["total"])
	require.Contains(t, out, "Origin:  c-4 in ams3: 18 relays, 56.3 Mbps to the edges (2.8% of its network), $0.1250/hour")
	require.Contains(t, out, "Cost:    $43.32/hour = $0.6250 Droplets + $42.70 egress overage")
	require.Contains(t, out, "$433.22 for a 10-hour event")
	require.Contains(t, out, "Before pulumi up -s animecon:\n  - livecdn:streamKey: not set")

	golden := filepath.Join("testdata", "plan_animecon.golden")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, []byte(out), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run with UPDATE_GOLDEN=1 to create it")
	require.Equal(t, string(want), out)
}

func TestPlanJSON(t *testing.T) {
	out, stderr, err := runPlanForTest(t, "--stack", "animecon", "--dir", repoRoot, "--json")
	require.NoError(t, err)
	var res plan.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res), "stdout is only the plan")
	require.Equal(t, 6, res.EdgesTotal)
	require.Equal(t, 43.3225, res.Cost.PerHourUSD)
	require.Contains(t, stderr, "before pulumi up -s animecon:\n  - livecdn:streamKey: not set")
}

func TestPlanHoursAndWarnings(t *testing.T) {
	// The animecon recording fits 17.5 hours: a 20-hour event gets a warning, and 20 hours of cost.
	out, _, err := runPlanForTest(t, "--stack", "animecon", "--dir", repoRoot, "--hours", "20")
	require.NoError(t, err)
	require.Contains(t, out, "$866.45 for a 20-hour event")
	require.Contains(t, out, "Warnings:\n  - origin: the recording fills the disk after 17.5 hours, before the 20-hour event ends")
}

func TestPlanDispatch(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"plan", "--stack", "dev", "--dir", repoRoot}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Contains(t, out.String(), "Plan for stack dev (livecdn dev)")
	require.Contains(t, out.String(), "s-1vcpu-1gb in ams3: 1 relay,")
}

func TestPlanErrors(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.broken.yaml"),
		[]byte("config:\n  livecdn:edgez: []\n  livecdn:stream:\n    name: Main\n"), 0o600))

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no stack", nil, "--stack is required"},
		{"positional stack", []string{"animecon"}, `unexpected argument "animecon"`},
		{"missing stack file", []string{"--stack", "nope", "--dir", repoRoot}, "stack nope: read stack file"},
		{"path in the stack name", []string{"--stack", "..", "--dir", repoRoot}, `--stack ".." is not a stack name`},
		{"bad hours", []string{"--stack", "dev", "--dir", repoRoot, "--hours", "0"}, "--hours must be positive"},
		{"invalid stack file", []string{"--stack", "broken", "--dir", dir},
			"stack broken: Pulumi.broken.yaml: livecdn:edgez: unknown key"},
		{"unknown flag", []string{"--stak", "dev"}, "flag provided but not defined: -stak"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runPlanForTest(t, tt.args...)
			require.ErrorContains(t, err, tt.want)
		})
	}

	// An invalid stack reports every problem, not just the first.
	_, _, err := runPlanForTest(t, "--stack", "broken", "--dir", dir)
	require.ErrorContains(t, err, `livecdn:stream.name: "Main" must be`)
	require.ErrorContains(t, err, "livecdn:origin.region: required")

	// A fully-qualified stack name reads the stack's own file.
	out, _, err := runPlanForTest(t, "--stack", "myorg/livecdn/dev", "--dir", repoRoot)
	require.NoError(t, err)
	require.Contains(t, out, "Plan for stack dev")

	_, stderr, err := runPlanForTest(t, "-h")
	require.True(t, errors.Is(err, flag.ErrHelp))
	require.Contains(t, stderr, "usage: livecdn plan --stack NAME")
}
