package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
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
	chain := flags.String("chain", "", "PEM certificate chain `FILE` the machines serve on a stack with a domain (default: one for DOMAIN and *.DOMAIN from a CA made for this rehearsal)")
	key := flags.String("key", "", "PEM private key `FILE` of --chain")
	ca := flags.String("ca", "", "PEM `FILE` of the CA that signed --chain, when no public CA did, for the ready checks")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: livecdn rehearse --stack NAME [--stream-key K] [--max-edges-per-region N] [--chain FILE --key FILE [--ca FILE]]")
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
	if (*chain == "") != (*key == "") || (*ca != "" && *chain == "") {
		return errors.New("--chain and --key go together (and --ca only with them): give the certificate's chain and key files, or neither for a certificate from a throwaway CA")
	}
	for _, f := range []struct {
		flag, path string
		to         *string
	}{{"chain", *chain, &opts.Certificate}, {"key", *key, &opts.CertificateKey}, {"ca", *ca, &opts.TrustedCA}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("--%s %s: %w", f.flag, f.path, err)
		}
		*f.to = string(b)
	}

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
	if info.IngestRTMPS != "" {
		fmt.Fprintf(stderr, "rehearse: or over RTMPS with  ip netns exec %s ffmpeg ... -f flv '%s/%s?key=%s'\n", info.Netns, info.IngestRTMPS, info.Stream, info.StreamKey)
	}
	if info.CAFile != "" {
		fmt.Fprintf(stderr, "rehearse: the machines' certificate chains to %s (curl --cacert)\n", info.CAFile)
	}
	if rec := info.Recordings; rec != nil {
		fmt.Fprintf(stderr, "rehearse: the origin uploads its recording to %s, bucket %s, under %s/ (a stand-in for Spaces inside the namespace; key in the JSON line); its uploader's status: %s\n",
			rec.Endpoint, rec.Bucket, rec.Prefix, rec.Status)
	}
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
