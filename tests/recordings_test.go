package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/internal/fakebucket"
	"github.com/livecdn/livecdn/lab"
	"github.com/livecdn/livecdn/nginx"
)

// recordingLab runs a lab whose origin records in chunks of chunk and
// uploads them, with the shipped uploader, to the lab's bucket.
func recordingLab(t *testing.T, opts lab.Options, chunk time.Duration) *lab.Lab {
	t.Helper()
	_, err := exec.LookPath("rclone")
	require.NoError(t, err, "the uploader needs rclone: apt-get install rclone (make deps)")
	opts.Edges, opts.Record, opts.RecordChunk = 1, true, chunk
	l := startLab(t, opts)
	require.NotNil(t, l.Info().Recordings)
	return l
}

// readStatus reads the origin's uploader status as a client of the lab would,
// refusing fields the document does not define.
func readStatus(ctx context.Context, url string) (nginx.RecordStatus, error) {
	var s nginx.RecordStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return s, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("%s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return s, fmt.Errorf("%s: Content-Type %q", url, ct)
	}
	dec := json.NewDecoder(resp.Body)
	dec.DisallowUnknownFields()
	return s, dec.Decode(&s)
}

// bucketChunks lists the lab's bucket with rclone, as any S3 client could
// from the JSON the lab prints: name -> size.
func bucketChunks(ctx context.Context, info *fakebucket.Info) (map[string]int64, error) {
	cmd := exec.CommandContext(ctx, "rclone", "--config", os.DevNull, "lsf", "--format", "ps", "--separator", "\t",
		":s3:"+info.Bucket+"/"+info.Prefix)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"RCLONE_S3_PROVIDER=Other", "RCLONE_S3_ENDPOINT=" + info.Endpoint, "RCLONE_S3_REGION=" + info.Region,
		"RCLONE_S3_ACCESS_KEY_ID=" + info.AccessKey, "RCLONE_S3_SECRET_ACCESS_KEY=" + info.SecretKey,
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("rclone lsf: %w", err)
	}
	chunks := map[string]int64{}
	for line := range strings.Lines(string(out)) {
		name, size, _ := strings.Cut(strings.TrimSpace(line), "\t")
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("rclone lsf: %q: %w", line, err)
		}
		chunks[name] = n
	}
	return chunks, nil
}

// localChunks are the chunk files on the lab's origin: open (still being
// written) or closed and waiting for the bucket.
func localChunks(t *testing.T, l *lab.Lab) (open, closed []string) {
	t.Helper()
	dir := filepath.Join(l.Dir(), "origin", "recordings")
	o, err := filepath.Glob(filepath.Join(dir, "*.flv"))
	require.NoError(t, err)
	c, err := filepath.Glob(filepath.Join(dir, nginx.RecordClosedDir, "*.flv"))
	require.NoError(t, err)
	base := func(paths []string) []string {
		for i, p := range paths {
			paths[i] = filepath.Base(p)
		}
		return paths
	}
	return base(o), base(c)
}

func TestRecordingChunksReachTheBucketWhileStreaming(t *testing.T) {
	t.Parallel()
	l := recordingLab(t, lab.Options{}, 5*time.Second)
	info := l.Info().Recordings
	eventually(t, "three chunks in the bucket while the encoder publishes", func(ctx context.Context) error {
		chunks, err := bucketChunks(ctx, info)
		if err != nil {
			return err
		}
		if len(chunks) < 3 {
			return fmt.Errorf("%d chunks so far", len(chunks))
		}
		for name, size := range chunks {
			if !strings.HasPrefix(name, l.Stream().Name+"-") || !strings.HasSuffix(name, ".flv") || size == 0 {
				return fmt.Errorf("unexpected object %s (%d bytes)", name, size)
			}
		}
		return nil
	})
	var status nginx.RecordStatus
	eventually(t, "the status counts them", func(ctx context.Context) (err error) {
		status, err = readStatus(ctx, info.Status)
		if err == nil && status.Uploaded < 3 {
			err = fmt.Errorf("status %+v", status)
		}
		return err
	})
	require.Equal(t, lab.RecordBucket, status.Bucket)
	require.Equal(t, lab.RecordPrefix, status.Prefix)
	require.Equal(t, 1, status.Recording, "the encoder still publishes: one chunk is open")
	require.Zero(t, status.Failures)
	require.Empty(t, status.LastError)
	// The status is written after the verified chunk was deleted.
	open, closed := localChunks(t, l)
	require.NotContains(t, append(open, closed...), status.LastUploaded, "a verified chunk is deleted from the origin")
	chunks, err := bucketChunks(context.Background(), info)
	require.NoError(t, err)
	require.Contains(t, chunks, status.LastUploaded)
}

func TestRecordingChunkOfAKilledOriginIsUploadedAfterItsRestart(t *testing.T) {
	t.Parallel()
	// Long chunks: the kill certainly lands in the middle of one.
	l := recordingLab(t, lab.Options{}, time.Minute)
	var open []string
	eventually(t, "a chunk being recorded", func(context.Context) error {
		if open, _ = localChunks(t, l); len(open) != 1 {
			return fmt.Errorf("open chunks: %v", open)
		}
		info, err := os.Stat(filepath.Join(l.Dir(), "origin", "recordings", open[0]))
		if err != nil || info.Size() < 100_000 {
			return fmt.Errorf("%s not grown yet: %v", open[0], err)
		}
		return nil
	})
	killed := open[0]
	// SIGKILL: nginx never closes the chunk, so exec_record_done never runs.
	require.NoError(t, l.KillOrigin())
	eventually(t, "the killed origin's chunk in the bucket", func(ctx context.Context) error {
		chunks, err := bucketChunks(ctx, l.Info().Recordings)
		if err != nil {
			return err
		}
		if chunks[killed] == 0 {
			return fmt.Errorf("%s not in the bucket (it holds %v)", killed, chunks)
		}
		return nil
	})
	eventually(t, "the killed origin's chunk deleted from the origin once verified", func(context.Context) error {
		if open, closed := localChunks(t, l); slices.Contains(append(open, closed...), killed) {
			return fmt.Errorf("%s still on the origin", killed)
		}
		return nil
	})
}

