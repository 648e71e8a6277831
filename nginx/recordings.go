package nginx

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"time"
)

// Recordings sends the origin's recording, cut into chunks, to an
// S3-compatible bucket (DigitalOcean Spaces in production, an in-process
// fake in the lab), so it outlives the origin. docs/RECORDINGS.md describes
// the design; in short:
//
//   - nginx-rtmp cuts a chunk every ChunkInterval (record_interval) and, when
//     it closes one, its exec_record_done moves it to Layout.RecordDir/closed;
//   - the uploader (RecordScript, as a systemd service) uploads every closed
//     chunk with Debian's rclone, verifies the object's size and MD5 against
//     the file, and only then deletes the file; failures are retried with
//     backoff and reported in RecordStatusFile;
//   - a chunk nginx left open (a crash, a reboot, a stop) is closed by
//     definition once nginx is not running: nginx's ExecStartPre and the
//     uploader's own stop move it to closed/ too.
type Recordings struct {
	// ChunkInterval is how much stream one chunk holds: nginx-rtmp's
	// record_interval (it cuts at the next keyframe after it). Required,
	// MinChunkInterval to MaxChunkInterval, whole seconds.
	ChunkInterval time.Duration
	// Endpoint is the S3 API's base URL, scheme and host only, e.g.
	// "https://ams3.digitaloceanspaces.com". Required.
	Endpoint string
	// Provider is rclone's name for the S3 implementation: ProviderSpaces or
	// ProviderOther. Required.
	Provider string
	// Region is the bucket's region, e.g. "ams3" or "us-east-1". Required.
	Region string
	// Bucket holds the chunks. Required; an S3 bucket name.
	Bucket string
	// Prefix is the "folder" of this event's chunks in Bucket (objects are
	// PREFIX/STREAM-UNIXTIME.flv), so events can share a bucket. Required.
	Prefix string
	// AccessKey and SecretKey are the S3 credentials: on a droplet a Spaces
	// key limited to Bucket. Required, secret.
	AccessKey, SecretKey string
}

// rclone's S3 providers livecdn uses.
const (
	// ProviderSpaces is DigitalOcean Spaces.
	ProviderSpaces = "DigitalOcean"
	// ProviderOther is any other S3-compatible server, addressed path-style.
	ProviderOther = "Other"
)

// Bounds on Recordings.ChunkInterval. A chunk is what a crash can cost
// before it is uploaded (and what the upload waits for), so short is safer;
// very short only makes many small objects. The lab uses 20 s.
const (
	MinChunkInterval = 5 * time.Second
	MaxChunkInterval = time.Hour
)

// Where the uploader lives on a node, under Layout.LibDir and
// Layout.RecordDir, and its systemd unit.
const (
	// RecordScript is the file name of RecordScriptText under Layout.LibDir.
	RecordScript = "livecdn-record"
	// RecordClosedDir is the directory under Layout.RecordDir that holds the
	// chunks nginx has closed and the uploader has not yet verified in the
	// bucket.
	RecordClosedDir = "closed"
	// RecordStatusFile is the uploader's status, under Layout.RecordDir; the
	// origin's stat server serves it as RecordStatusPath.
	RecordStatusFile = "status.json"
	// RecordStatusPath is the URL path of the uploader's status on the
	// origin's stat server (StatListen, admins only). docs/RECORDINGS.md
	// documents its JSON.
	RecordStatusPath = "/recordings.json"
	// RecordRemote is the rclone remote name in Layout.RcloneConfig.
	RecordRemote = "livecdn"
	// recordUnitPath is the uploader's systemd unit on a droplet.
	recordUnitPath = "/etc/systemd/system/livecdn-recordings.service"
	// RecordUnit is the uploader's systemd unit name.
	RecordUnit = "livecdn-recordings.service"
)

// RecordStatus is the document RecordScript writes to RecordStatusFile
// (served as RecordStatusPath), field for field; docs/RECORDINGS.md says
// what each means. Times are the script's UTC "2006-01-02T15:04:05Z"; the
// optional ones are "" when unset.
type RecordStatus struct {
	Updated      time.Time `json:"updated"`
	Bucket       string    `json:"bucket"`
	Prefix       string    `json:"prefix"`
	Recording    int       `json:"recording"`
	Pending      int       `json:"pending"`
	PendingBytes int64     `json:"pendingBytes"`
	Uploaded     int       `json:"uploaded"`
	LastUploaded string    `json:"lastUploaded"`
	Failures     int       `json:"failures"`
	LastError    string    `json:"lastError"`
	LastErrorAt  string    `json:"lastErrorAt"`
	RetryAt      string    `json:"retryAt"`
}

