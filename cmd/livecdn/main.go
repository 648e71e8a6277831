// Command livecdn is the operators' tool for the livecdn CDN: it runs the whole
// CDN locally (lab), plans capacity and cost for an event stack (plan),
// renders what a stack would ship to its machines (render), orders or
// stores the certificate of a stack with a domain (cert), and shows a running
// CDN's state (status).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: it parses its own flags from args and writes its
// result to stdout; diagnostics go to stderr.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand; each lives in its own file.
var commands = map[string]command{
	"cert":       {summary: "order or store the certificate of a stack with a domain, encrypted in the stack", run: runCert},
	"lab":        {summary: "run origin and edges locally on real nginx-rtmp", run: runLab},
	"plan":       {summary: "plan edges, egress and cost for a stack from its stack file", run: runPlan},
	"recordings": {summary: "list an event's recording chunks and download them as one MP4", run: runRecordings},
	"render":     {summary: "write every file a stack ships to its machines, for review", run: runRender},
	"rehearse":   {summary: "boot a stack's machines as local VMs from their exact user data", run: runRehearse},
	"status":     {summary: "show edges, origin and totals against the plan, live (--watch) or as JSON", run: runStatus},
	"viewers":    {summary: "count an edge's viewers from its access log", run: runViewers},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "livecdn: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "livecdn %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: livecdn <command> [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'livecdn <command> -h' for a command's flags.")
}
