package lab

import (
	"context"
	"encoding/xml"
	"fmt"
)

// Stat is the part of nginx-rtmp's rtmp_stat XML the lab reads: who
// publishes and who plays each stream. Edges appear as players; HLS viewers
// never appear, which is the point.
type Stat struct {
	// Accepted counts the connections the server has accepted since it started.
	Accepted     int               `xml:"naccepted"`
	Applications []StatApplication `xml:"server>application"`
}

// StatApplication is one RTMP application.
type StatApplication struct {
	Name    string       `xml:"name"`
	Streams []StatStream `xml:"live>stream"`
}

// StatStream is one live stream and its RTMP clients.
type StatStream struct {
	Name    string       `xml:"name"`
	Clients []StatClient `xml:"client"`
}

// StatClient is one RTMP session.
type StatClient struct {
	Address    string    `xml:"address"`
	FlashVer   string    `xml:"flashver"`
	Publishing *struct{} `xml:"publishing"`
}

// FetchStat reads an rtmp_stat page.
func FetchStat(ctx context.Context, statURL string) (Stat, error) {
	body, err := Get(ctx, statURL)
	if err != nil {
		return Stat{}, err
	}
	s, err := ParseStat(body)
	if err != nil {
		return Stat{}, fmt.Errorf("%s: %w", statURL, err)
	}
	return s, nil
}

// ParseStat parses an rtmp_stat page.
func ParseStat(body []byte) (Stat, error) {
	var s Stat
	if err := xml.Unmarshal(body, &s); err != nil {
		return Stat{}, fmt.Errorf("rtmp_stat: %w", err)
	}
	return s, nil
}

// Stream finds a stream, or nil.
func (s Stat) Stream(app, name string) *StatStream {
	for _, a := range s.Applications {
		if a.Name != app {
			continue
		}
		for i := range a.Streams {
			if a.Streams[i].Name == name {
				return &a.Streams[i]
			}
		}
	}
	return nil
}

// Players counts the sessions playing app/name (0 when it does not exist).
func (s Stat) Players(app, name string) int {
	st := s.Stream(app, name)
	if st == nil {
		return 0
	}
	n := 0
	for _, c := range st.Clients {
		if c.Publishing == nil {
			n++
		}
	}
	return n
}

// Publishing reports whether someone publishes app/name.
func (s Stat) Publishing(app, name string) bool {
	return s.Publishers(app, name) > 0
}

// Publishers counts the sessions publishing app/name. On an edge, a static
// pull shows up as its stream's publisher.
func (s Stat) Publishers(app, name string) int {
	st := s.Stream(app, name)
	if st == nil {
		return 0
	}
	n := 0
	for _, c := range st.Clients {
		if c.Publishing != nil {
			n++
		}
	}
	return n
}
