package status

import (
	"encoding/xml"
	"fmt"
)

// rtmpStat is the part of nginx-rtmp's rtmp_stat XML status reads. (lab.Stat
// reads less of it for the lab's own checks; status must not import the lab.)
type rtmpStat struct {
	Applications []statApplication `xml:"server>application"`
}

type statApplication struct {
	Name    string       `xml:"name"`
	Streams []statStream `xml:"live>stream"`
}

type statStream struct {
	Name string `xml:"name"`
	// BwVideo and BwAudio are the incoming bitrates, bits per second.
	BwVideo int          `xml:"bw_video"`
	BwAudio int          `xml:"bw_audio"`
	Clients []statClient `xml:"client"`
	Meta    struct {
		Video struct {
			Width     int     `xml:"width"`
			Height    int     `xml:"height"`
			FrameRate float64 `xml:"frame_rate"`
		} `xml:"video"`
	} `xml:"meta"`
}

type statClient struct {
	Address string `xml:"address"`
	// PageURL is what an edge's pull presents (nginx.RelayPageURL).
	PageURL    string    `xml:"pageurl"`
	Publishing *struct{} `xml:"publishing"`
}

func parseStat(body []byte) (rtmpStat, error) {
	var s rtmpStat
	if err := xml.Unmarshal(body, &s); err != nil {
		return rtmpStat{}, fmt.Errorf("rtmp_stat: %w", err)
	}
	return s, nil
}

func (s rtmpStat) stream(app, name string) *statStream {
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

func (s *statStream) publisher() *statClient {
	for i := range s.Clients {
		if s.Clients[i].Publishing != nil {
			return &s.Clients[i]
		}
	}
	return nil
}
