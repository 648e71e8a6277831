package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/livecdn/livecdn/rehearsal"
)

// runRehearse is `livecdn rehearse`: it boots a stack's origin and edges as local VMs from the exact
// user data `pulumi up` would give them, behind the firewall rules and DNS names the program
// declares, inside a private network namespace; prints one line of JSON once every machine has
// finished cloud-init; and runs until interrupted.
func runRehearse(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("rehearse", flag.ContinueOnError)
	flags.SetOutput(stderr)
	stack := addStackFlags(flags, "rehearse")
	cache := flags.String("cache", ".cache", "`DIR` for the VM image and apt repository, built once per change of their inputs")
	logs := flags.String("logs", "", "`DIR` to keep the VMs' consoles and the services' logs in after exit (default: removed)")
	opts := rehearsal.Options{}
	flags.StringVar(&opts.StreamKey, "stream-key", "", "publish key the machines are rendered with (default: random)")
	flags.IntVar(&opts.MaxEdgesPerRegion, "max-edges-per-region", 0, "boot only the first `N` edges of each region (0: all)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: livecdn rehearse --stack NAME [--stream-key K] [--max-edges-per-region N]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Boots the stack's machines as QEMU VMs in a private network namespace, prints one line of")
		fmt.Fprintln(stderr, "JSON once cloud-init has finished on every one, and runs until interrupted. Needs root.")
		fmt.Fprintln(stderr)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return err
	}
	name, settings, err := stack.load(flags)
	if err != nil {
		return err
	}
	cacheDir, err := filepath.Abs(*cache)
	if err != nil {
		return err
	}
	opts.Stack, opts.Settings, opts.CacheDir, opts.LogDir, opts.Log = name, settings, cacheDir, *logs, stderr

	r, err := rehearsal.Start(ctx, opts)
	if err != nil {
		return err
	}
	line, err := json.Marshal(r.Info())
	if err != nil {
		return errors.Join(err, r.Close())
	}
	fmt.Fprintf(stdout, "%s\n", line)
	info := r.Info()
	fmt.Fprintf(stderr, "rehearse: publish with  ip netns exec %s ffmpeg ... -f flv '%s/%s?key=%s'\n", info.Netns, info.Ingest, info.Stream, info.StreamKey)
	for _, m := range info.Machines {
		if m.Player != "" {
			fmt.Fprintf(stderr, "rehearse: %s plays at %s (inside the namespace)\n", m.Name, m.Player)
		}
	}
	fmt.Fprintf(stderr, "rehearse: log in as the operator with  ip netns exec %s ssh -b %s -i %s root@ADDRESS\n", info.Netns, info.AdminAddress, r.SSHKey())
	fmt.Fprintln(stderr, "rehearse: Ctrl-C stops every VM and removes the namespace")
	<-ctx.Done()
	return r.Close()
}
