package nginx

import (
	"encoding/xml"
	"fmt"
)

// RTMPStat is the part of nginx-rtmp's rtmp_stat XML livecdn reads: who
// publishes and who plays each stream, at what bitrate. Edges appear as
// players of the origin's streams (their pulls, named by RelayPageURL); HLS
// viewers never appear. The lab, the benchmarks and `livecdn status` all
// read it through here.
type RTMPStat struct {
	// Accepted counts the connections the server has accepted since it started.
	Accepted     int                   `xml:"naccepted"`
	Applications []RTMPStatApplication `xml:"server>application"`
}

// RTMPStatApplication is one RTMP application.
type RTMPStatApplication struct {
	Name    string           `xml:"name"`
	Streams []RTMPStatStream `xml:"live>stream"`
}

// RTMPStatStream is one live stream and its RTMP clients.
type RTMPStatStream struct {
	Name string `xml:"name"`
	// BwVideo and BwAudio are the incoming bitrates, in bits per second.
	BwVideo int              `xml:"bw_video"`
	BwAudio int              `xml:"bw_audio"`
	Clients []RTMPStatClient `xml:"client"`
	// Meta is what the publisher announced.
	Meta struct {
		Video struct {
			Width     int     `xml:"width"`
			Height    int     `xml:"height"`
			FrameRate float64 `xml:"frame_rate"`
		} `xml:"video"`
	} `xml:"meta"`
}

// RTMPStatClient is one RTMP session.
type RTMPStatClient struct {
	Address  string `xml:"address"`
	FlashVer string `xml:"flashver"`
	// PageURL is what the session presented; an edge's pull presents
	// RelayPageURL.
	PageURL    string    `xml:"pageurl"`
	Publishing *struct{} `xml:"publishing"`
}

// ParseRTMPStat parses an rtmp_stat page.
func ParseRTMPStat(body []byte) (RTMPStat, error) {
	var s RTMPStat
	if err := xml.Unmarshal(body, &s); err != nil {
		return RTMPStat{}, fmt.Errorf("rtmp_stat: %w", err)
	}
	return s, nil
}

// Stream finds a stream, or nil.
func (s RTMPStat) Stream(app, name string) *RTMPStatStream {
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

// Publisher is the session publishing the stream, or nil.
func (st *RTMPStatStream) Publisher() *RTMPStatClient {
	for i := range st.Clients {
		if st.Clients[i].Publishing != nil {
			return &st.Clients[i]
		}
	}
	return nil
}

// Players counts the sessions playing app/name (0 when it does not exist).
func (s RTMPStat) Players(app, name string) int {
	st := s.Stream(app, name)
	if st == nil {
		return 0
	}
	return len(st.Clients) - s.Publishers(app, name)
}

// Publishing reports whether someone publishes app/name.
func (s RTMPStat) Publishing(app, name string) bool {
	return s.Publishers(app, name) > 0
}

// Publishers counts the sessions publishing app/name. On an edge, a static
// pull shows up as its stream's publisher.
func (s RTMPStat) Publishers(app, name string) int {
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
