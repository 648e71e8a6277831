package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/lab"
	"github.com/livecdn/livecdn/status"
)

// players fetch edge i's playlist every fragment, as hls.js does, each with
// a user agent of its own, until ctx ends: perEdge[i] distinct players on
// edge i.
func players(ctx context.Context, edges []lab.EdgeInfo, perEdge []int) {
	for i, n := range perEdge {
		for j := range n {
			url, agent := edges[i].HLS, fmt.Sprintf("livecdn-status-player/%d-%d", i, j)
			go func() {
				for {
					_ = fetchAs(ctx, url, agent) // a failed fetch is what a killed edge gives
					select {
					case <-ctx.Done():
						return
					case <-time.After(2 * time.Second):
					}
				}
			}()
		}
	}
}

// withinPercent reports got within pct percent of want.
func withinPercent(got, want int, pct float64) bool {
	d := float64(got - want)
	if d < 0 {
		d = -d
	}
	return d <= float64(want)*pct/100
}

// TestStatusCountsViewersAndShowsAKilledEdge runs `livecdn status --lab`
// against a lab with players of distinct identities spread unevenly over
// three edges: every edge's viewers and the total are within 5%; an edge
// whose nginx is stopped is unhealthy in the next refresh while the others
// stay correct.
func TestStatusCountsViewersAndShowsAKilledEdge(t *testing.T) {
	t.Parallel()
	bin := buildLivecdn(t)
	l := startLab(t, lab.Options{Edges: 3, Renditions: true})
	info := l.Info()
	labFile := filepath.Join(t.TempDir(), "lab.json")
	line, err := json.Marshal(info)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(labFile, line, 0o644))

	perEdge := []int{40, 60, 50}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	players(ctx, info.Edges, perEdge)

	// One refresh per call, as `livecdn status --lab FILE --json`.
	once := func(ctx context.Context) (status.Report, error) {
		out, err := exec.CommandContext(ctx, bin, "status", "--lab", labFile, "--json").Output()
		if err != nil {
			return status.Report{}, fmt.Errorf("livecdn status: %w", err)
		}
		var r status.Report
		return r, json.Unmarshal(out, &r)
	}
	correct := func(r status.Report, skip int) error {
		total, want := 0, 0
		for i, e := range r.Edges {
			if i == skip {
				continue
			}
			if !e.Healthy || e.Viewers == nil {
				return fmt.Errorf("%s: healthy %v, viewers %v: %v", e.Name, e.Healthy, e.Viewers, e.Problems)
			}
			// The lab's own readiness check fetched a playlist too: a real
			// client, so at most one more viewer, within the 5%.
			if !withinPercent(*e.Viewers, perEdge[i], 5) {
				return fmt.Errorf("%s: %d viewers, want %d ±5%%", e.Name, *e.Viewers, perEdge[i])
			}
			if e.Connections == nil {
				return fmt.Errorf("%s: no connections from the nginx exporter: %v", e.Name, e.Problems)
			}
			total += *e.Viewers
			want += perEdge[i]
		}
		if skip < 0 && (total != r.Viewers || !withinPercent(r.Viewers, want, 5)) {
			return fmt.Errorf("total %d viewers (edges sum to %d), want %d ±5%%", r.Viewers, total, want)
		}
		return nil
	}

	var r status.Report
	eventually(t, "status counts every edge's players", func(ctx context.Context) error {
		if r, err = once(ctx); err != nil {
			return err
		}
		return correct(r, -1)
	})
	require.True(t, r.Origin.Publishing, "%+v", r.Origin)
	require.Equal(t, 3, r.HealthyEdges)
	require.Nil(t, r.Origin.Recording, "the lab serves no recordings document: n/a")
	require.Equal(t, status.Load{}, r.Origin.Load, "the lab runs no node exporter: the origin's load is unknown")
	for _, s := range r.Origin.Relays {
		require.Equal(t, []string{"edge-1", "edge-2", "edge-3"}, s.Edges, "relays of %s", s.Stream)
	}
	for _, e := range r.Edges {
		require.Len(t, e.Relays, 2)
		require.Equal(t, 2, *e.OriginRelays, e.Name)
		require.NotNil(t, e.SegmentAgeSeconds, e.Name)
	}

	// --watch --json: one document per refresh. Stop edge-2's nginx (it
	// stays down, as a dead machine) between two refreshes.
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	cmd := exec.CommandContext(watchCtx, bin, "status", "--lab", labFile, "--json", "--watch", "--interval", "1s", "--timeout", "900ms")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { stopWatch(); _ = cmd.Wait() }()
	docs := bufio.NewScanner(stdout)
	docs.Buffer(make([]byte, 1<<20), 1<<20)
	next := func() status.Report {
		require.True(t, docs.Scan(), "status --watch ended: %v", docs.Err())
		var r status.Report
		require.NoError(t, json.Unmarshal(docs.Bytes(), &r))
		return r
	}
	require.NoError(t, correct(next(), -1))
	require.NoError(t, l.StopEdge(1))
	stopped := time.Now()
	// A refresh that began before the stop may still be on its way.
	r = next()
	if r.Time.Before(stopped) {
		r = next()
	}
	killed := r.Edges[1]
	require.False(t, killed.Healthy, "a stopped edge must be unhealthy in the first refresh after it: %+v", killed)
	require.NotEmpty(t, killed.Problems)
	require.Nil(t, killed.Viewers, "a stopped edge's viewers are unknown, not zero")
	require.NoError(t, correct(r, 1), "the other edges stay correct")
	require.Equal(t, 2, r.HealthyEdges)
}

// TestStatusShowsTheRecording: on a lab that records, status reads the
// origin uploader's status from the lab's JSON, as it reads the stack
// output recordings.statusUrl: the encoder is recorded and nothing is red.
func TestStatusShowsTheRecording(t *testing.T) {
	t.Parallel()
	bin := buildLivecdn(t)
	l := recordingLab(t, lab.Options{}, 5*time.Second)
	line, err := json.Marshal(l.Info())
	require.NoError(t, err)
	labFile := filepath.Join(t.TempDir(), "lab.json")
	require.NoError(t, os.WriteFile(labFile, line, 0o644))

	var r status.Report
	eventually(t, "status shows the recording", func(ctx context.Context) error {
		out, err := exec.CommandContext(ctx, bin, "status", "--lab", labFile, "--json").Output()
		if err != nil {
			return fmt.Errorf("livecdn status: %w", err)
		}
		if err := json.Unmarshal(out, &r); err != nil {
			return err
		}
		if rec := r.Origin.Recording; rec == nil || rec.Recording != 1 {
			return fmt.Errorf("recording %+v (%s)", rec, r.Origin.RecordingError)
		}
		return nil
	})
	require.True(t, r.Origin.Publishing)
	require.Empty(t, r.Origin.Problems, "a recording lab that uploads has nothing red")
	require.Zero(t, r.Origin.Recording.Failures)
}
