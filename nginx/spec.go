// Package nginx renders everything livecdn ships to its machines: the origin's
// and edges' nginx.conf, their cloud-init user data and the edges' player page.
//
// Every renderer is a pure function of a typed spec: the same spec gives the
// same bytes, so a droplet is replaced only when what it runs really changes,
// and the lab, the CLI and the Pulumi components all ship identical text.
// This package imports nothing from Pulumi and writes no files.
package nginx

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// RTMP application names shared by the origin and the edges.
const (
	// IngestApp is where the encoder publishes: rtmp://ORIGIN/live/STREAM?key=KEY.
	IngestApp = "live"
	// LadderApp holds the renditions the origin's transcoder publishes, one
	// stream per rendition named STREAM_RENDITION.
	LadderApp = "ladder"
	// EdgeApp is the edge-local application the static pulls feed; it exists
	// only to cut HLS and is closed to publishers and players.
	EdgeApp = "live"
)

// Layout says where a node keeps its files. Production and the lab differ only
// here and in their listen addresses.
type Layout struct {
	// ModulePath is the absolute path of ngx_rtmp_module.so. Required.
	ModulePath string
	// User runs the worker processes. Optional: empty omits the directive,
	// which is what an unprivileged lab needs.
	User string
	// PIDFile is the master's pid file. Required.
	PIDFile string
	// LogDir holds error.log and the access logs. Required.
	LogDir string
	// TempDir holds nginx's five *_temp_path directories. Required.
	TempDir string
	// HLSDir is where an edge writes playlists and segments (a tmpfs in
	// production). Required for edges.
	HLSDir string
	// WebRoot holds the edge's player page. Required for edges.
	WebRoot string
	// LibDir holds livecdn's helper scripts (RelayMarkerScript on edges).
	// Required for edges.
	LibDir string
	// RecordDir receives the origin's recordings. Required when recording.
	RecordDir string
	// RcloneConfig is the rclone configuration (mode 0600) the recordings
	// uploader reads its bucket and key from. Required with Recordings.
	RcloneConfig string
	// FFmpegPath is the transcoder the origin runs for a rendition ladder.
	// Required when there are renditions.
	FFmpegPath string
	// StreamModulePath is the absolute path of ngx_stream_module.so, which
	// terminates the origin's RTMPS. Required on an origin with TLS.
	StreamModulePath string
	// TLSDir holds a node's certificate chain (TLSChainFile) and private key
	// (TLSKeyFile), which nginx's master reads as root. Required with TLS.
	TLSDir string
}

// ProductionLayout is the layout of a Debian 12 droplet running Debian's
// nginx and libnginx-mod-rtmp packages.
func ProductionLayout() Layout {
	return Layout{
		ModulePath: "/usr/lib/nginx/modules/ngx_rtmp_module.so",
		User:       "www-data",
		PIDFile:    "/run/nginx.pid",
		LogDir:     "/var/log/nginx",
		TempDir:    "/var/lib/nginx",
		HLSDir:     "/var/lib/livecdn/hls",
		WebRoot:    "/var/www/livecdn",
		LibDir:     "/usr/local/lib/livecdn",
		RecordDir:  "/var/lib/livecdn/recordings",
		// Beside TLSDir: livecdn's secrets live under /etc/livecdn.
		RcloneConfig: "/etc/livecdn/rclone.conf",
		FFmpegPath:   "/usr/bin/ffmpeg",

		StreamModulePath: "/usr/lib/nginx/modules/ngx_stream_module.so",
		TLSDir:           "/etc/livecdn/tls",
	}
}

// Stream is the one live stream an event carries, as both the origin and the
// edges must agree on it.
type Stream struct {
	// Name is the RTMP stream name the encoder publishes and the HLS playlist
	// is named after ([a-z0-9-], 1 to 32 characters). Required.
	Name string
	// FragmentSeconds is the HLS segment length. The encoder's keyframe
	// interval must not exceed it. Required, 1 to 10.
	FragmentSeconds int
	// PlaylistSeconds is how much media a live playlist lists; it must hold at
	// least four fragments. Required.
	PlaylistSeconds int
	// AudioKbps is the AAC bitrate of each rendition. Required with renditions.
	AudioKbps int
	// Renditions is the optional ABR ladder, highest first. Empty means the
	// edges serve the encoder's stream as it is.
	Renditions []Rendition
}

// Rendition is one rung of the ABR ladder the origin transcodes.
type Rendition struct {
	// Name suffixes the stream name (STREAM_NAME) and names the variant
	// playlist; [a-z0-9]+, e.g. "720p".
	Name string
	// Width and Height are the output frame size in pixels (even numbers).
	Width, Height int
	// VideoKbps is the H.264 bitrate.
	VideoKbps int
}

// StreamName is the RTMP stream a rendition is published as on the origin's
// ladder application and pulled as on the edges.
func (s Stream) StreamName(r Rendition) string {
	return s.Name + "_" + r.Name
}

// PulledStreams are the streams every edge pulls from the origin: one per
// rendition (on LadderApp), or the encoder's own stream (on IngestApp).
func (s Stream) PulledStreams() []string {
	if len(s.Renditions) == 0 {
		return []string{s.Name}
	}
	out := make([]string, len(s.Renditions))
	for i, r := range s.Renditions {
		out[i] = s.StreamName(r)
	}
	return out
}

// Playlist is the file name of the playlist viewers open: the master playlist
// when there are renditions, the media playlist otherwise.
func (s Stream) Playlist() string {
	return s.Name + ".m3u8"
}

// PlaylistPath is the URL path of Playlist on an edge.
func (s Stream) PlaylistPath() string {
	return HLSPath + s.Playlist()
}

// RelayToken is what edges present to the origin to be allowed to play. It is
// derived from the stream key, so a stack needs no second secret and a new
// stream key also revokes every old edge.
func RelayToken(streamKey string) string {
	mac := hmac.New(sha256.New, []byte(streamKey))
	mac.Write([]byte("livecdn edge relay"))
	return hex.EncodeToString(mac.Sum(nil))[:32]
}
