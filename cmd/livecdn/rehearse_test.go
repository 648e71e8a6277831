package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRehearseRefusesBeforeStartingAnything: bad arguments and stacks a
// rehearsal cannot boot are refused with what to do, before any VM, image or
// namespace exists. Booting itself is tests/machines' business.
func TestRehearseRefusesBeforeStartingAnything(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no stack", nil, "--stack is required"},
		{"positional stack", []string{"dev"}, `unexpected argument "dev"`},
		{"bad stack name", []string{"--stack", "my event"}, `"my event" is not a stack name`},
		{"missing stack file", []string{"--stack", "nope", "--dir", t.TempDir()}, "stack nope"},
		{"negative edge limit", []string{"--stack", "dev", "--dir", repoRoot, "--max-edges-per-region", "-1"}, "--max-edges-per-region -1: give 1 or more, or 0 for every edge"},
		{"bring-your-own origin", []string{"--stack", "byo", "--dir", renderTestdata}, "origin is the team's own server (livecdn:origin.byo), which a rehearsal cannot boot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runRehearse(context.Background(), tc.args, &out, &errOut)
			require.ErrorContains(t, err, tc.want)
			require.Empty(t, out.String(), "nothing on stdout but the JSON line of a running rehearsal")
		})
	}
}
