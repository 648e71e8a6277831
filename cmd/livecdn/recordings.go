package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/livecdn/livecdn/config"
)

// The credentials `livecdn recordings` reads the bucket with: a Spaces key
// with at least read on the bucket (the origin's own key is in the stack's
// state only). SPACES_* are the names pulumi-digitalocean reads too; AWS_*
// are what every other S3 tool reads, e.g. for the lab's bucket.
var (
	accessKeyEnv = []string{"SPACES_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"}
	secretKeyEnv = []string{"SPACES_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"}
)

// chunkName is an object the origin uploads: STREAM-UNIXTIME.flv (nginx-rtmp's
// record_unique), so names sort by stream, then by time.
var chunkName = regexp.MustCompile(`^([a-z0-9][a-z0-9-]*)-([0-9]{9,12})\.flv$`)

// chunk is one recording chunk in the bucket.
type chunk struct {
	name   string
	stream string
	start  time.Time
	size   int64
}

// bucketFlags say which bucket and folder to read.
type bucketFlags struct {
	endpoint, bucket, prefix, stream string
}

func runRecordings(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("recordings", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: livecdn recordings --stack NAME [--list] [--out FILE.mp4]")
		fmt.Fprintln(stderr, "       livecdn recordings --endpoint URL --bucket NAME --prefix PREFIX [--stream NAME] [--list] [--out FILE.mp4]")
		fmt.Fprintln(stderr, "\nLists an event's recording chunks in its bucket and downloads them as one MP4 (ffmpeg stream copy,")
		fmt.Fprintln(stderr, "no re-encode). The bucket, region and prefix come from the stack's livecdn:recordings; the key from")
		fmt.Fprintf(stderr, "%s and %s (or %s and %s).\n\n", accessKeyEnv[0], secretKeyEnv[0], accessKeyEnv[1], secretKeyEnv[1])
		fs.PrintDefaults()
	}
	stack := addStackFlags(fs, "read livecdn:recordings from")
	var b bucketFlags
	fs.StringVar(&b.endpoint, "endpoint", "", "S3 endpoint URL instead of the stack's Spaces region (e.g. the lab's)")
	fs.StringVar(&b.bucket, "bucket", "", "bucket, with --endpoint")
	fs.StringVar(&b.prefix, "prefix", "", "the event's folder in the bucket, with --endpoint")
	fs.StringVar(&b.stream, "stream", "", "stream whose chunks to take (default: the stack's stream, or the only one)")
	list := fs.Bool("list", false, "list the chunks and download nothing")
	out := fs.String("out", "", "the MP4 to write (default PREFIX.mp4, / replaced by -)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *stack.stack != "" && (b.endpoint != "" || b.bucket != "" || b.prefix != ""):
		return errors.New("--stack reads the bucket from the stack file: leave out --endpoint, --bucket and --prefix")
	case *stack.stack != "":
		_, s, err := stack.load(fs)
		if err != nil {
			return err
		}
		r := s.Recordings
		if r == nil {
			return fmt.Errorf("stack %s has no %s: its recording, if any, stayed on the origin's disk", *stack.stack, config.KeyRecordings)
		}
		b.endpoint, b.bucket, b.prefix = config.SpacesEndpoint(r.Region), r.Bucket, r.Prefix
		if b.stream == "" {
			b.stream = s.Stream.Name
		}
	case b.endpoint == "" || b.bucket == "" || b.prefix == "":
		return errors.New("--stack is required, e.g. --stack animecon (or all of --endpoint, --bucket and --prefix)")
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		*out = strings.ReplaceAll(b.prefix, "/", "-") + ".mp4"
	}
	if !strings.HasSuffix(*out, ".mp4") {
		return fmt.Errorf("--out %q: name an .mp4 file", *out)
	}
	rc, err := newRclone(b.endpoint)
	if err != nil {
		return err
	}
	chunks, err := listChunks(ctx, rc, b)
	if err != nil {
		return err
	}
	if *list {
		for _, c := range chunks {
			fmt.Fprintf(stdout, "%s\t%s\t%d\n", c.name, c.start.UTC().Format(time.RFC3339), c.size)
		}
		return nil
	}
	return download(ctx, rc, b, chunks, *out, stderr)
}

