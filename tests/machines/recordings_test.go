package machines

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/internal/fakebucket"
	"github.com/livecdn/livecdn/nginx"
	"github.com/livecdn/livecdn/rehearsal"
)

// animeconRecordings is where the rehearsed animecon uploads its
// recording: a bucket in the origin's region, one-minute chunks so a test
// sees several.
func animeconRecordings(s *config.Settings) *config.Recordings {
	return &config.Recordings{Bucket: "animecon-team-recordings", Region: s.Origin.Region, Prefix: "animecon-2026", ChunkMinutes: 1}
}

// readUploaderStatus reads the origin's uploader status as the operator.
func readUploaderStatus(ctx context.Context, r *rehearsal.Rehearsal) (nginx.RecordStatus, error) {
	var st nginx.RecordStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.Info().Recordings.Status, nil)
	if err != nil {
		return st, err
	}
	resp, err := r.Network().HTTPClient(r.AdminAddress(), 5*time.Second).Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// openChunk is the chunk nginx is writing on the origin VM, and how long
// ago it began (its name holds the time: STREAM-UNIXTIME.flv).
func openChunk(ctx context.Context, r *rehearsal.Rehearsal) (name string, age time.Duration, err error) {
	out, err := r.VM(blueprint.OriginName).SSH(ctx, r.AdminAddress(), "cd "+nginx.ProductionLayout().RecordDir+" && ls *.flv")
	if err != nil {
		return "", 0, fmt.Errorf("no open chunk: %w: %s", err, out)
	}
	names := strings.Fields(out)
	if len(names) != 1 {
		return "", 0, fmt.Errorf("want one open chunk, have %q", names)
	}
	name = names[0]
	stamp := strings.TrimSuffix(name[strings.LastIndexByte(name, '-')+1:], ".flv")
	began, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("chunk %s: %w", name, err)
	}
	return name, time.Since(time.Unix(began, 0)), nil
}

// inBucket wants the chunk name in the rehearsal's bucket, not empty.
func inBucket(r *rehearsal.Rehearsal, name string) func(context.Context) error {
	return func(context.Context) error {
		objects, err := r.Recordings()
		if err != nil {
			return err
		}
		key := path.Join(r.Info().Recordings.Prefix, name)
		i := slices.IndexFunc(objects, func(o fakebucket.Object) bool { return o.Key == key })
		switch {
		case i < 0:
			return fmt.Errorf("%s is not in the bucket (%d objects)", key, len(objects))
		case objects[i].Size == 0:
			return fmt.Errorf("%s is empty in the bucket", key)
		}
		return nil
	}
}

// guard runs the script `pulumi destroy` runs before it deletes the
// origin, as the program renders it, with LIVECDN_GUARD_WAIT seconds.
func guard(t *testing.T, r *rehearsal.Rehearsal, s *config.Settings, wait int) (string, error) {
	t.Helper()
	st, err := blueprint.New(s)
	require.NoError(t, err)
	script, err := st.Origin.RecordingsGuard(netip.MustParseAddr(machine(t, r, blueprint.OriginName).Address))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(wait)*time.Second+time.Minute)
	defer cancel()
	cmd := r.Network().Command(ctx, "sh", "-c", script)
	cmd.Env = append(cmd.Environ(), "LIVECDN_GUARD_WAIT="+strconv.Itoa(wait))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// recordingsSurviveTheOrigin follows the animecon recording through what
// can happen to the origin VM while encoder publishes: chunks reach the
// stack's bucket as they close; a destroy refuses to go on while a chunk is
// open; a power cut's open chunk is uploaded after the reboot; and a clean
// shutdown uploads the open chunk before the machine stops.
func recordingsSurviveTheOrigin(t *testing.T, r *rehearsal.Rehearsal, s *config.Settings, encoder *exec.Cmd) {
	origin := r.VM(blueprint.OriginName)
	eventually(t, "a closed chunk is in the bucket, verified", 3*time.Minute, func(ctx context.Context) error {
		st, err := readUploaderStatus(ctx, r)
		if err != nil {
			return err
		}
		if st.Uploaded == 0 || st.Recording != 1 || st.Failures != 0 {
			return fmt.Errorf("uploader status %+v", st)
		}
		return nil
	})
	objects, err := r.Recordings()
	require.NoError(t, err)
	for _, o := range objects {
		require.NotZero(t, o.Size, o.Key)
		require.Regexp(t, `^[0-9a-f]{32}$`, o.ETag, "%s: one PUT, so its ETag is its MD5", o.Key)
	}

	out, err := guard(t, r, s, 0)
	require.Error(t, err, "the destroy guard must refuse while a chunk is open:\n%s", out)
	require.Contains(t, out, "refusing to delete origin")
	require.Contains(t, out, "1 chunk(s) still being recorded")

	// A power cut mid-chunk. What the last ~30 s wrote may be lost with the
	// page cache, as on a droplet, so the cut comes 40 s into the chunk.
	var open string
	eventually(t, "the open chunk is 40 s old", 2*time.Minute, func(ctx context.Context) error {
		name, age, err := openChunk(ctx, r)
		if err == nil && age < 40*time.Second {
			err = fmt.Errorf("%s is %v old", name, age.Round(time.Second))
		}
		open = name
		return err
	})
	require.NoError(t, origin.Reset())
	stopPublisher(encoder)
	eventually(t, "the power-cut chunk "+open+" is uploaded after the reboot", 6*time.Minute, inBucket(r, open))
	out, err = guard(t, r, s, 120)
	require.NoError(t, err, "with the encoder stopped, nothing is left on the origin:\n%s", out)
	require.Contains(t, out, "every chunk of the recording is in "+s.Recordings.Bucket+"/"+s.Recordings.Prefix)

	// A clean shutdown (a droplet's "shutdown" action, or a resize) with
	// the encoder live: nginx stops first, then the uploader uploads the
	// chunk nginx left open before the network goes down.
	encoder = publishAsTheREADMESays(t, r, true)
	defer stopPublisher(encoder)
	eventually(t, "the origin records again", healTimeout, func(ctx context.Context) error {
		open, _, err = openChunk(ctx, r)
		return err
	})
	_, _ = origin.SSH(context.Background(), r.AdminAddress(), "systemctl poweroff")
	eventually(t, "the origin shuts down", 5*time.Minute, func(context.Context) error {
		if origin.Running() {
			return fmt.Errorf("%s still runs", origin.Name)
		}
		return nil
	})
	require.NoError(t, inBucket(r, open)(context.Background()), "the chunk open at the shutdown was uploaded before the machine stopped")
	objects, err = r.Recordings()
	require.NoError(t, err)
	t.Logf("recordings: %d chunks in %s/%s", len(objects), s.Recordings.Bucket, s.Recordings.Prefix)
}
