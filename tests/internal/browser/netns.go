package browser

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// devtoolsPrefix starts the line on which Chromium says where DevTools
// listens.
const devtoolsPrefix = "DevTools listening on "

// startInNetns starts Chromium inside the network namespace netns and returns
// its DevTools URL as the host reaches it, through a forwarder on the host's
// loopback whose connections dial into the namespace; stop kills Chromium
// and closes the forwarder.
func startInNetns(netns string, dial func(ctx context.Context, network, addr string) (net.Conn, error), profile string, switches []chromiumSwitch) (wsURL string, stop func(), err error) {
	args := []string{"netns", "exec", netns, ChromiumPath}
	for _, f := range switches {
		if f.value == "" {
			args = append(args, "--"+f.name)
		} else {
			args = append(args, "--"+f.name+"="+f.value)
		}
	}
	// Port 0: Chromium picks a free one and says which on stderr. The
	// first page is blank, not the welcome page.
	args = append(args, "--user-data-dir="+profile,
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank")
	cmd := exec.Command("ip", args...)
	// Its own process group, so stop reaches Chromium's helpers too; and
	// killed with the test binary, so a crashed test leaves no browser.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	found := make(chan string, 1)
	out := &devtoolsWatcher{found: found}
	cmd.Stdout, cmd.Stderr = out, out
	// Helpers that outlive the browser may hold its stderr open; Wait must
	// not wait for them.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start %s in netns %s: %w", ChromiumPath, netns, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // killed by stop, or reported below from its output
		close(exited)
	}()
	kill := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // gone already is fine
		<-exited
	}

	var devtools string
	select {
	case devtools = <-found:
	case <-exited:
		kill() // its helpers, if any are left
		return "", nil, fmt.Errorf("%s in netns %s exited before DevTools listened:\n%s", ChromiumPath, netns, out.early())
	case <-time.After(DefaultTimeout):
		kill()
		return "", nil, fmt.Errorf("%s in netns %s: DevTools not listening within %v:\n%s", ChromiumPath, netns, DefaultTimeout, out.early())
	}
	u, err := url.Parse(devtools)
	if err != nil {
		kill()
		return "", nil, fmt.Errorf("%s in netns %s: DevTools URL %q: %w", ChromiumPath, netns, devtools, err)
	}
	// Chromium prints the line a moment before DevTools answers; a
	// connection in between is closed at once, which chromedp reports as
	// EOF. Wait until it answers its version page.
	if err := waitDevTools(u.Host, dial); err != nil {
		kill()
		return "", nil, fmt.Errorf("DevTools at %s in netns %s: %w", u.Host, netns, err)
	}
	fwd, err := forward(u.Host, dial)
	if err != nil {
		kill()
		return "", nil, fmt.Errorf("forward to DevTools at %s in netns %s: %w", u.Host, netns, err)
	}
	u.Host = fwd.addr()
	return u.String(), func() { kill(); fwd.close() }, nil
}

// waitDevTools asks DevTools at addr for /json/version until it answers
// 200, for up to DefaultTimeout.
func waitDevTools(addr string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) error {
	deadline := time.Now().Add(DefaultTimeout)
	for {
		err := askVersion(addr, dial)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within %v: %w", DefaultTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func askVersion(addr string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, "GET /json/version HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n"); err != nil {
		return err
	}
	status := make([]byte, 12)
	if _, err := io.ReadFull(conn, status); err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
		return fmt.Errorf("it answered %q", status)
	}
	return nil
}

// devtoolsWatcher takes Chromium's output, sends the DevTools URL on found
// once it appears, and keeps what came before it for error messages.
type devtoolsWatcher struct {
	found chan<- string

	mu     sync.Mutex
	before bytes.Buffer // output up to the DevTools line
	line   []byte       // a line not yet ended
	done   bool
}

// maxEarly bounds the output kept for an error message.
const maxEarly = 16 << 10

func (w *devtoolsWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		line := w.line[:i+1]
		if rest, ok := bytes.CutPrefix(line, []byte(devtoolsPrefix)); ok {
			w.found <- string(bytes.TrimSpace(rest))
			w.done, w.line = true, nil
			break
		}
		if w.before.Len() < maxEarly {
			w.before.Write(line)
		}
		w.line = w.line[i+1:]
	}
	return len(p), nil
}

func (w *devtoolsWatcher) early() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.before.String() + string(w.line)
}

// forwarder listens on the host's loopback and joins each connection to a
// new one dialled, through its dial function, to target.
type forwarder struct {
	ln     net.Listener
	target string
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func forward(target string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*forwarder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &forwarder{ln: ln, target: target, dial: dial, conns: map[net.Conn]struct{}{}}
	f.wg.Go(f.accept)
	return f, nil
}

func (f *forwarder) addr() string { return f.ln.Addr().String() }

func (f *forwarder) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return // closed
		}
		f.wg.Go(func() { f.join(c) })
	}
}

// join copies both ways until either side closes, then closes both; a
// connection that cannot be dialled is closed, which chromedp reports.
func (f *forwarder) join(c net.Conn) {
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	up, err := f.dial(ctx, "tcp", f.target)
	cancel()
	if err != nil {
		return
	}
	defer up.Close()
	if !f.track(c, up) {
		return
	}
	defer f.untrack(c, up)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done // the other copy ends when the deferred Closes cut its side
}

// track records live connections so close can cut them; it refuses once
// the forwarder is closed.
func (f *forwarder) track(cs ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		return false
	}
	for _, c := range cs {
		f.conns[c] = struct{}{}
	}
	return true
}

func (f *forwarder) untrack(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		delete(f.conns, c)
	}
}

// close stops accepting, cuts every live connection and waits for the
// copies to end.
func (f *forwarder) close() {
	_ = f.ln.Close() // Accept then returns
	f.mu.Lock()
	for c := range f.conns {
		_ = c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	f.wg.Wait()
}
