package rehearsal

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAccelCache checks that an answer in the cache file is used as is:
// a probe boot costs up to 15 s, so a rehearsal runs it once per kernel.
func TestAccelCache(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "vmlinuz")
	initrd := filepath.Join(dir, "initrd.img")
	require.NoError(t, os.WriteFile(kernel, []byte("not a kernel"), 0o644))
	require.NoError(t, os.WriteFile(initrd, nil, 0o644))
	fi, err := os.Stat(kernel)
	require.NoError(t, err)
	key := fmt.Sprintf("%s|%d|%d", kernel, fi.Size(), fi.ModTime().UnixNano())
	cache := filepath.Join(dir, "cache")
	require.NoError(t, os.MkdirAll(cache, 0o755))
	data, err := json.Marshal(map[string]string{key: "kvm"})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(cache, accelCacheFile), data, 0o644))

	got, err := Accel(kernel, initrd, cache)
	require.NoError(t, err)
	require.Equal(t, "kvm", got, "the cached answer, without a probe (this file is no kernel)")

	_, err = Accel(filepath.Join(dir, "missing"), initrd, cache)
	require.Error(t, err)
}
