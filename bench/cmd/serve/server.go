package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/livecdn/livecdn/bench/internal/measure"
)

// server is one private nginx instance this program started.
type server struct {
	config
	cmd  *exec.Cmd
	done chan struct{}
	// workers are the pids whose CPU time is the server's: the worker
	// processes, or nginx itself when it runs without a master (under
	// valgrind).
	workers []int
	// headers is the size of the status line and headers per file served.
	headers map[string]int
}

// startServer writes c's config and runs `nginx -p DIR -c CONF`, prefixed
// by wrapper (e.g. valgrind) when given; with a wrapper nginx runs as one
// process without a master.
func startServer(ctx context.Context, c config, wrapper ...string) (*server, error) {
	s := &server{config: c}
	confPath := filepath.Join(c.dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(c.text), 0o644); err != nil {
		return nil, err
	}
	stderrPath := filepath.Join(c.dir, "stderr.log")
	out, err := os.Create(stderrPath)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	global := "daemon off;"
	if len(wrapper) > 0 {
		global += " master_process off;"
	}
	args := append(append([]string(nil), wrapper...),
		"nginx", "-p", c.dir, "-c", confPath, "-e", filepath.Join(c.dir, "error.log"), "-g", global)
	s.cmd = exec.Command(args[0], args[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = out, out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start nginx: %w", c.name, err)
	}
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.done) }()

	// valgrind makes nginx start slowly.
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", c.listen, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-s.done:
			msg, _ := os.ReadFile(stderrPath)
			return nil, fmt.Errorf("%s: nginx exited: %s", c.name, msg)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s: nginx did not listen on %s within 30 s", c.name, c.listen)
		}
	}
	if len(wrapper) > 0 {
		s.workers = []int{s.cmd.Process.Pid}
		return s, nil
	}
	if s.workers, err = measure.WaitNginxWorkers(s.cmd.Process.Pid, max(1, c.workers)); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// stop ends the nginx this program started: a fast shutdown (SIGTERM), then
// SIGKILL to its process group after 10 s. Not SIGQUIT: a graceful quit
// never finishes while nginx-rtmp has a static pull configured (its worker
// stays "shutting down").
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

func (s *server) url(file string) string { return s.base() + s.prefix + file }

// cpuTime is the CPU time all of s's workers have used.
func (s *server) cpuTime() (time.Duration, error) {
	var sum time.Duration
	for _, pid := range s.workers {
		t, err := measure.CPUTime(pid)
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

// checkServes fetches every file once: the bytes on disk, the HLS content
// types, and the size of the response headers, which the playlist workload
// is sensitive to.
func (s *server) checkServes(ctx context.Context, set fileSet) error {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: s.client}}
	s.headers = map[string]int{}
	want := map[string]string{".ts": "video/mp2t", ".m3u8": "application/vnd.apple.mpegurl"}
	for _, f := range append([]string{set.playlist}, set.segments...) {
		body, err := measure.Get(ctx, client, s.url(f))
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		onDisk, err := os.ReadFile(filepath.Join(set.dir, f))
		if err != nil {
			return err
		}
		if string(body) != string(onDisk) {
			return fmt.Errorf("%s: GET %s: served %d bytes that differ from the %d on disk", s.name, f, len(body), len(onDisk))
		}
		var ct string
		if s.headers[f], ct, err = rawHeaders(s.config, s.prefix+f); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if ct != want[path.Ext(f)] {
			return fmt.Errorf("%s: GET %s: Content-Type %q, want %q", s.name, f, ct, want[path.Ext(f)])
		}
	}
	return nil
}

// rawHeaders is the exact size of the status line and headers nginx sends
// for a GET of urlPath (HTTP/1.1, as wrk sends it), and the Content-Type.
func rawHeaders(c config, urlPath string) (int, string, error) {
	addr := c.listen
	var conn net.Conn
	var err error
	if c.client != nil {
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, c.client)
	} else {
		conn, err = net.DialTimeout("tcp", addr, 2*time.Second)
	}
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", urlPath, addr); err != nil {
		return 0, "", err
	}
	r := bufio.NewReader(conn)
	n, ct := 0, ""
	for {
		line, err := r.ReadString('\n')
		n += len(line)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, "", fmt.Errorf("headers of %s: %w", urlPath, err)
		}
		if line == "\r\n" {
			return n, ct, nil
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Type") {
			ct = strings.TrimSpace(v)
		}
	}
}
