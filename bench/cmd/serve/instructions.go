package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/livecdn/livecdn/bench/internal/measure"
)

// The second phase counts work instead of timing it: nginx runs under
// valgrind's callgrind, which counts the instructions it executes in user
// space. Counting is unaffected by whatever else runs on a shared machine,
// so small differences between configs (and between our config with one
// directive removed) show up reliably. It does not see kernel work
// (syscalls, TCP, sendfile copies); the syscalls per request are compared
// separately (docs/BENCHMARKS.md has the strace command).

// loadConns is how many keep-alive connections the counting load uses.
const loadConns = 8

// instructionsPerRequest runs c under callgrind and returns, per workload,
// the user-space instructions nginx executed per request: counters are
// zeroed after a warm-up, n requests are made, and the counters are dumped.
func instructionsPerRequest(ctx context.Context, c config, workloads []workload, n int) (map[string]float64, error) {
	out := filepath.Join(c.dir, "callgrind.out")
	s, err := startServer(ctx, c, "valgrind", "--tool=callgrind", "--callgrind-out-file="+out)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	client := measure.NewHTTPClient(loadConns)
	res := map[string]float64{}
	for i, w := range workloads {
		urls := make([]string, len(w.files))
		for j, f := range w.files {
			urls[j] = s.url(f)
		}
		if err := load(ctx, client, urls, 25*loadConns); err != nil {
			return nil, fmt.Errorf("%s: warm-up: %w", c.name, err)
		}
		if err := callgrindControl(ctx, "-z", s.workers[0]); err != nil {
			return nil, err
		}
		if err := load(ctx, client, urls, n); err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		if err := callgrindControl(ctx, "-d", s.workers[0]); err != nil {
			return nil, err
		}
		total, err := readCallgrindTotal(ctx, fmt.Sprintf("%s.%d", out, i+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		res[w.name] = float64(total) / float64(n)
	}
	return res, nil
}

// load makes exactly n GET requests (n a multiple of loadConns) over
// loadConns keep-alive connections, cycling through urls; any failure is an
// error.
func load(ctx context.Context, client *http.Client, urls []string, n int) error {
	var wg sync.WaitGroup
	errs := make([]error, loadConns)
	for c := range loadConns {
		wg.Go(func() {
			for i := range n / loadConns {
				if _, err := measure.Download(ctx, client, urls[(c+i*loadConns)%len(urls)]); err != nil {
					errs[c] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func callgrindControl(ctx context.Context, action string, pid int) error {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "callgrind_control", action, strconv.Itoa(pid)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("callgrind_control %s %d: %w: %s", action, pid, err, out)
	}
	return nil
}

// readCallgrindTotal waits for a callgrind dump and reads its instruction
// total (the "summary:" or "totals:" line).
func readCallgrindTotal(ctx context.Context, path string) (int64, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if total, err := callgrindTotal(path); err == nil {
			return total, nil
		} else if time.Now().After(deadline) {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func callgrindTotal(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		for _, key := range []string{"summary:", "totals:"} {
			if v, ok := strings.CutPrefix(sc.Text(), key); ok {
				fields := strings.Fields(v)
				if len(fields) == 0 {
					continue
				}
				return strconv.ParseInt(fields[0], 10, 64)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no instruction total (yet)", path)
}
