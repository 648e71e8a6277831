package nginx

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// HLSJSVersion is the hls.js release the player page loads. Browsers without
// native HLS (Chrome, Firefox, Edge on desktop) need it.
const HLSJSVersion = "1.7.4"

// HLSJSIntegrity is the Subresource Integrity hash of hls.js HLSJSVersion's
// dist/hls.min.js, as published on npm. A test checks it against the copy
// `make hlsjs` fetches, so a bump cannot forget to update it.
const HLSJSIntegrity = "sha384-p9vgU/7IYJWd3I4STrtqxqR/2cAQlhIX7D/HrTnIMEjjcUox165b7se7sxmm3zDg"

// HLSJSFile is the file name the player page loads hls.js from when it is
// served next to the page, as it is in the lab.
const HLSJSFile = "hls.min.js"

// PublicHLSJS loads hls.js from a public CDN, pinned and integrity-checked.
func PublicHLSJS() Script {
	return Script{
		Src:       "https://cdn.jsdelivr.net/npm/hls.js@" + HLSJSVersion + "/dist/hls.min.js",
		Integrity: HLSJSIntegrity,
	}
}

// LocalHLSJS loads the copy of hls.js served next to the page, so nothing is
// fetched from outside (the lab and the tests).
func LocalHLSJS() Script {
	return Script{Src: HLSJSFile, Integrity: HLSJSIntegrity}
}

// Script is an external script the page loads.
type Script struct {
	// Src is an absolute https URL or a path relative to the page. Required.
	Src string
	// Integrity is its Subresource Integrity hash. Required.
	Integrity string
}

// PlayerSpec is what an edge's player page depends on.
type PlayerSpec struct {
	// EventName titles the page, e.g. "AnimeCon 2026". Required.
	EventName string
	// Stream is the event's stream; the page opens its playlist. Required.
	Stream Stream
	// HLSJS is where hls.js comes from. Required.
	HLSJS Script
	// Candidates are the base URLs of the edges the page may play from and
	// fail over between, e.g. "http://ams3.live.example.org". Optional;
	// without any, the page plays from the origin it was served from and
	// cannot fail over. At most MaxPlayerCandidates.
	//
	// The page is part of every edge's user data, and a change to user data
	// replaces the droplet: list every region the event could ever use (the
	// whole catalog), deployed or not, never the edges that happen to exist.
	// A region without an edge does not resolve and the page skips it.
	//
	// Each must be an absolute http or https URL with no user, path, query or
	// fragment. They are rendered normalized (lower-case host, no default
	// port, as browsers write an origin), sorted and without duplicates.
	Candidates []string
}

// MaxPlayerCandidates bounds PlayerSpec.Candidates: the page probes every one
// of them when it starts and whenever its edge fails.
const MaxPlayerCandidates = 64

// PlayerIndex is the player page's file name under Layout.WebRoot.
const PlayerIndex = "index.html"

type playerView struct {
	PlayerSpec
	PlaylistPath string
	Ladder       bool
	// StallMillis is how long playback may stand still, while not paused,
	// before the page gives up on its edge: three fragments, at least 6 s,
	// so a slow segment is not mistaken for a dead edge.
	StallMillis int
}

// RenderPlayer renders the player page each edge serves at "/". The page
// plays with hls.js, or the browser's own HLS where hls.js cannot run; it
// starts on the edge that served it (or, on a name that is no candidate, on
// the fastest healthy one), moves to the fastest other healthy candidate when
// its edge fails or stalls, and says so when no edge has the stream. Its state
// is in window.livecdn: base, edge, state and failovers.
func RenderPlayer(spec PlayerSpec) (string, error) {
	var p problems
	if strings.TrimSpace(spec.EventName) == "" || len(spec.EventName) > 100 {
		p.add("EventName", spec.EventName, "give the event's name, 1 to 100 characters")
	}
	p.stream(spec.Stream)
	if u, err := url.Parse(spec.HLSJS.Src); err != nil || spec.HLSJS.Src == "" || (u.IsAbs() && u.Scheme != "https") {
		p.add("HLSJS.Src", spec.HLSJS.Src, "use an https URL or a path relative to the page")
	}
	if !strings.HasPrefix(spec.HLSJS.Integrity, "sha384-") && !strings.HasPrefix(spec.HLSJS.Integrity, "sha512-") {
		p.add("HLSJS.Integrity", spec.HLSJS.Integrity, "use the script's sha384- or sha512- Subresource Integrity hash")
	}
	candidates := p.candidates("Candidates", spec.Candidates)
	if err := p.err("player"); err != nil {
		return "", err
	}
	spec.Candidates = candidates
	view := playerView{
		PlayerSpec:   spec,
		PlaylistPath: spec.Stream.PlaylistPath(),
		Ladder:       len(spec.Stream.Renditions) > 0,
		StallMillis:  1000 * max(6, 3*spec.Stream.FragmentSeconds),
	}
	page, err := executeWith(siteTemplates, "index.html.tmpl", view)
	if err != nil {
		return "", fmt.Errorf("player page: %w", err)
	}
	return trimLineEnds(page), nil
}

// trimLineEnds drops trailing blanks, which the template's layout leaves on
// otherwise empty lines: YAML can keep such text as a readable literal
// block in the user data, and review diffs stay clean.
func trimLineEnds(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Join(lines, "\n")
}

// candidates validates the player's base URLs and returns them as browsers
// write an origin (the page compares them with location.origin), sorted and
// without duplicates, so the page does not depend on the input's order.
// It never returns nil: the page's script reads an empty list, not null.
func (p *problems) candidates(field string, in []string) []string {
	if len(in) > MaxPlayerCandidates {
		p.add(field, len(in), "list at most %d base URLs, one per region", MaxPlayerCandidates)
	}
	return p.webOrigins(field, in, "a base URL such as http://ams3.live.example.org")
}

// webOrigins validates web origins and returns them as browsers write them
// (location.origin, the Origin header), sorted and without duplicates; never
// nil. example is what the fix suggests instead of a bad one.
func (p *problems) webOrigins(field string, in []string, example string) []string {
	out := make([]string, 0, len(in))
	for i, raw := range in {
		origin, err := webOrigin(raw)
		if err != nil {
			p.add(fmt.Sprintf("%s[%d]", field, i), raw, "%v; write %s", err, example)
			continue
		}
		out = append(out, origin)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// webOrigin parses an absolute http(s) URL that names a server and nothing
// else, and writes it the way a browser's location.origin does.
func webOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", errors.New("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("use an http or https URL")
	case u.Opaque != "" || u.Hostname() == "":
		return "", errors.New("name a host")
	case u.User != nil:
		return "", errors.New("leave out the user")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.ForceQuery, u.Fragment != "":
		return "", errors.New("leave out the path, query and fragment: the page adds them")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" && strings.HasSuffix(u.Host, ":") {
		return "", errors.New("give the port after ':' or leave out the ':'")
	}
	if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 1 || n > 65535) {
		return "", errors.New("use a port from 1 to 65535")
	}
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 literal
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host, nil
}
