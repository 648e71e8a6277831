package status

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Screen options.
type Screen struct {
	// Color marks red figures with ANSI colour (a terminal); without it they
	// carry a "!" so a log or a pipe still shows them.
	Color bool
}

// Render writes the report as the event-day screen: the origin, one line per
// edge, the totals against the plan, then every problem with its machine.
func (sc Screen) Render(w io.Writer, r Report) error {
	red := func(s string, bad bool) string {
		switch {
		case !bad:
			return s
		case sc.Color:
			return "\x1b[31m" + s + "\x1b[0m"
		default:
			return s + "!"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "livecdn status %s   %s\n\n", r.Name, r.Time.Format("2006-01-02 15:04:05 MST"))

	o := r.Origin
	switch {
	case !o.Reachable:
		fmt.Fprintf(&b, "ORIGIN  %s\n", red("UNREACHABLE", true))
	case !o.Publishing:
		fmt.Fprintf(&b, "ORIGIN  %s\n", red("no publisher", true))
	default:
		fmt.Fprintf(&b, "ORIGIN  publishing from %s   %d kbps (video %d, audio %d)   %dx%d @ %s fps\n",
			o.PublisherAddress, o.BitrateKbps, o.VideoKbps, o.AudioKbps, o.Width, o.Height, strconv.FormatFloat(o.FrameRate, 'f', -1, 64))
	}
	// The edges' columns, as one line: the node exporter may answer while
	// rtmp_stat does not.
	egress, nic, cpu := o.Load.cells()
	fmt.Fprintf(&b, "        egress Mbps: %s   NIC: %s   CPU: %s\n", red(egress.text, egress.bad), red(nic.text, nic.bad), red(cpu.text, cpu.bad))
	if o.Reachable {
		var parts []string
		for _, s := range o.Relays {
			parts = append(parts, fmt.Sprintf("%s→%d", s.Stream, len(s.Edges)))
		}
		fmt.Fprintf(&b, "        relays per rendition: %s\n", strings.Join(parts, "  "))
	}
	switch rec := o.Recording; {
	case rec == nil && o.RecordingError == "":
		fmt.Fprintf(&b, "        recording: n/a\n")
	case rec == nil:
		fmt.Fprintf(&b, "        recording: %s\n", red("unknown", true))
	default:
		state := "off"
		if rec.Recording > 0 {
			state = "on"
		}
		bad := len(rec.problems(o.Publishing, r.Time)) > 0
		fmt.Fprintf(&b, "        recording: %s   upload backlog: %s (%s)   failures: %d\n", red(state, bad && o.Publishing && rec.Recording == 0),
			red(strconv.Itoa(rec.Pending)+" chunks", rec.Pending > RecordingBacklogWarnChunks), mib(rec.PendingBytes), rec.Failures)
	}
	b.WriteString("\n")

	// Columns are padded on the plain text and coloured afterwards, so the
	// escape codes never shift a column.
	rows := [][]cell{{{text: "EDGE"}, {text: "STATE"}, {text: "VIEWERS"}, {text: "PLAN"}, {text: "EGRESS Mbps"}, {text: "NIC"}, {text: "CPU"}, {text: "CONNS"}, {text: "SEGMENT"}, {text: "RELAYS edge/origin"}}}
	for _, e := range r.Edges {
		state := cell{text: "ok"}
		if !e.Healthy {
			state = cell{"DOWN", true}
		} else if len(e.Problems) > 0 {
			state = cell{"warn", true}
		}
		live := 0
		for _, rl := range e.Relays {
			if rl.Live {
				live++
			}
		}
		relays := cell{text: "-"}
		if e.Viewers != nil {
			relays = cell{fmt.Sprintf("%d/%d", live, len(e.Relays)), live < len(e.Relays) || hasProblem(e, "origin relays")}
			if e.OriginRelays != nil {
				relays.text += fmt.Sprintf(" / %d", *e.OriginRelays)
			}
		}
		egress, nic, cpu := e.Load.cells()
		rows = append(rows, []cell{
			{text: e.Name}, state,
			{intOr(e.Viewers), e.Viewers != nil && e.CapacityViewers > 0 && *e.Viewers > e.CapacityViewers},
			{text: planned(e.CapacityViewers)},
			egress, nic, cpu,
			{text: intOr(e.Connections)},
			{floatOr(e.SegmentAgeSeconds, "%.1fs"), e.Viewers != nil && (e.SegmentAgeSeconds == nil || hasProblem(e, "segment"))},
			relays,
		})
	}
	rows = append(rows, []cell{{text: "TOTAL"},
		{fmt.Sprintf("%d/%d ok", r.HealthyEdges, len(r.Edges)), r.HealthyEdges < len(r.Edges)},
		{text: strconv.Itoa(r.Viewers)}, {text: planned(r.CapacityViewers)}, {text: floatOr(r.EgressMbps, "%.1f")}})
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(red(c.text, c.bad && !sc.Color)))
		}
	}
	for _, row := range rows {
		var line strings.Builder
		for i, c := range row {
			text := red(c.text, c.bad)
			pad := widths[i] - utf8.RuneCountInString(red(c.text, c.bad && !sc.Color))
			line.WriteString(text + strings.Repeat(" ", pad+2))
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	if r.PlannedViewers > 0 {
		fmt.Fprintf(&b, "planned audience %d, capacity %d viewers\n", r.PlannedViewers, r.CapacityViewers)
	}

	problems := slices.Clone(r.Problems)
	for _, p := range o.Problems {
		problems = append(problems, "origin: "+p)
	}
	for _, e := range r.Edges {
		for _, p := range e.Problems {
			problems = append(problems, e.Name+": "+p)
		}
	}
	if len(problems) > 0 {
		b.WriteString("\n")
		for _, p := range problems {
			b.WriteString(red("! "+p, sc.Color) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell is one figure on the screen and whether it is red.
type cell struct {
	text string
	bad  bool
}

// cells are a machine's load as the screen shows it, for an edge's row and
// the origin's line alike; "-" where not known.
func (l Load) cells() (egress, nic, cpu cell) {
	return cell{text: floatOr(l.EgressMbps, "%.1f")},
		cell{floatOr(l.NICPercent, "%.0f%%"), l.NICPercent != nil && *l.NICPercent > NICWarnPercent},
		cell{floatOr(l.CPUPercent, "%.0f%%"), l.CPUPercent != nil && *l.CPUPercent > CPUWarnPercent}
}

func hasProblem(e EdgeReport, substr string) bool {
	for _, p := range e.Problems {
		if strings.Contains(p, substr) {
			return true
		}
	}
	return false
}

func intOr(p *int) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(*p)
}

func floatOr(p *float64, format string) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf(format, *p)
}

func planned(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
