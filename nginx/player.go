package nginx

import (
	"fmt"
	"net/url"
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
}

// PlayerIndex is the player page's file name under Layout.WebRoot.
const PlayerIndex = "index.html"

type playerView struct {
	PlayerSpec
	PlaylistPath string
	Ladder       bool
}

// RenderPlayer renders the player page each edge serves at "/".
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
	if err := p.err("player"); err != nil {
		return "", err
	}
	view := playerView{
		PlayerSpec:   spec,
		PlaylistPath: HLSPath + spec.Stream.Playlist(),
		Ladder:       len(spec.Stream.Renditions) > 0,
	}
	page, err := executeWith(siteTemplates, "index.html.tmpl", view)
	if err != nil {
		return "", fmt.Errorf("player page: %w", err)
	}
	return page, nil
}
