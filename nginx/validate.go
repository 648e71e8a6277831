package nginx

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
)

var (
	streamNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	renditionNameRE = regexp.MustCompile(`^[a-z0-9]{1,16}$`)
	// Stream keys and relay tokens land in an nginx map and a URL query, so
	// they are restricted to characters that need no quoting in either.
	secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,128}$`)
	// Node names appear in a response header and log lines.
	nodeNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	// domainRE is a lowercase DNS name of two labels or more.
	domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// problems collects every invalid field of a spec, so one run shows them all.
type problems []error

func (p *problems) add(field string, value any, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %v: %s", field, quoteIfString(value), fmt.Sprintf(format, args...)))
}

func (p problems) err(what string) error {
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("invalid %s spec: %w", what, errors.Join(p...))
}

func quoteIfString(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

func (p *problems) absPath(field, path string) {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		p.add(field, path, "must be a clean absolute path")
	}
}

func (p *problems) listen(field, addr string) {
	if _, err := parseListen(addr); err != nil {
		p.add(field, addr, "%v; use PORT or HOST:PORT, e.g. 1935 or 127.0.0.1:1935", err)
	}
}

func (p *problems) listenIPv6(field, addr string) {
	p.listen(field, addr)
	if ap, err := parseListen(addr); err == nil && !ap.Addr().Is6() {
		p.add(field, addr, "use an IPv6 address, e.g. [::]:%d", ap.Port())
	}
}

// unusedWithoutTLS reports a TLS-only field set on a spec without TLS, which
// would otherwise be silently ignored.
func (p *problems) unusedWithoutTLS(field, value string) {
	if value != "" {
		p.add(field, value, "set TLS too, or leave %s empty: without a certificate nothing listens there", field)
	}
}

// parseListen accepts nginx's "PORT" and "HOST:PORT" listen forms.
func parseListen(addr string) (netip.AddrPort, error) {
	if port, err := strconv.ParseUint(addr, 10, 16); err == nil && port > 0 {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port)), nil
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || ap.Port() == 0 {
		return netip.AddrPort{}, errors.New("not a listen address")
	}
	return ap, nil
}

// samePort reports two valid listen addresses on one port.
func samePort(a, b string) bool {
	apA, errA := parseListen(a)
	apB, errB := parseListen(b)
	return errA == nil && errB == nil && apA.Port() == apB.Port()
}

// loopbackURLHost is how a process on the node itself reaches a listener.
func loopbackURLHost(addr string) string {
	ap, _ := parseListen(addr) // validated before rendering
	if ap.Addr().IsUnspecified() {
		return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ap.Port()).String()
	}
	return ap.String()
}

// cidrs validates a list of CIDRs and returns them canonical (masked), sorted
// and without duplicates, so the rendered text does not depend on input order.
func (p *problems) cidrs(field string, in []string, required bool) []string {
	if required && len(in) == 0 {
		p.add(field, "[]", "at least one CIDR is required")
	}
	out := make([]string, 0, len(in))
	for i, s := range in {
		prefix, err := netip.ParsePrefix(s)
		if err != nil {
			p.add(fmt.Sprintf("%s[%d]", field, i), s, "not a CIDR; write an address with its prefix length, e.g. 203.0.113.7/32")
			continue
		}
		out = append(out, prefix.Masked().String())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (p *problems) stream(s Stream) {
	if !streamNameRE.MatchString(s.Name) {
		p.add("Stream.Name", s.Name, "use 1 to 32 of a-z, 0-9 and '-', starting with a letter or digit")
	}
	if s.FragmentSeconds < 1 || s.FragmentSeconds > 10 {
		p.add("Stream.FragmentSeconds", s.FragmentSeconds, "use 1 to 10 (2 matches a 2 s keyframe interval)")
	}
	if s.PlaylistSeconds < 4*s.FragmentSeconds || s.PlaylistSeconds > 120 {
		p.add("Stream.PlaylistSeconds", s.PlaylistSeconds,
			"must hold 4 to 120 s and at least four fragments (>= %d s), or players stall", 4*s.FragmentSeconds)
	}
	if len(s.Renditions) == 0 {
		return
	}
	if s.AudioKbps < 32 || s.AudioKbps > 320 {
		p.add("Stream.AudioKbps", s.AudioKbps, "use 32 to 320 kbps for the renditions' AAC audio")
	}
	seen := map[string]bool{}
	for i, r := range s.Renditions {
		field := fmt.Sprintf("Stream.Renditions[%d]", i)
		if !renditionNameRE.MatchString(r.Name) {
			p.add(field+".Name", r.Name, "use 1 to 16 of a-z and 0-9, e.g. 720p")
		} else if seen[r.Name] {
			p.add(field+".Name", r.Name, "rendition names must be unique")
		}
		seen[r.Name] = true
		if r.Width < 128 || r.Width > 3840 || r.Width%2 != 0 {
			p.add(field+".Width", r.Width, "use an even width from 128 to 3840")
		}
		if r.Height < 72 || r.Height > 2160 || r.Height%2 != 0 {
			p.add(field+".Height", r.Height, "use an even height from 72 to 2160")
		}
		if r.VideoKbps < 100 || r.VideoKbps > 20000 {
			p.add(field+".VideoKbps", r.VideoKbps, "use 100 to 20000 kbps")
		}
		if i > 0 && r.Height >= s.Renditions[i-1].Height {
			p.add(field+".Height", r.Height, "order renditions from the highest to the lowest height")
		}
	}
}

func (p *problems) secret(field, value string) {
	if !secretRE.MatchString(value) {
		// Never echo a secret, even a malformed one.
		p.add(field, fmt.Sprintf("(%d characters, not shown)", len(value)),
			"use 16 to 128 of A-Z, a-z, 0-9, '_' and '-'")
	}
}