// TestStoppingTheOriginUploadsItsOpenChunk stops nginx, then the uploader,
// in the order systemd stops them: the chunk nginx had open reaches the
// bucket before the uploader exits.
func TestStoppingTheOriginUploadsItsOpenChunk(t *testing.T) {
	t.Parallel()
	l := recordingLab(t, lab.Options{}, time.Minute)
	var open []string
	eventually(t, "a chunk being recorded", func(context.Context) error {
		if open, _ = localChunks(t, l); len(open) != 1 {
			return fmt.Errorf("open chunks: %v", open)
		}
		return nil
	})
	l.StopOrigin()
	require.NoError(t, l.StopUploader())
	chunks, err := bucketChunks(context.Background(), l.Info().Recordings)
	require.NoError(t, err)
	require.Contains(t, chunks, open[0], "the open chunk is uploaded before the uploader exits")
	o, c := localChunks(t, l)
	require.Empty(t, append(o, c...), "nothing is left only on the origin")
	data, err := os.ReadFile(filepath.Join(l.Dir(), "origin", "recordings", nginx.RecordStatusFile))
	require.NoError(t, err)
	var last nginx.RecordStatus
	require.NoError(t, json.Unmarshal(data, &last))
	require.Equal(t, open[0], last.LastUploaded)
	require.Zero(t, last.Recording+last.Pending)
}

func TestRecordingsWaitOutABucketOutage(t *testing.T) {
	t.Parallel()
	l := recordingLab(t, lab.Options{}, 5*time.Second)
	info := l.Info().Recordings
	eventually(t, "a first chunk uploaded", func(ctx context.Context) error {
		s, err := readStatus(ctx, info.Status)
		if err == nil && s.Uploaded == 0 {
			err = fmt.Errorf("nothing uploaded yet: %+v", s)
		}
		return err
	})
	require.NoError(t, l.StopBucket())
	var kept []string
	eventually(t, "closed chunks kept on the origin, the failure in the status", func(ctx context.Context) error {
		s, err := readStatus(ctx, info.Status)
		if err != nil {
			return err
		}
		_, kept = localChunks(t, l)
		if s.Failures == 0 || s.LastError == "" || s.RetryAt == "" || s.Pending < 2 || len(kept) < 2 {
			return fmt.Errorf("status %+v, closed chunks on disk %v", s, kept)
		}
		return nil
	})
	require.NoError(t, l.StartBucket())
	eventually(t, "the kept chunks uploaded once the bucket is back", func(ctx context.Context) error {
		s, err := readStatus(ctx, info.Status)
		if err != nil {
			return err
		}
		chunks, err := bucketChunks(ctx, info)
		if err != nil {
			return err
		}
		for _, name := range kept {
			if chunks[name] == 0 {
				return fmt.Errorf("%s not in the bucket yet; status %+v", name, s)
			}
		}
		if s.Failures != 0 {
			return fmt.Errorf("still failing: %+v", s)
		}
		return nil
	})
	_, closed := localChunks(t, l)
	for _, name := range kept {
		require.False(t, slices.Contains(closed, name), "%s uploaded, so deleted from the origin", name)
	}
}

func TestRecordingsDownloadAsOneMP4(t *testing.T) {
	t.Parallel()
	const seconds = 23 // four 5 s chunks and a short last one
	l := recordingLab(t, lab.Options{Source: lab.SourceNone}, 5*time.Second)
	info := l.Info()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, ffmpegPublish(ctx, fmt.Sprintf("%s/%s?key=%s", info.Ingest, info.Stream, info.StreamKey), seconds))
	eventually(t, "every chunk in the bucket once the encoder stopped", func(ctx context.Context) error {
		s, err := readStatus(ctx, info.Recordings.Status)
		if err == nil && (s.Recording != 0 || s.Pending != 0 || s.Uploaded < 4) {
			err = fmt.Errorf("status %+v", s)
		}
		return err
	})

	bin := buildLivecdn(t)
	out := filepath.Join(t.TempDir(), "event.mp4")
	cmd := exec.Command(bin, "recordings", "--endpoint", info.Recordings.Endpoint, "--bucket", info.Recordings.Bucket,
		"--prefix", info.Recordings.Prefix, "--out", out)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+info.Recordings.AccessKey, "AWS_SECRET_ACCESS_KEY="+info.Recordings.SecretKey)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "livecdn recordings: %s", msg)
	require.Contains(t, string(msg), "joined into "+out)

	probe, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration,format_name",
		"-of", "default=noprint_wrappers=1", out).Output()
	require.NoError(t, err)
	require.Contains(t, string(probe), "format_name=mov,mp4")
	var duration float64
	for line := range strings.Lines(string(probe)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "duration="); ok {
			duration, err = strconv.ParseFloat(v, 64)
			require.NoError(t, err)
		}
	}
	require.InDelta(t, seconds, duration, 1, "the MP4 holds what was published")
	// Every frame decodes: a stream copy of chunks cut on keyframes.
	dec, err := exec.Command("ffmpeg", "-v", "error", "-i", out, "-f", "null", "-").CombinedOutput()
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(string(dec)), "ffmpeg reports decoding errors")
}
