package nginx

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// OriginSpec is everything the origin's nginx.conf depends on.
type OriginSpec struct {
	// Layout says where files live. Required.
	Layout Layout
	// RTMPListen accepts the encoder and the edges, e.g. "1935". Required.
	RTMPListen string
	// StatListen serves rtmp_stat and stub_status to AdminCIDRs, e.g. "8080". Required.
	StatListen string
	// AuthListen is the loopback-only server that on_publish and on_play ask,
	// e.g. "127.0.0.1:8086". Required, and must be a loopback address.
	AuthListen string
	// Stream is the event's stream. Required.
	Stream Stream
	// StreamKey must be presented as ?key= by the publisher. Required, secret.
	StreamKey string
	// IngestCIDRs may publish (the venue's uplink). Required.
	IngestCIDRs []string
	// EdgeCIDRs may play, besides the node itself. Optional: empty leaves the
	// network gate to the cloud firewall, and the relay token still applies.
	EdgeCIDRs []string
	// AdminCIDRs may read the stat pages. Required.
	AdminCIDRs []string
	// Record writes the encoder's stream to Layout.RecordDir. Default false.
	Record bool
	// Recordings uploads the recording, in chunks, to a bucket. Optional:
	// nil keeps it on the origin's disk only. Requires Record.
	Recordings *Recordings

	// TLS is the origin's certificate, for RTMPS ingest. Optional: nil takes
	// RTMP only, exactly as without these fields.
	TLS *TLS
	// RTMPSListen takes encoders over RTMPS (RTMP in TLS), e.g. "443",
	// terminated by nginx's stream module and forwarded to
	// RTMPSBackendListen. The same stream key and IngestCIDRs apply as on
	// RTMPListen. Required with TLS, unused without.
	RTMPSListen string
	// RTMPSBackendListen is the loopback RTMP listener the RTMPS server
	// forwards to, e.g. "127.0.0.1:1936". It speaks the PROXY protocol, so
	// the RTMP application sees each encoder's own address, not 127.0.0.1.
	// Required with TLS, unused without; must be a loopback address.
	RTMPSBackendListen string

	// NodeExporterListen is where Debian's prometheus-node-exporter listens
	// on an origin droplet, as on an edge (EdgeSpec.NodeExporterListen),
	// e.g. ":9100" (every address: the cloud firewall admits only admins).
	// Required by RenderOriginUserData; unused by RenderOriginConf and by
	// RenderOriginBootstrap, which installs no exporter: a team's own
	// server has no cloud firewall of ours, and the exporter answers
	// anyone who reaches it.
	NodeExporterListen string
}

// originView is what origin.conf.tmpl reads: the spec, validated and with
// everything derived from it computed in Go rather than in the template.
type originView struct {
	OriginSpec
	TLSFiles tlsView
	// RecordInterval and RecordDone are set with Recordings.
	RecordInterval, RecordDone string
	RelayToken                 string
	LocalRTMP                  string
	Transcoder                 string
	StreamNames                []string
}

// RenderOriginConf renders the origin's nginx.conf.
func RenderOriginConf(spec OriginSpec) (string, error) {
	view, err := spec.view()
	if err != nil {
		return "", err
	}
	return execute("origin.conf.tmpl", view)
}

