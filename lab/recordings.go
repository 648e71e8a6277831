package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/livecdn/livecdn/internal/fakebucket"
	"github.com/livecdn/livecdn/nginx"
)

// Lab recordings: the origin records in chunks of Options.RecordChunk and
// its uploader (the shipped script, rclone config and recovery step, pointed
// at the lab) sends them to an in-process S3 server on loopback.
const (
	// DefaultRecordChunk is the lab's chunk length: short, so a test sees
	// several chunks in a minute.
	DefaultRecordChunk = 20 * time.Second
	// RecordBucket is the lab's bucket.
	RecordBucket = "livecdn-lab"
	// RecordPrefix is the lab's "event": objects are RecordPrefix/NAME.flv.
	RecordPrefix = "lab"
	// recordRegion is what the lab's rclone signs for; the fake ignores it.
	recordRegion = "us-east-1"
)

// CheckRecordChunk refuses a chunk length nginx-rtmp's record_interval
// would not be given (nginx.MinChunkInterval to nginx.MaxChunkInterval,
// whole seconds).
func CheckRecordChunk(d time.Duration) error {
	if d < nginx.MinChunkInterval || d > nginx.MaxChunkInterval || d%time.Second != 0 {
		return fmt.Errorf("%s: use whole seconds from %s to %s, e.g. 20s", d, nginx.MinChunkInterval, nginx.MaxChunkInterval)
	}
	return nil
}

// bucketServer is the in-process S3 server. Stop and Start take it off and
// back on the same address, keeping its objects, as an outage of the bucket.
type bucketServer struct {
	bucket  *fakebucket.Bucket
	handler http.Handler
	addr    string

	mu  sync.Mutex
	srv *http.Server
}

func newBucketServer() (*bucketServer, error) {
	bucket, err := fakebucket.New(RecordBucket)
	if err != nil {
		return nil, fmt.Errorf("recordings bucket: %w", err)
	}
	b := &bucketServer{bucket: bucket, handler: bucket.Handler()}
	if err := b.start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *bucketServer) start(addr string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("recordings bucket: %w", err)
	}
	b.addr = ln.Addr().String()
	b.srv = &http.Server{Handler: b.handler, ReadHeaderTimeout: 10 * time.Second}
	go func(srv *http.Server) { _ = srv.Serve(ln) }(b.srv)
	return nil
}

func (b *bucketServer) stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv == nil {
		return nil
	}
	err := b.srv.Close()
	b.srv = nil
	return err
}

// setupRecordings starts the bucket and returns the origin's Recordings.
func (l *Lab) setupRecordings() (*nginx.Recordings, error) {
	bucket, err := newBucketServer()
	if err != nil {
		return nil, err
	}
	l.bucket = bucket
	r := &nginx.Recordings{
		ChunkInterval: l.opts.RecordChunk,
		Endpoint:      "http://" + bucket.addr,
		Provider:      nginx.ProviderOther,
		Region:        recordRegion,
		Bucket:        RecordBucket,
		Prefix:        RecordPrefix,
		AccessKey:     bucket.bucket.AccessKey,
		SecretKey:     bucket.bucket.SecretKey,
	}
	l.info.Recordings = &fakebucket.Info{
		Endpoint: r.Endpoint, Bucket: r.Bucket, Prefix: r.Prefix, Region: r.Region,
		AccessKey: r.AccessKey, SecretKey: r.SecretKey,
	}
	return r, nil
}

// installUploader writes the origin's uploader and rclone config as a
// droplet gets them, and returns nginx's pre-start step (the drop-in's
// ExecStartPre: recover what a killed nginx left open).
func (l *Lab) installUploader(n *node, spec nginx.OriginSpec) (prepare func() error, err error) {
	script, err := nginx.RenderRecordScript(spec)
	if err != nil {
		return nil, err
	}
	conf, err := nginx.RenderRcloneConfig(spec)
	if err != nil {
		return nil, err
	}
	scriptPath := filepath.Join(n.layout.LibDir, nginx.RecordScript)
	if err := os.WriteFile(scriptPath, []byte(script), 0o755); err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	if err := os.WriteFile(n.layout.RcloneConfig, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(n.layout.RecordDir, nginx.RecordClosedDir), 0o750); err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	l.info.Recordings.Status = fmt.Sprintf("http://%s%s", spec.StatListen, nginx.RecordStatusPath)

	out, err := logFile(filepath.Join(n.layout.LogDir, "recordings.log"))
	if err != nil {
		return nil, err
	}
	l.logs = append(l.logs, out)
	l.uploader = newProcess("uploader", l.opts.Log, func() *exec.Cmd {
		cmd := exec.Command(scriptPath, "run")
		cmd.Stdout, cmd.Stderr = out, out
		return cmd
	})
	l.uploader.start()
	return func() error {
		cmd := exec.Command(scriptPath, "recover")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s recover: %w: %s", nginx.RecordScript, err, msg)
		}
		return nil
	}, nil
}

// StopBucket takes the recordings bucket off the network, as an outage of
// Spaces; StartBucket brings it back on the same address with its objects.
func (l *Lab) StopBucket() error {
	if l.bucket == nil {
		return errors.New("the lab does not record (Options.Record)")
	}
	return l.bucket.stop()
}

// StartBucket ends StopBucket's outage.
func (l *Lab) StartBucket() error {
	if l.bucket == nil {
		return errors.New("the lab does not record (Options.Record)")
	}
	return l.bucket.start(l.bucket.addr)
}

// StopOrigin stops the origin's nginx and keeps it stopped, as `systemctl
// stop nginx` (or a shutdown) would; StopUploader then stops the uploader,
// as systemd does after nginx: it uploads what nginx left before it exits.
func (l *Lab) StopOrigin() { l.origin.proc.pause() }

// StopUploader stops the recordings uploader; see StopOrigin.
func (l *Lab) StopUploader() error {
	if l.uploader == nil {
		return errors.New("the lab does not record (Options.Record)")
	}
	l.uploader.pause()
	return nil
}

// closeRecordings stops the uploader, then the bucket: after the origin, so
// the uploader's stop can still upload what nginx left.
func (l *Lab) closeRecordings(ctx context.Context) error {
	if l.uploader != nil {
		l.uploader.stop(ctx)
	}
	if l.bucket != nil {
		return l.bucket.stop()
	}
	return nil
}