var (
	// bucketRE is an S3 bucket name as Spaces accepts it: 3-63 lowercase
	// letters, digits and dashes, starting and ending with a letter or digit.
	bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	// prefixRE keeps object names plain: they go into shell and rclone
	// arguments, and into URLs unescaped.
	prefixRE = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)
	// regionRE is an S3 region slug ("ams3", "us-east-1").
	regionRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	// s3KeyRE admits Spaces' access keys and secrets (base64 alphabet) and
	// nothing that could end a line of rclone's INI file.
	s3KeyRE = regexp.MustCompile(`^[A-Za-z0-9+/=_.-]{8,128}$`)
)

func (p *problems) recordings(r *Recordings, record bool, l Layout) {
	if r == nil {
		return
	}
	if !record {
		p.add("Recordings", "set", "needs Record: only a recording can be uploaded")
	}
	if r.ChunkInterval < MinChunkInterval || r.ChunkInterval > MaxChunkInterval || r.ChunkInterval%time.Second != 0 {
		p.add("Recordings.ChunkInterval", r.ChunkInterval.String(), "use whole seconds from %s to %s", MinChunkInterval, MaxChunkInterval)
	}
	if u, err := url.Parse(r.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		p.add("Recordings.Endpoint", r.Endpoint, "use the S3 API's base URL, e.g. https://ams3.digitaloceanspaces.com")
	}
	if r.Provider != ProviderSpaces && r.Provider != ProviderOther {
		p.add("Recordings.Provider", r.Provider, "use %q or %q", ProviderSpaces, ProviderOther)
	}
	if !regionRE.MatchString(r.Region) {
		p.add("Recordings.Region", r.Region, "use a region slug such as ams3")
	}
	if !bucketRE.MatchString(r.Bucket) {
		p.add("Recordings.Bucket", r.Bucket, "use 3-63 lowercase letters, digits and dashes")
	}
	if !prefixRE.MatchString(r.Prefix) || hasDotSegment(r.Prefix) {
		p.add("Recordings.Prefix", r.Prefix, "use A-Z, a-z, 0-9, '.', '_', '-' and '/' between names, e.g. the stack's name")
	}
	for field, v := range map[string]string{"Recordings.AccessKey": r.AccessKey, "Recordings.SecretKey": r.SecretKey} {
		if !s3KeyRE.MatchString(v) {
			p.add(field, fmt.Sprintf("(%d characters, not shown)", len(v)), "must be 8-128 characters of A-Z a-z 0-9 + / = _ . -")
		}
	}
	p.absPath("Layout.LibDir", l.LibDir)
	p.absPath("Layout.RcloneConfig", l.RcloneConfig)
}

// RecordRemotePath is where rclone finds the event's chunks:
// "livecdn:BUCKET/PREFIX".
func (r Recordings) RecordRemotePath() string {
	return RecordRemote + ":" + r.Bucket + "/" + r.Prefix
}

// recordView is what livecdn-record.sh.tmpl reads.
type recordView struct {
	Recordings
	RecordDir, ClosedDir, StatusFile, PIDFile, RcloneConfig, Remote string
	// Script is the uploader's path; StopTimeout the unit's TimeoutStopSec.
	Script, StopTimeout string
	// PollSeconds is how often an idle uploader looks for closed chunks;
	// MaxBackoffSeconds caps the wait between retries of a failing upload.
	PollSeconds, MaxBackoffSeconds int
}

// Uploader timing: a closed chunk is picked up within PollSeconds; a bucket
// that is down is retried after 2, 4, 8 ... seconds, at most every
// MaxBackoffSeconds, so it is not hammered and recovers within a minute.
const (
	recordPollSeconds       = 2
	recordMaxBackoffSeconds = 60
	// recordStopTimeout bounds how long stopping the uploader (a shutdown,
	// `systemctl stop`) waits for the bucket before giving up: long enough
	// for a 10-minute chunk on a slow link, short enough that a reboot does
	// not hang forever on a dead bucket (the chunks then stay on disk).
	recordStopTimeout = "15min"
)

