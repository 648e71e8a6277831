package rehearsal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

const (
	// accelProbeTimeout bounds the probe boot. Under a working KVM the
	// kernel reaches its panic in about a second.
	accelProbeTimeout = 15 * time.Second
	// accelCacheFile, in the caller's cache directory, keeps answers across
	// runs.
	accelCacheFile = "accel.json"
)

var (
	accelMu    sync.Mutex
	accelCache = map[string]string{}
)

// Accel reports the accelerator VMs booting kernel should use: "kvm" if
// /dev/kvm exists and a probe boot of kernel and initrd under KVM reaches
// the kernel's panic for a missing init within 15 s, "tcg" otherwise. It is
// detected, never assumed: some hosts' /dev/kvm (kvm-pvm) runs only kernels
// built as PVM guests, and Debian's kernels hang or abort there.
//
// The answer is cached per kernel file (path, size and modification time)
// in memory and, if cacheDir is not empty, in cacheDir/accel.json.
func Accel(kernel, initrd, cacheDir string) (string, error) {
	fi, err := os.Stat(kernel)
	if err != nil {
		return "", fmt.Errorf("accel: %w", err)
	}
	if _, err := os.Stat(initrd); err != nil {
		return "", fmt.Errorf("accel: %w", err)
	}
	abs, err := filepath.Abs(kernel)
	if err != nil {
		return "", fmt.Errorf("accel: %w", err)
	}
	key := fmt.Sprintf("%s|%d|%d", abs, fi.Size(), fi.ModTime().UnixNano())

	accelMu.Lock()
	defer accelMu.Unlock()
	if a, ok := accelCache[key]; ok {
		return a, nil
	}
	cached := map[string]string{}
	cachePath := ""
	if cacheDir != "" {
		cachePath = filepath.Join(cacheDir, accelCacheFile)
		data, err := os.ReadFile(cachePath)
		switch {
		case err == nil:
			if err := json.Unmarshal(data, &cached); err != nil {
				return "", fmt.Errorf("accel: decode %s (remove it to probe again): %w", cachePath, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("accel: %w", err)
		}
		if a, ok := cached[key]; ok {
			accelCache[key] = a
			return a, nil
		}
	}

	a := "tcg"
	if _, err := os.Stat("/dev/kvm"); err == nil {
		ok, err := probeKVM(abs, initrd)
		if err != nil {
			return "", err
		}
		if ok {
			a = "kvm"
		}
	}
	accelCache[key] = a
	if cachePath != "" {
		cached[key] = a
		data, err := json.MarshalIndent(cached, "", "  ")
		if err != nil {
			return "", fmt.Errorf("accel: encode cache: %w", err)
		}
		if err := os.MkdirAll(cacheDir, 0o755); err != nil {
			return "", fmt.Errorf("accel: %w", err)
		}
		if err := os.WriteFile(cachePath, append(data, '\n'), 0o644); err != nil {
			return "", fmt.Errorf("accel: %w", err)
		}
	}
	return a, nil
}

// probeKVM boots kernel under KVM with an init that does not exist: a
// kernel that runs properly prints its banner, unpacks the initrd, fails to
// find init and panics, and -no-reboot turns the panic's reboot into qemu's
// exit. Anything short of the panic (a hang, an abort, qemu refusing -cpu
// host) means KVM cannot run this kernel. Only a failure to run qemu at all
// is an error.
func probeKVM(kernel, initrd string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), accelProbeTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64",
		"-machine", "q35", "-accel", "kvm", "-cpu", "host", "-m", "256",
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-monitor", "none",
		"-no-reboot",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 rdinit=/bin/does-not-exist")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && ctx.Err() == nil {
		return false, fmt.Errorf("accel: run qemu-system-x86_64: %w", err)
	}
	s := out.String()
	return strings.Contains(s, "Linux version") && strings.Contains(s, "Kernel panic"), nil
}
