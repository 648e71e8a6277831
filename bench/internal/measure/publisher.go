package measure

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// PublisherOptions shape the test-pattern encoder.
type PublisherOptions struct {
	// Size is the frame size, e.g. "1280x720". Required.
	Size string
	// FragmentSeconds sets the keyframe interval (30 fps x this). Required.
	FragmentSeconds int
	// Log receives ffmpeg's errors. Default io.Discard.
	Log io.Writer
}

// Publisher is an ffmpeg publishing the same test pattern and tone, with the
// same encoder settings, as the lab's own source (lab.startSource), and
// reporting its progress so the wall-clock time at which it sent a given
// stream timestamp can be recovered.
type Publisher struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu sync.Mutex
	// epoch is the earliest wall time minus stream time seen in ffmpeg's
	// progress reports: a frame with stream time t left ffmpeg no earlier
	// than epoch+t, and -re paces the source so it left very nearly then.
	epoch    time.Time
	anchored bool
	reports  int
}

// StartPublisher starts publishing to url (rtmp://HOST:PORT/APP/STREAM?key=K).
func StartPublisher(url string, o PublisherOptions) (*Publisher, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	gop := strconv.Itoa(30 * o.FragmentSeconds)
	cmd := exec.Command(ffmpegPath(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
		"-progress", "pipe:1", "-stats_period", "0.05",
		"-re", "-f", "lavfi", "-i", "testsrc2=size="+o.Size+":rate=30",
		"-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
		"-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-b:v", "1500k",
		"-c:a", "aac", "-b:a", "128k",
		"-f", "flv", url)
	cmd.Stderr = o.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("publisher: start ffmpeg: %w", err)
	}
	p := &Publisher{cmd: cmd, done: make(chan struct{})}
	go p.readProgress(stdout)
	return p, nil
}

// readProgress turns ffmpeg's -progress blocks into clock anchors. Each block
// ends with "progress=..."; out_time_us is the newest muxed timestamp.
func (p *Publisher) readProgress(r io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(r)
	outTime := int64(-1)
	for sc.Scan() {
		now := time.Now()
		key, value, _ := strings.Cut(sc.Text(), "=")
		switch key {
		case "out_time_us":
			us, err := strconv.ParseInt(value, 10, 64)
			if err != nil || us <= 0 {
				outTime = -1
				continue
			}
			outTime = us
		case "progress":
			if outTime < 0 {
				continue
			}
			epoch := now.Add(-time.Duration(outTime) * time.Microsecond)
			p.mu.Lock()
			if !p.anchored || epoch.Before(p.epoch) {
				p.epoch = epoch
				p.anchored = true
			}
			p.reports++
			p.mu.Unlock()
		}
	}
	p.err = p.cmd.Wait()
}

// SentAt is the wall-clock time at which the frame with stream time t left
// the encoder, and false until ffmpeg has reported progress.
func (p *Publisher) SentAt(t time.Duration) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.epoch.Add(t), p.anchored
}

// Reports is how many progress reports anchored the clock.
func (p *Publisher) Reports() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reports
}

// Stop ends ffmpeg (SIGTERM, then SIGKILL after 3 s) and waits for it.
func (p *Publisher) Stop() error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	return nil
}

// Exited reports whether ffmpeg has exited, and why.
func (p *Publisher) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.exitErr()
	default:
		return false, nil
	}
}

func (p *Publisher) exitErr() error {
	if p.err == nil {
		return errors.New("ffmpeg exited")
	}
	return fmt.Errorf("ffmpeg exited: %w", p.err)
}

func ffmpegPath() string {
	if path, err := exec.LookPath("ffmpeg"); err == nil {
		return path
	}
	return "/usr/bin/ffmpeg"
}
