package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/livecdn/livecdn/nginx"
)

// runViewers counts an edge's current audience from its access log: HLS
// viewers never appear in rtmp_stat, but every one of them refetches the
// playlist each fragment.
func runViewers(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("viewers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: livecdn viewers [--log FILE] [--window DURATION] [--json]")
		fmt.Fprintln(stderr, "\nCounts the viewers an edge served recently, from its access log (run it on the edge).")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	logPath := fs.String("log", path.Join(nginx.ProductionLayout().LogDir, nginx.AccessLogFile), "the edge's access log")
	window := fs.Duration("window", nginx.ViewerWindow, "count viewers active within this window (what the edge-status script and `livecdn status` use)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *window <= 0 {
		return errors.New("--window: must be positive, e.g. 1m")
	}
	f, err := os.Open(*logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	count, err := nginx.CountViewers(f, time.Now().Add(-*window))
	if err != nil {
		return fmt.Errorf("%s: %w", *logPath, err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(count)
	}
	fmt.Fprintf(stdout, "%d viewers in the last %v (%d playlist requests)\n", count.Viewers, *window, count.Requests)
	if count.Malformed > 0 {
		fmt.Fprintf(stdout, "%d lines were not in the livecdn_viewers format\n", count.Malformed)
	}
	return nil
}
