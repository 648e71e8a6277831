package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// State is the player page's window.livecdn plus what a viewer sees around
// the video.
type State struct {
	Base      string  `json:"base"`
	Edge      string  `json:"edge"`
	State     string  `json:"state"`
	Failovers int     `json:"failovers"`
	Time      float64 `json:"time"`
	Paused    bool    `json:"paused"`
	Label     string  `json:"label"`
	Notice    bool    `json:"notice"`
	Title     string  `json:"title"`
}

// Playing is a check for Wait: it accepts a page that plays.
func (s State) Playing() error {
	if s.State != "playing" || s.Paused {
		return fmt.Errorf("state %q, paused %v, at %.1f s", s.State, s.Paused, s.Time)
	}
	return nil
}

// stateJS reads State from the page's elements, by the ids the player page
// gives them.
const stateJS = `(() => {
	const video = document.getElementById("video");
	return Object.assign({}, window.livecdn, {
		time: video.currentTime,
		paused: video.paused,
		label: document.getElementById("edge").textContent,
		notice: !document.getElementById("notice").hidden,
		title: document.getElementById("notice-title").textContent,
	});
})()`

// Read returns the page's state now, failing the test if it cannot be read.
func Read(t testing.TB, page context.Context) State {
	t.Helper()
	st, err := read(page)
	if err != nil {
		t.Fatalf("read the player page: %v", err)
	}
	return st
}

func read(page context.Context) (State, error) {
	ctx, cancel := context.WithTimeout(page, 10*time.Second)
	defer cancel()
	var st State
	err := chromedp.Run(ctx, chromedp.Evaluate(stateJS, &st))
	return st, err
}

// Wait polls the page until check accepts its state, within DefaultTimeout,
// and returns that state.
func Wait(t testing.TB, page context.Context, what string, check func(State) error) State {
	t.Helper()
	return WaitWithin(t, page, what, DefaultTimeout, check)
}

// WaitWithin is Wait with another deadline, which is still a bound against
// hangs, not a performance claim.
func WaitWithin(t testing.TB, page context.Context, what string, timeout time.Duration, check func(State) error) State {
	t.Helper()
	began := time.Now()
	deadline := began.Add(timeout)
	for {
		st, err := read(page)
		if err == nil {
			err = check(st)
		}
		if err == nil {
			t.Logf("%s: after %v", what, time.Since(began).Round(10*time.Millisecond))
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// WaitAdvance waits until the video has played seconds past from. Moving to
// another edge reloads the stream, so only progress after the move counts.
func WaitAdvance(t testing.TB, page context.Context, what string, from, seconds float64) {
	t.Helper()
	Wait(t, page, what, func(s State) error {
		if s.Time < from+seconds {
			return fmt.Errorf("at %.1f s, want %.1f s", s.Time, from+seconds)
		}
		return nil
	})
}

// FreezeMeter finds the longest time the video did not advance, from the
// samples that Wait's checks take (every 200 ms or so). The move to another
// edge restarts the video's clock, so only increases count as progress.
// The zero value is ready to use.
type FreezeMeter struct {
	last     float64
	advanced time.Time
	longest  time.Duration
}

// Sample records the video's position now.
func (f *FreezeMeter) Sample(at float64) {
	now := time.Now()
	if f.advanced.IsZero() || at > f.last {
		f.advanced = now
	}
	f.last = at
	f.longest = max(f.longest, now.Sub(f.advanced))
}

// Longest is the longest the picture stood still between samples so far.
func (f *FreezeMeter) Longest() time.Duration { return f.longest }

// Screenshot saves the page as dir/name, a PNG for people to look at.
func Screenshot(t testing.TB, page context.Context, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page, 20*time.Second)
	defer cancel()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	t.Logf("screenshot: %s", path)
}

// Frame is the iframe of page whose document URL starts with prefix, as a
// context Read and Wait accept: Chromium runs a cross-site iframe as a
// target of its own, which the page's context cannot evaluate in.
func Frame(t testing.TB, page context.Context, prefix string) context.Context {
	t.Helper()
	deadline := time.Now().Add(DefaultTimeout)
	for {
		targets, err := chromedp.Targets(page)
		if err != nil {
			t.Fatalf("list Chromium's targets: %v", err)
		}
		var seen []string
		for _, ti := range targets {
			if ti.Type == "iframe" && strings.HasPrefix(ti.URL, prefix) {
				frame, _ := chromedp.NewContext(page, chromedp.WithTargetID(ti.TargetID))
				if err := chromedp.Run(frame); err != nil {
					t.Fatalf("attach to the iframe %s: %v", ti.URL, err)
				}
				return frame
			}
			seen = append(seen, ti.Type+" "+ti.URL)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no iframe at %s within %v; targets: %v", prefix, DefaultTimeout, seen)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