// RenderRecordScript renders the uploader (Layout.LibDir/RecordScript,
// mode 0755): `closed PATH` (nginx's exec_record_done), `recover` (before
// nginx starts), `run` (the service) and `status`. spec must have
// Recordings.
func RenderRecordScript(spec OriginSpec) (string, error) {
	view, err := recordViewOf(spec)
	if err != nil {
		return "", err
	}
	return execute("livecdn-record.sh.tmpl", view)
}

// RenderRcloneConfig renders Layout.RcloneConfig (mode 0600: it holds the
// key) with the one remote RecordRemote that the uploader and operators use.
func RenderRcloneConfig(spec OriginSpec) (string, error) {
	view, err := recordViewOf(spec)
	if err != nil {
		return "", err
	}
	return execute("rclone.conf.tmpl", view)
}

func recordViewOf(spec OriginSpec) (recordView, error) {
	var p problems
	if spec.Recordings == nil {
		p.add("Recordings", "nil", "the uploader needs the bucket to upload to")
	}
	p.recordings(spec.Recordings, spec.Record, spec.Layout)
	p.absPath("Layout.RecordDir", spec.Layout.RecordDir)
	p.absPath("Layout.PIDFile", spec.Layout.PIDFile)
	if err := p.err("recordings"); err != nil {
		return recordView{}, err
	}
	r := *spec.Recordings
	return recordView{
		Recordings:        r,
		RecordDir:         spec.Layout.RecordDir,
		ClosedDir:         path.Join(spec.Layout.RecordDir, RecordClosedDir),
		StatusFile:        path.Join(spec.Layout.RecordDir, RecordStatusFile),
		PIDFile:           spec.Layout.PIDFile,
		RcloneConfig:      spec.Layout.RcloneConfig,
		Remote:            r.RecordRemotePath(),
		Script:            path.Join(spec.Layout.LibDir, RecordScript),
		StopTimeout:       recordStopTimeout,
		PollSeconds:       recordPollSeconds,
		MaxBackoffSeconds: recordMaxBackoffSeconds,
	}, nil
}

// recordInterval is record_interval's value, in seconds.
func (r Recordings) recordInterval() string {
	return strconv.Itoa(int(r.ChunkInterval/time.Second)) + "s"
}

// recordingFiles are what an origin with Recordings adds to its user data:
// the uploader, its unit and its rclone configuration; view gains the
// closed-chunk directory, nginx's recovery step and the unit to enable.
func recordingFiles(spec OriginSpec, view *dropletView) ([]writeFile, error) {
	rv, err := recordViewOf(spec)
	if err != nil {
		return nil, err
	}
	var p problems
	p.plainPath("Layout.LibDir", spec.Layout.LibDir)
	p.plainPath("Layout.RcloneConfig", spec.Layout.RcloneConfig)
	if err := p.err("origin droplet"); err != nil {
		return nil, err
	}
	script, err := execute("livecdn-record.sh.tmpl", rv)
	if err != nil {
		return nil, err
	}
	rclone, err := execute("rclone.conf.tmpl", rv)
	if err != nil {
		return nil, err
	}
	unit, err := execute("livecdn-recordings.service.tmpl", rv)
	if err != nil {
		return nil, err
	}
	view.Dirs = append(view.Dirs, dirView{
		Why:  "Closed chunks, moved here by nginx's worker, until the bucket has them.",
		Path: rv.ClosedDir, Owner: spec.Layout.User, Group: spec.Layout.User, Mode: "0750",
	})
	view.RecordRecover = rv.Script + " recover"
	view.RecordUnit = RecordUnit
	return []writeFile{
		{Path: rv.Script, Owner: "root:root", Permissions: "0755", Defer: true, Content: script},
		{Path: recordUnitPath, Owner: "root:root", Permissions: "0644", Defer: true, Content: unit},
		{Path: spec.Layout.RcloneConfig, Owner: "root:root", Permissions: "0600", Defer: true, Content: rclone},
	}, nil
}
