package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is one supervised program: started again whenever it exits, as
// systemd's Restart=always does on a droplet, until it is stopped.
type process struct {
	name    string
	command func() *exec.Cmd
	// prepare runs before every start (e.g. clearing an edge's stale markers).
	prepare func() error
	log     io.Writer

	mu       sync.Mutex
	cmd      *exec.Cmd
	paused   bool
	stopping bool
	done     chan struct{}
	wake     chan struct{}
}

const (
	restartDelay    = 200 * time.Millisecond
	maxRestartDelay = 2 * time.Second
	// A run that lasted this long was healthy: restart promptly next time.
	healthyRun = 5 * time.Second
)

func newProcess(name string, log io.Writer, command func() *exec.Cmd) *process {
	return &process{name: name, command: command, log: log, done: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// start launches the supervision loop.
func (p *process) start() {
	go p.loop()
}

func (p *process) loop() {
	defer close(p.done)
	delay := restartDelay
	for {
		p.mu.Lock()
		for p.paused && !p.stopping {
			p.mu.Unlock()
			<-p.wake
			p.mu.Lock()
		}
		if p.stopping {
			p.mu.Unlock()
			return
		}
		if p.prepare != nil {
			if err := p.prepare(); err != nil {
				fmt.Fprintf(p.log, "lab: %s: prepare: %v\n", p.name, err)
			}
		}
		cmd := p.command()
		// Its own process group, so a stop takes nginx's worker and the
		// transcoder it spawned along with the master, as a crash would.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		began := time.Now()
		err := cmd.Start()
		if err == nil {
			p.cmd = cmd
		}
		p.mu.Unlock()
		if err != nil {
			fmt.Fprintf(p.log, "lab: %s: start: %v\n", p.name, err)
		} else {
			err = cmd.Wait()
		}

		p.mu.Lock()
		p.cmd = nil
		stopping, paused := p.stopping, p.paused
		p.mu.Unlock()
		if stopping {
			return
		}
		if paused {
			continue
		}
		if time.Since(began) > healthyRun {
			delay = restartDelay
		}
		fmt.Fprintf(p.log, "lab: %s exited (%v); restarting in %v\n", p.name, err, delay)
		select {
		case <-time.After(delay):
		case <-p.wake:
		}
		delay = min(2*delay, maxRestartDelay)
	}
}

// pid is the running process's id, or 0 between runs.
func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// kill sends SIGKILL to the whole process group, like a crash; the loop then
// restarts it unless it is paused or stopping.
func (p *process) kill() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return fmt.Errorf("%s is not running", p.name)
	}
	return syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// pause stops the process and keeps it stopped until resume.
func (p *process) pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
	p.terminate()
}

func (p *process) resume() {
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
	p.poke()
}

func (p *process) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// stop ends supervision and the process, waiting for both.
func (p *process) stop(ctx context.Context) {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.poke()
	p.terminate()
	select {
	case <-p.done:
	case <-ctx.Done():
		p.signal(syscall.SIGKILL)
		<-p.done
	}
}

// terminate asks the process group to exit and kills it if it lingers.
func (p *process) terminate() {
	p.signal(syscall.SIGTERM)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if p.pid() == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.signal(syscall.SIGKILL)
}

func (p *process) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// logFile opens a node's log for appending; the caller closes it.
func logFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}
