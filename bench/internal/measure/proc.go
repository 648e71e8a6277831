package measure

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat.
var clockTicks = func() int {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100 // what Linux uses on every architecture Debian ships
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || n <= 0 {
		return 100
	}
	return n
}()

// procStat is the part of /proc/PID/stat the benchmarks read.
type procStat struct {
	ppid       int
	cpu        time.Duration // utime + stime
	comm, args string
}

func readProcStat(pid int) (procStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// comm is in parentheses and may contain spaces: split after the last ')'.
	s := string(data)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	fields := strings.Fields(s[end+1:])
	// fields[0] is state (field 3); ppid is field 4, utime 14, stime 15.
	if len(fields) < 13 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	ppid, err1 := strconv.Atoi(fields[1])
	utime, err2 := strconv.ParseInt(fields[11], 10, 64)
	stime, err3 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed numbers", pid)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return procStat{
		ppid: ppid,
		cpu:  time.Duration(utime+stime) * time.Second / time.Duration(clockTicks),
		comm: s[strings.IndexByte(s, '(')+1 : end],
		args: strings.TrimRight(strings.ReplaceAll(string(cmdline), "\x00", " "), " "),
	}, nil
}

// CPUTime is the user plus system CPU time pid has used, at the kernel's
// USER_HZ resolution (10 ms).
func CPUTime(pid int) (time.Duration, error) {
	st, err := readProcStat(pid)
	if err != nil {
		return 0, fmt.Errorf("cpu time of %d: %w", pid, err)
	}
	return st.cpu, nil
}

// NginxWorkers lists the worker processes of the nginx master masterPID.
func NginxWorkers(masterPID int) ([]int, error) {
	paths, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, p := range paths {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil {
			continue // exited meanwhile
		}
		if st.ppid == masterPID && strings.HasPrefix(st.args, "nginx: worker process") {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// NginxWorker waits up to 5 s for the single worker of masterPID.
func NginxWorker(masterPID int) (int, error) {
	pids, err := WaitNginxWorkers(masterPID, 1)
	if err != nil {
		return 0, err
	}
	return pids[0], nil
}

// WaitNginxWorkers waits up to 5 s for exactly n workers of masterPID.
func WaitNginxWorkers(masterPID, n int) ([]int, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, err := NginxWorkers(masterPID)
		if err != nil {
			return nil, err
		}
		if len(pids) == n {
			return pids, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("nginx %d has %d worker processes, want exactly %d", masterPID, len(pids), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