func (spec OriginSpec) view() (originView, error) {
	var p problems
	l := spec.Layout
	p.absPath("Layout.ModulePath", l.ModulePath)
	p.absPath("Layout.PIDFile", l.PIDFile)
	p.absPath("Layout.LogDir", l.LogDir)
	p.absPath("Layout.TempDir", l.TempDir)
	if spec.Record {
		p.absPath("Layout.RecordDir", l.RecordDir)
	}
	p.recordings(spec.Recordings, spec.Record, l)
	if len(spec.Stream.Renditions) > 0 {
		p.absPath("Layout.FFmpegPath", l.FFmpegPath)
	}
	p.listen("RTMPListen", spec.RTMPListen)
	p.listen("StatListen", spec.StatListen)
	p.listen("AuthListen", spec.AuthListen)
	if ap, err := parseListen(spec.AuthListen); err == nil && !ap.Addr().IsLoopback() {
		p.add("AuthListen", spec.AuthListen, "must be a loopback address such as 127.0.0.1:8086, or anyone could ask it whether a key is right")
	}
	p.stream(spec.Stream)
	p.secret("StreamKey", spec.StreamKey)
	spec.IngestCIDRs = p.cidrs("IngestCIDRs", spec.IngestCIDRs, true)
	spec.EdgeCIDRs = p.cidrs("EdgeCIDRs", spec.EdgeCIDRs, false)
	spec.AdminCIDRs = p.cidrs("AdminCIDRs", spec.AdminCIDRs, true)
	tlsFiles := p.tls("TLS", spec.TLS, l)
	if spec.TLS != nil {
		p.absPath("Layout.StreamModulePath", l.StreamModulePath)
		p.listen("RTMPSListen", spec.RTMPSListen)
		p.listen("RTMPSBackendListen", spec.RTMPSBackendListen)
		if ap, err := parseListen(spec.RTMPSBackendListen); err == nil && !ap.Addr().IsLoopback() {
			p.add("RTMPSBackendListen", spec.RTMPSBackendListen,
				"must be a loopback address such as 127.0.0.1:1936: it believes the client address the PROXY protocol header claims")
		}
		for _, other := range [][2]string{{"RTMPListen", spec.RTMPListen}, {"AuthListen", spec.AuthListen}, {"StatListen", spec.StatListen}} {
			if samePort(spec.RTMPSBackendListen, other[1]) {
				p.add("RTMPSBackendListen", spec.RTMPSBackendListen, "use a port of its own, not %s's %q", other[0], other[1])
			}
		}
	} else {
		p.unusedWithoutTLS("RTMPSListen", spec.RTMPSListen)
		p.unusedWithoutTLS("RTMPSBackendListen", spec.RTMPSBackendListen)
	}
	if err := p.err("origin"); err != nil {
		return originView{}, err
	}

	view := originView{
		OriginSpec: spec,
		TLSFiles:   tlsFiles,
		RelayToken: RelayToken(spec.StreamKey),
		LocalRTMP:  "rtmp://" + loopbackURLHost(spec.RTMPListen),
	}
	if r := spec.Recordings; r != nil {
		view.RecordInterval = r.recordInterval()
		view.RecordDone = path.Join(l.LibDir, RecordScript) + " closed $path"
	}
	for _, r := range spec.Stream.Renditions {
		view.StreamNames = append(view.StreamNames, spec.Stream.StreamName(r))
	}
	if len(spec.Stream.Renditions) > 0 {
		view.Transcoder = transcoderCommand(view)
	}
	return view, nil
}

// transcoderCommand is the exec line that turns the encoder's stream into the
// ladder: one decode, one H.264 encode per rendition, each published to the
// ladder application. nginx-rtmp expands $name (letters only, so $name_720p
// is $name followed by "_720p") and starts it when the encoder publishes.
func transcoderCommand(v originView) string {
	s := v.Stream
	keyframes := fmt.Sprintf("expr:gte(t,n_forced*%d)", s.FragmentSeconds)
	args := []string{
		v.Layout.FFmpegPath, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
		"-i", fmt.Sprintf("%s/%s/$name?relay=%s", v.LocalRTMP, IngestApp, v.RelayToken),
	}
	for _, r := range s.Renditions {
		kbps := strconv.Itoa(r.VideoKbps) + "k"
		args = append(args,
			"-map", "0:v:0", "-map", "0:a:0?",
			"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
			"-vf", fmt.Sprintf("scale=%d:%d", r.Width, r.Height),
			"-b:v", kbps, "-maxrate", kbps, "-bufsize", strconv.Itoa(2*r.VideoKbps)+"k",
			// Keyframes on fragment boundaries, so every rendition is cut at
			// the same instants and players can switch between them.
			"-force_key_frames", keyframes, "-sc_threshold", "0",
			"-c:a", "aac", "-b:a", strconv.Itoa(s.AudioKbps)+"k", "-ar", "48000",
			"-f", "flv", fmt.Sprintf("%s/%s/$name_%s", v.LocalRTMP, LadderApp, r.Name),
		)
	}
	args = append(args, "2>>"+v.Layout.LogDir+"/transcoder.log")
	return strings.Join(args, " ")
}