// rclone runs Debian's rclone, the client the origin uploads with, against
// one S3 remote described in its environment (no config file).
type rclone struct {
	env  []string
	args []string
}

func newRclone(endpoint string) (*rclone, error) {
	if _, err := exec.LookPath("rclone"); err != nil {
		return nil, errors.New("missing rclone: install with `sudo apt-get install rclone` (or run `make deps`)")
	}
	access, secret := firstEnv(accessKeyEnv), firstEnv(secretKeyEnv)
	if access == "" || secret == "" {
		return nil, fmt.Errorf("no key for the bucket: set %s and %s (a Spaces key with read on the bucket; "+
			"create one under API > Spaces Keys) or %s and %s",
			accessKeyEnv[0], secretKeyEnv[0], accessKeyEnv[1], secretKeyEnv[1])
	}
	provider := "Other"
	if strings.HasSuffix(endpoint, "."+config.SpacesDomain) {
		provider = "DigitalOcean"
	}
	env := []string{
		"RCLONE_CONFIG_LIVECDN_TYPE=s3", "RCLONE_CONFIG_LIVECDN_PROVIDER=" + provider,
		"RCLONE_CONFIG_LIVECDN_ENV_AUTH=false",
		"RCLONE_CONFIG_LIVECDN_ACCESS_KEY_ID=" + access, "RCLONE_CONFIG_LIVECDN_SECRET_ACCESS_KEY=" + secret,
		"RCLONE_CONFIG_LIVECDN_ENDPOINT=" + endpoint,
	}
	var args []string
	// rclone 1.60 fails every request when the AWS SDK is handed
	// AWS_CA_BUNDLE; its own --ca-cert does the same job.
	for _, kv := range os.Environ() {
		if ca, ok := strings.CutPrefix(kv, "AWS_CA_BUNDLE="); ok {
			if ca != "" {
				args = append(args, "--ca-cert", ca)
			}
			continue
		}
		if strings.HasPrefix(kv, "RCLONE_") {
			continue // only the remote above, whatever the operator's shell holds
		}
		env = append(env, kv)
	}
	return &rclone{env: env, args: append(args, "--config", os.DevNull)}, nil
}

