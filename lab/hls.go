package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

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
		return body, fmt.Errorf("GET %s: %s", rawURL, resp.Status)
	}
	return body, nil
}

// FetchPlaylist fetches and parses an HLS playlist.
func FetchPlaylist(ctx context.Context, rawURL string) (Playlist, error) {
	body, err := Get(ctx, rawURL)
	if err != nil {
		return Playlist{}, err
	}
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
