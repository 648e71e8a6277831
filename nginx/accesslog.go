package nginx

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// accessLine matches one line of the edges' livecdn_viewers log_format (see
// edge.conf.tmpl); nginx escapes '"' inside variables as \x22, so the quoted
// fields cannot contain a bare quote.
var accessLine = regexp.MustCompile(`^(\S+) \[([^\]]+)\] "(\S+) ([^"]*)" (\d{3}) (\d+) (\S+) "([^"]*)"$`)

// AccessEntry is one request an edge served.
type AccessEntry struct {
	Addr      string
	Time      time.Time
	Method    string
	URI       string
	Status    int
	Bytes     int64
	UserAgent string
}

// ParseAccessLine reads one line of an edge's access log.
func ParseAccessLine(line string) (AccessEntry, error) {
	m := accessLine.FindStringSubmatch(line)
	if m == nil {
		return AccessEntry{}, fmt.Errorf("not a livecdn_viewers log line: %q", line)
	}
	ts, err := time.Parse(time.RFC3339, m[2])
	if err != nil {
		return AccessEntry{}, fmt.Errorf("time %q: %w", m[2], err)
	}
	status, _ := strconv.Atoi(m[5])
	bytes, _ := strconv.ParseInt(m[6], 10, 64)
	return AccessEntry{Addr: m[1], Time: ts, Method: m[3], URI: m[4], Status: status, Bytes: bytes, UserAgent: m[8]}, nil
}

// ViewerCount is what an edge's access log says about its audience. The log
// holds playlist requests only (segments are not logged: they are most of
// the requests, and logging them was their largest cost).
type ViewerCount struct {
	// Viewers are the distinct address + user agent pairs that fetched a
	// playlist successfully: a playing client refetches its playlist every
	// fragment, so a short window sees every active viewer.
	Viewers int `json:"viewers"`
	// Requests counts the logged requests in the window.
	Requests int `json:"requests"`
	// Malformed counts lines that did not parse (another format, truncation).
	Malformed int `json:"malformed"`
}

// CountViewers counts the audience in an access log from since on.
func CountViewers(r io.Reader, since time.Time) (ViewerCount, error) {
	var c ViewerCount
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		e, err := ParseAccessLine(sc.Text())
		if err != nil {
			c.Malformed++
			continue
		}
		if e.Time.Before(since) {
			continue
		}
		c.Requests++
		if e.Status == 200 && strings.HasSuffix(e.URI, ".m3u8") {
			seen[e.Addr+"\x00"+e.UserAgent] = true
		}
	}
	c.Viewers = len(seen)
	return c, sc.Err()
}
