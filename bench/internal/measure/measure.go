// Package measure holds what livecdn's benchmarks share: a test-pattern
// publisher whose clock can be read back, rtmp_stat and HLS clients, CPU
// accounting from /proc, simple statistics and the markdown they report in.
//
// Benchmarks report numbers; they assert nothing about wall-clock times.
// Everything they start listens on 127.0.0.0/8 and stops by itself.
package measure

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Row is one line of the summary table run.sh prints and docs/BENCHMARKS.md
// records: a metric, its goal, what was measured, pass/fail and the command
// that produced it.
type Row struct {
	Metric   string
	Goal     string
	Measured string
	Result   string
	Command  string
}

// Verdict is the Result column for a goal that has a target.
func Verdict(pass bool) string {
	if pass {
		return "pass"
	}
	return "**FAIL**"
}

// NoGoal is the Result column for a figure the issue gives no target for.
const NoGoal = "n/a (no target)"

// AppendSummary appends rows as markdown table lines to path, so run.sh can
// print one summary table for every benchmark. An empty path does nothing.
func AppendSummary(path string, rows ...Row) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	for _, r := range rows {
		fmt.Fprintf(f, "| %s | %s | %s | %s | `%s` |\n", r.Metric, r.Goal, r.Measured, r.Result, r.Command)
	}
	return f.Close()
}

// Table writes a markdown table.
func Table(w io.Writer, header []string, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
	seps := make([]string, len(header))
	for i := range seps {
		seps[i] = "---"
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(seps, " | "))
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
}

// Command is how to reproduce a run of this program: `go run ./bench/cmd/NAME`
// with every flag that was set, except those that only say where output goes.
func Command(fs *flag.FlagSet, skip ...string) string {
	name := filepath.Base(os.Args[0])
	parts := []string{"go run ./bench/cmd/" + name}
	var set []string
	fs.Visit(func(f *flag.Flag) {
		for _, s := range skip {
			if f.Name == s {
				return
			}
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() && f.Value.String() == "true" {
			set = append(set, "-"+f.Name) // `-flag true` would end the flags
			return
		}
		set = append(set, fmt.Sprintf("-%s %s", f.Name, f.Value.String()))
	})
	sort.Strings(set)
	return strings.Join(append(parts, set...), " ")
}

// Seconds formats a duration given in seconds with millisecond precision.
func Seconds(s float64) string {
	return fmt.Sprintf("%.2f s", s)
}

// Main runs a benchmark command: run gets the arguments and stdout/stderr,
// and a context that SIGINT or SIGTERM cancels, so labs and loads it
// started are always stopped.
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
