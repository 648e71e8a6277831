package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/livecdn/livecdn/blueprint"
	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/nginx"
	"github.com/livecdn/livecdn/program"
)

// placeholderStreamKey stands in for the stream key, which a stack file holds encrypted (render runs
// without the stack's passphrase). It is fixed, so two renders differ only where the machines' text
// does, and it passes the renderers' rule for secrets, so everything renders as it would with the real
// key. The origin's reserved IP is blueprint.PlaceholderOriginAddress.
const placeholderStreamKey = "RENDERED-WITHOUT-THE-REAL-STREAM-KEY"

// renderMarker is the first line of the README.txt a render writes: it is how a later render knows
// the directory is one it may replace.
const renderMarker = "livecdn render: the text a stack ships to its machines."

// renderReadme is where the README and its list of files go.
const renderReadme = "README.txt"

// artefact is one file of a render: the exact text one machine gets, or the README.
type artefact struct {
	// path is slash-separated and relative to --out, e.g. "edges/ams3-1/nginx.conf".
	path string
	// what says in a few words what the file is, for the README.
	what    string
	content string
}

// runRender is `livecdn render`: it writes every file a stack's machines would get (nginx.conf and
// cloud-init user data per machine, the origin's bootstrap script when it is the team's own server, the
// player page) into one directory, so `diff -ru` between two branches' renders shows a reviewer exactly
// what text a pull request changes on the live CDN.
func runRender(_ context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("render", flag.ContinueOnError)
	flags.SetOutput(stderr)
	stack := addStackFlags(flags, "render")
	out := flags.String("out", "", "`DIR` to write into: created if missing; a previous render there is replaced (required)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: livecdn render --stack NAME --out DIR [--dir DIR]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Writes what the stack's machines would run (nginx.conf, cloud-init user data, the player")
		fmt.Fprintln(stderr, "page), one file each, with placeholders for the origin's IP and the stream key, and every")
		fmt.Fprintln(stderr, "cloud resource the program declares (cloud/resources.yaml).")
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
	if *out == "" {
		return errors.New("--out is required, e.g. --out rendered")
	}
	files, err := renderStack(name, settings)
	if err != nil {
		return fmt.Errorf("stack %s: %w", name, err)
	}
	cloud, err := renderCloud(name, *stack.dir)
	if err != nil {
		return fmt.Errorf("stack %s: %w", name, err)
	}
	files = withReadme(name, settings, append(files[:len(files):len(files)], cloud))
	if err := writeRender(*out, files); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rendered stack %s into %s: %d files; %s lists them and the placeholders\n",
		name, *out, len(files), filepath.Join(*out, renderReadme))
	return nil
}

// renderStack renders every file the stack ships, as the Pulumi program would (components/ calls the
// same blueprint and nginx functions), with the placeholders standing in for the reserved IP and the
// stream key. The files come sorted by path.
func renderStack(stack string, s *config.Settings) ([]artefact, error) {
	st, err := blueprint.New(s)
	if err != nil {
		return nil, err
	}
	cloud := placeholderCloud(st)
	var files []artefact
	for _, m := range st.Machines() {
		f, err := m.Render(cloud)
		if err != nil {
			return nil, err
		}
		dir, what := "edges/"+m.Name+"/", "edge "+m.Name+" ("+m.Region+", "+m.Size+")"
		switch {
		case m.Role == blueprint.RoleOrigin && m.BYO:
			dir, what = "origin/", "origin at "+m.Address.String()+" (bring-your-own)"
		case m.Role == blueprint.RoleOrigin:
			dir, what = "origin/", "origin droplet ("+m.Region+", "+m.Size+")"
		}
		files = append(files, artefact{path: dir + "nginx.conf", what: what + ": nginx.conf", content: f.NginxConf})
		if f.UserData != "" {
			files = append(files, artefact{path: dir + "user-data.yaml", what: what + ": cloud-init user data", content: f.UserData})
		}
		if f.Bootstrap != "" {
			files = append(files, artefact{path: dir + "bootstrap.sh", what: what + ": the script `pulumi up` runs over ssh", content: f.Bootstrap})
		}
	}
	// Every edge serves the same player page; it is shown once on its own.
	if len(st.Edges) > 0 {
		f, err := st.Edges[0].Render(cloud)
		if err != nil {
			return nil, err
		}
		for _, sf := range f.Site {
			files = append(files, artefact{path: "site/" + sf.Path, what: "player page, on every edge", content: sf.Content})
		}
	}

	return files, nil
}

