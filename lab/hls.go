package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Playlist is the part of an HLS playlist the lab checks.
type Playlist struct {
	// Variants are the media playlists a master playlist lists, resolved
	// against its URL; empty for a media playlist.
	Variants []string
	// Segments are the media segments' URLs, oldest first.
	Segments []string
	// Names are the segments' names as listed.
	Names []string
	// MediaSequence is the sequence number of the first segment.
	MediaSequence int
}

// End identifies the newest segment: it changes whenever a segment is added,
// even when an encoder restart makes nginx-rtmp reuse timestamp names.
func (p Playlist) End() string {
	if len(p.Names) == 0 {
		return ""
	}
	return fmt.Sprintf("%d:%s", p.MediaSequence+len(p.Names)-1, p.Names[len(p.Names)-1])
}

// httpClient trusts the labs' CAs besides the system's roots.
var httpClient = &http.Client{Timeout: 5 * time.Second, Transport: labTransport()}

// StatusError is a response other than 200 OK.
type StatusError struct {
	URL  string
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: %d %s", e.URL, e.Code, http.StatusText(e.Code))
}

// Status is the HTTP status GET rawURL answers with, or 0 when it does not answer.
func Status(ctx context.Context, rawURL string) int {
	_, err := Get(ctx, rawURL)
	var se *StatusError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &se):
		return se.Code
	default:
		return 0
	}
}

// Get fetches a URL's body, failing on any status but 200.
func Get(ctx context.Context, rawURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, &StatusError{URL: rawURL, Code: resp.StatusCode}
	}
	return body, nil
}

// FetchPlaylist fetches and parses an HLS playlist.
func FetchPlaylist(ctx context.Context, rawURL string) (Playlist, error) {
	body, err := Get(ctx, rawURL)
	if err != nil {
		return Playlist{}, err
	}
	return ParsePlaylist(rawURL, body)
}

// ParsePlaylist parses a playlist fetched from rawURL, resolving its URIs.
func ParsePlaylist(rawURL string, body []byte) (Playlist, error) {
	base, err := url.Parse(rawURL)
	if err != nil {
		return Playlist{}, err
	}
	var p Playlist
	variant := false
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF"):
			variant = true
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			p.MediaSequence, err = strconv.Atoi(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"))
			if err != nil {
				return Playlist{}, fmt.Errorf("%s: bad media sequence %q", rawURL, line)
			}
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			ref, err := base.Parse(line)
			if err != nil {
				return Playlist{}, fmt.Errorf("%s: bad URI %q: %w", rawURL, line, err)
			}
			if variant {
				p.Variants = append(p.Variants, ref.String())
				variant = false
			} else {
				p.Segments = append(p.Segments, ref.String())
				p.Names = append(p.Names, line)
			}
		}
	}
	return p, sc.Err()
}

// CheckPlayable succeeds when the playlist at rawURL (and every variant of a
// master playlist) lists segments and its newest segment downloads.
func CheckPlayable(ctx context.Context, rawURL string) error {
	p, err := FetchPlaylist(ctx, rawURL)
	if err != nil {
		return err
	}
	if len(p.Variants) > 0 {
		for _, v := range p.Variants {
			if err := CheckPlayable(ctx, v); err != nil {
				return err
			}
		}
		return nil
	}
	if len(p.Segments) == 0 {
		return fmt.Errorf("%s lists no segments yet", rawURL)
	}
	seg, err := Get(ctx, p.Segments[len(p.Segments)-1])
	if err != nil {
		return err
	}
	if len(seg) == 0 {
		return errors.New("empty segment")
	}
	return nil
}
