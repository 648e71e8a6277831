package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/livecdn/livecdn/lab"
)

// defaultHLSJS is where `make hlsjs` puts hls.js for the lab's player page.
const defaultHLSJS = ".cache/hlsjs/hls.min.js"

func runLab(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts := lab.DefaultOptions()
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: livecdn lab [flags]")
		fmt.Fprintln(stderr, "\nRuns an origin and edges on loopback with real nginx-rtmp, prints one line of JSON")
		fmt.Fprintln(stderr, "on stdout once every edge serves HLS, and runs until interrupted.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	fs.IntVar(&opts.Edges, "edges", opts.Edges, "number of edges (1-50)")
	renditions := fs.String("renditions", "off", "ABR ladder on the origin: on or off")
	source := fs.String("source", string(opts.Source), "what publishes: testsrc (ffmpeg test pattern with tone) or none")
	fs.StringVar(&opts.StreamKey, "stream-key", "", "publish key (default: random)")
	fs.StringVar(&opts.SourceSize, "source-size", opts.SourceSize, "test pattern frame size")
	fs.StringVar(&opts.HLSJS, "hlsjs", defaultHLSJS, "local hls.min.js for the player page (see `make hlsjs`)")
	fs.BoolVar(&opts.TLS, "tls", false, "serve HTTPS (HTTP redirects) and take RTMPS, with a throwaway CA")
	fs.BoolVar(&opts.Record, "record", false, "record in chunks and upload them to an in-process S3 bucket (see \"recordings\" in the JSON)")
	fs.DurationVar(&opts.RecordChunk, "record-chunk", lab.DefaultRecordChunk, "chunk length with --record, whole seconds from 5s to 1h")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch *renditions {
	case "on":
		opts.Renditions = true
	case "off":
	default:
		return fmt.Errorf("--renditions: %q: use on or off", *renditions)
	}
	opts.Source = lab.Source(*source)
	if opts.RecordChunk != lab.DefaultRecordChunk && !opts.Record {
		return fmt.Errorf("--record-chunk %s: chunks are cut only with --record; add it", opts.RecordChunk)
	}
	if err := lab.CheckRecordChunk(opts.RecordChunk); err != nil {
		return fmt.Errorf("--record-chunk %w", err)
	}
	if _, err := os.Stat(opts.HLSJS); err != nil {
		fmt.Fprintf(stderr, "lab: no hls.js at %s (run `make hlsjs`): the player page will only play in browsers with native HLS\n", opts.HLSJS)
		opts.HLSJS = ""
	}
	opts.Log = stderr

	l, err := lab.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer l.Close()

	line, err := json.Marshal(l.Info())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", line)
	info := l.Info()
	fmt.Fprintf(stderr, "lab: ready in %s\n", l.Dir())
	fmt.Fprintf(stderr, "lab: publish to %s/%s?key=%s\n", info.Ingest, info.Stream, info.StreamKey)
	if info.IngestRTMPS != "" {
		fmt.Fprintf(stderr, "lab: or over RTMPS to %s/%s?key=%s\n", info.IngestRTMPS, info.Stream, info.StreamKey)
	}
	if info.CA != "" {
		fmt.Fprintf(stderr, "lab: certificates are signed by %s (curl --cacert %s ...)\n", info.CA, info.CA)
	}
	if r := info.Recordings; r != nil {
		fmt.Fprintf(stderr, "lab: recording in %s chunks to %s/%s/%s/ (uploader status %s; list with `livecdn recordings --endpoint %s --bucket %s --prefix %s --list` and the key from the JSON as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)\n",
			opts.RecordChunk, r.Endpoint, r.Bucket, r.Prefix, r.Status, r.Endpoint, r.Bucket, r.Prefix)
	}
	for _, e := range info.Edges {
		fmt.Fprintf(stderr, "lab: %s: open %s in a browser (HLS %s)\n", e.Name, e.Player, e.HLS)
	}
	fmt.Fprintln(stderr, "lab: press Ctrl-C to stop")
	<-ctx.Done()
	fmt.Fprintln(stderr, "lab: stopping")
	return l.Close()
}