// placeholderCloud is what a render gives the machines for the values it cannot know: the
// placeholders below, and a bring-your-own origin's own address.
func placeholderCloud(st *blueprint.Stack) blueprint.Cloud {
	c := blueprint.Cloud{OriginAddress: blueprint.PlaceholderOriginAddress, StreamKey: placeholderStreamKey}
	if st.Settings.HTTPS() {
		c.Certificate, c.CertificateKey = placeholderCertificate, placeholderCertificateKey
	}
	if st.Origin.BYO {
		c.OriginAddress = st.Origin.Address
	}
	if st.Origin.Recordings != nil {
		c.SpacesAccessKey, c.SpacesSecretKey = blueprint.PlaceholderSpacesAccessKey, blueprint.PlaceholderSpacesSecretKey
	}
	return c
}

// withReadme adds the README that explains a render and lists its files, and sorts them by path.
func withReadme(stack string, s *config.Settings, files []artefact) []artefact {
	files = append(files, artefact{path: renderReadme, what: "this file"})
	slices.SortFunc(files, func(a, b artefact) int { return strings.Compare(a.path, b.path) })
	readme := slices.IndexFunc(files, func(a artefact) bool { return a.path == renderReadme })
	files[readme].content = renderReadmeText(stack, s, files)
	return files
}

// placeholderCertificate and placeholderCertificateKey stand in for the stack's certificate, which the
// stack file holds encrypted: a self-signed pair for rendered-without-the-real-certificate.invalid,
// committed in placeholder/ so that renders are reproducible. It covers none of a stack's names, so the
// program warns about it in the render, as a preview would.
var (
	//go:embed placeholder/cert.pem
	placeholderCertificate string
	//go:embed placeholder/key.pem
	placeholderCertificateKey string
)

// placeholderSSHKey stands in for a bring-your-own origin's ssh private key, which the stack file holds
// encrypted; it is shaped like one so the program accepts it.
const placeholderSSHKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nRENDERED-WITHOUT-THE-REAL-SSH-KEY\n-----END OPENSSH PRIVATE KEY-----\n"

// renderCloud runs the Pulumi program under mocks, as `pulumi preview` would, and lists every cloud
// resource it declares with its inputs (secrets as [secret]): the firewalls, DNS records and load balancer
// a change would send to DigitalOcean and Cloudflare, for review next to the machines' files.
func renderCloud(stack, dir string) (artefact, error) {
	_, file, err := stackFile(dir, stack)
	if err != nil {
		return artefact{}, err
	}
	values, secretKeys, err := config.ReadStackFile(file)
	if err != nil {
		return artefact{}, err
	}
	fill := func(key, value string) {
		if _, ok := values[key]; !ok {
			values[key] = value
			secretKeys = append(secretKeys, key)
		}
	}
	fill(config.KeyStreamKey, placeholderStreamKey)
	if values[config.KeyDomain] != "" {
		fill(config.KeyTLSCertificate, placeholderCertificate)
		fill(config.KeyTLSKey, placeholderCertificateKey)
	}
	if strings.Contains(values[config.KeyOrigin], `"byo"`) {
		fill(config.KeyOriginSSHPrivateKey, placeholderSSHKey)
	}
	declared, err := program.Declared(stack, values, secretKeys)
	if err != nil {
		return artefact{}, fmt.Errorf("declare the cloud resources: %w", err)
	}
	var b strings.Builder
	b.WriteString("# Every cloud resource `pulumi up` would declare for this stack, with its inputs. IDs and\n")
	b.WriteString("# addresses the clouds assign are stand-ins; secrets show as [secret].\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(declared); err != nil {
		return artefact{}, fmt.Errorf("cloud resources: %w", err)
	}
	if err := enc.Close(); err != nil {
		return artefact{}, fmt.Errorf("cloud resources: %w", err)
	}
	return artefact{path: "cloud/resources.yaml", what: "every cloud resource and its inputs", content: b.String()}, nil
}