func firstEnv(names []string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

func (r *rclone) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "rclone", append(slices.Clone(r.args), args...)...)
	cmd.Env = r.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("rclone %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func remote(b bucketFlags) string { return "livecdn:" + b.bucket + "/" + b.prefix }

// listChunks lists the event's chunks of one stream, oldest first.
func listChunks(ctx context.Context, rc *rclone, b bucketFlags) ([]chunk, error) {
	out, err := rc.run(ctx, "lsf", "--files-only", "--format", "ps", "--separator", "\t", remote(b))
	if err != nil {
		return nil, err
	}
	byStream := map[string][]chunk{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, sizeText, ok := strings.Cut(sc.Text(), "\t")
		m := chunkName.FindStringSubmatch(name)
		if !ok || m == nil {
			continue // not a chunk the origin wrote
		}
		size, err := strconv.ParseInt(sizeText, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("rclone lsf: size of %s: %w", name, err)
		}
		unix, _ := strconv.ParseInt(m[2], 10, 64)
		byStream[m[1]] = append(byStream[m[1]], chunk{name: name, stream: m[1], start: time.Unix(unix, 0), size: size})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	streams := slices.Sorted(maps.Keys(byStream))
	stream := b.stream
	switch {
	case len(streams) == 0:
		return nil, fmt.Errorf("no chunks in %s/%s: has the encoder published yet? (the origin's /recordings.json shows what it holds)", b.bucket, b.prefix)
	case stream == "" && len(streams) > 1:
		return nil, fmt.Errorf("%s/%s holds chunks of several streams (%s): choose one with --stream", b.bucket, b.prefix, strings.Join(streams, ", "))
	case stream == "":
		stream = streams[0]
	case byStream[stream] == nil:
		return nil, fmt.Errorf("--stream %q: %s/%s holds chunks of %s only", stream, b.bucket, b.prefix, strings.Join(streams, ", "))
	}
	chunks := byStream[stream]
	slices.SortFunc(chunks, func(a, b chunk) int { return strings.Compare(a.name, b.name) })
	return chunks, nil
}

// chunkDuration is how long a chunk plays: from its first packet to the
// end of its last, taking a packet's duration from ffprobe or, where FLV
// leaves it out, from its stream's frame rate.
func chunkDuration(ctx context.Context, path string) (float64, error) {
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error",
		"-show_entries", "stream=index,r_frame_rate:packet=stream_index,pts_time,duration_time",
		"-of", "csv=p=0:nk=0", path).Output()
	if err != nil {
		return 0, fmt.Errorf("ffprobe: %w", err)
	}
	// ffprobe prints the packets before the streams: read every line first.
	var records []map[string]string
	for line := range strings.Lines(string(out)) {
		fields := map[string]string{}
		for _, kv := range strings.Split(strings.TrimSpace(line), ",") {
			k, v, _ := strings.Cut(kv, "=")
			fields[k] = v
		}
		records = append(records, fields)
	}
	frame := map[string]float64{} // stream index -> seconds per frame
	for _, fields := range records {
		if rate, ok := fields["r_frame_rate"]; ok {
			num, den, _ := strings.Cut(rate, "/")
			n, err1 := strconv.ParseFloat(num, 64)
			d, err2 := strconv.ParseFloat(den, 64)
			if err1 == nil && err2 == nil && n > 0 && d > 0 {
				frame[fields["index"]] = d / n
			}
		}
	}
	start, end := -1.0, 0.0
	for _, fields := range records {
		if _, ok := fields["pts_time"]; !ok {
			continue // a stream
		}
		pts, err := strconv.ParseFloat(fields["pts_time"], 64)
		if err != nil {
			continue // a packet without a timestamp
		}
		dur, err := strconv.ParseFloat(fields["duration_time"], 64)
		if err != nil || dur <= 0 {
			dur = frame[fields["stream_index"]]
		}
		if start < 0 || pts < start {
			start = pts
		}
		end = max(end, pts+dur)
	}
	if start < 0 {
		return 0, errors.New("ffprobe found no packets")
	}
	return end - start, nil
}

// download copies the chunks to a temporary directory and joins them with
// ffmpeg's concat demuxer, copying the streams (no re-encode). A gap in the
// recording (the encoder was off) becomes a cut in the MP4.
func download(ctx context.Context, rc *rclone, b bucketFlags, chunks []chunk, out string, stderr io.Writer) error {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return errors.New("missing ffmpeg: install with `sudo apt-get install ffmpeg` (or run `make deps`)")
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".livecdn-recordings-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var list strings.Builder
	for _, c := range chunks {
		local := filepath.Join(tmp, c.name)
		// --checksum: the object's MD5 (its ETag, a single-part upload) is
		// compared with the downloaded file.
		if _, err := rc.run(ctx, "copyto", "--checksum", remote(b)+"/"+c.name, local); err != nil {
			return err
		}
		// FLV carries no packet durations, so the concat demuxer would take
		// a chunk to end at its last frame's start and lay the next chunk's
		// first frame on it: say where each chunk really ends.
		d, err := chunkDuration(ctx, local)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		fmt.Fprintf(&list, "file '%s'\nduration %.6f\n", local, d)
	}
	listPath := filepath.Join(tmp, "chunks.txt")
	if err := os.WriteFile(listPath, []byte(list.String()), 0o644); err != nil {
		return err
	}
	partial := filepath.Join(tmp, "joined.mp4")
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "concat", "-safe", "0", "-i", listPath, "-map", "0", "-c", "copy", "-movflags", "+faststart", partial)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg concat: %w: %s", err, strings.TrimSpace(string(msg)))
	}
	if err := os.Rename(partial, out); err != nil {
		return err
	}
	var total int64
	for _, c := range chunks {
		total += c.size
	}
	fmt.Fprintf(stderr, "recordings: %d chunks (%d bytes) from %s/%s, %s to %s, joined into %s\n", len(chunks), total,
		b.bucket, b.prefix, chunks[0].start.UTC().Format(time.RFC3339), chunks[len(chunks)-1].start.UTC().Format(time.RFC3339), out)
	return nil
}