// renderReadmeText explains a render: what it is, its placeholders, and its files. The list of files
// is also what a later render deletes, so it must name every file written, README.txt included.
func renderReadmeText(stack string, s *config.Settings, files []artefact) string {
	var b strings.Builder
	b.WriteString(renderMarker + "\n\n")
	fmt.Fprintf(&b, "Rendered by `livecdn render --stack %s` from Pulumi.%s.yaml. Each file is the text\n", stack, stack)
	b.WriteString("`pulumi up` would put on a machine, except for these placeholders, which stand for\n")
	b.WriteString("values a stack file does not hold:\n\n")
	if byo := s.Origin.BYO; byo != nil {
		fmt.Fprintf(&b, "- none for the origin's address: it is the bring-your-own origin's %s from the stack\n", byo.Address)
		b.WriteString("  file, and the edges pull from it.\n")
	} else {
		fmt.Fprintf(&b, "- %s stands for the origin's reserved IP, which DigitalOcean assigns at the\n", blueprint.PlaceholderOriginAddress)
		b.WriteString("  first `pulumi up` (a documentation address, RFC 5737). The edges pull from it.\n")
	}
	fmt.Fprintf(&b, "- %s stands for the stream key, which the stack file\n", placeholderStreamKey)
	b.WriteString("  holds encrypted. The relay token the edges present to the origin derives from it,\n")
	fmt.Fprintf(&b, "  so %s, wherever it appears, is a placeholder too.\n", nginx.RelayToken(placeholderStreamKey))
	if s.HTTPS() {
		b.WriteString("- The certificate and key under /etc/livecdn/tls stand for the stack's certificate, which\n")
		b.WriteString("  the stack file holds encrypted (`livecdn cert` stores it): a self-signed pair for\n")
		b.WriteString("  rendered-without-the-real-certificate.invalid, committed with livecdn.\n")
	}
	if s.Recordings != nil {
		fmt.Fprintf(&b, "- %s and %s in the origin's rclone.conf stand for\n",
			blueprint.PlaceholderSpacesAccessKey, blueprint.PlaceholderSpacesSecretKey)
		fmt.Fprintf(&b, "  the Spaces key `pulumi up` creates, limited to the bucket %s.\n", s.Recordings.Bucket)
	}
	b.WriteString("\n")
	b.WriteString("Compare two renders with `diff -ru OLD NEW` to see what changes on the machines. A changed\n")
	b.WriteString("user-data.yaml replaces that droplet at the next `pulumi up`; a changed bootstrap.sh runs\n")
	b.WriteString("again on the bring-your-own origin, which restarts its nginx if a file differs.\n\n")
	b.WriteString("Files (a later render into this directory deletes exactly these first):\n")
	// A fixed column, so adding a longer edge name does not show every line as changed.
	for _, f := range files {
		fmt.Fprintf(&b, "  %-30s %s\n", f.path, f.what)
	}
	return b.String()
}

// writeRender writes files into out, which must be missing, empty or a previous render. A previous
// render's files are deleted first, so an edge that is gone leaves no stale directory behind; a file
// the render did not write is never deleted: its presence is an error.
func writeRender(out string, files []artefact) error {
	info, err := os.Stat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(out, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	case err != nil:
		return fmt.Errorf("--out: %w", err)
	case !info.IsDir():
		return fmt.Errorf("--out %s is not a directory", out)
	default:
		if err := removePreviousRender(out); err != nil {
			return err
		}
	}
	for _, f := range files {
		dst := filepath.Join(out, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
		if err := os.WriteFile(dst, []byte(f.content), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
	}
	return nil
}

// removePreviousRender empties out if it holds only what an earlier render wrote (the files its
// README.txt lists, and their directories), and refuses before deleting anything otherwise.
func removePreviousRender(out string) error {
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	listed, err := renderedFiles(filepath.Join(out, renderReadme))
	if err != nil {
		return fmt.Errorf("--out %s is not empty and not a previous render (%v); choose a new or empty directory", out, err)
	}
	dirs := map[string]bool{}
	for file := range listed {
		for d := path.Dir(file); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var remove, prune []string
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(out, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
		case d.IsDir() && dirs[rel]:
			prune = append(prune, p)
		case d.Type().IsRegular() && listed[rel]:
			remove = append(remove, p)
		default:
			return fmt.Errorf("--out %s holds %s, which livecdn render did not write; move it away or choose another directory", out, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range remove {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("remove the previous render: %w", err)
		}
	}
	// Deepest first, so each directory is empty by the time it is removed.
	slices.Reverse(prune)
	for _, p := range prune {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("remove the previous render: %w", err)
		}
	}
	return nil
}

// renderedFiles reads the list of files from a render's README.txt.
func renderedFiles(readme string) (map[string]bool, error) {
	data, err := os.ReadFile(readme)
	if err != nil {
		return nil, fmt.Errorf("no %s from livecdn render", renderReadme)
	}
	lines := strings.Split(string(data), "\n")
	if lines[0] != renderMarker {
		return nil, fmt.Errorf("%s was not written by livecdn render", renderReadme)
	}
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "Files") && strings.HasSuffix(l, ":") })
	if start < 0 {
		return nil, fmt.Errorf("%s lists no files", renderReadme)
	}
	files := map[string]bool{}
	for _, line := range lines[start+1:] {
		fields := strings.Fields(line)
		if !strings.HasPrefix(line, "  ") || len(fields) == 0 {
			break
		}
		files[fields[0]] = true
	}
	if !files[renderReadme] {
		return nil, fmt.Errorf("%s does not list itself", renderReadme)
	}
	return files, nil
}
