package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/livecdn/livecdn/nginx"
)

// What an edge runs beside nginx for `livecdn status`, as on a droplet: the
// rendered edge-status script (with Debian's python3) and Debian's
// prometheus-nginx-exporter. prometheus-node-exporter is not run: it reports
// the whole host, which every lab edge shares, so its CPU and egress would
// be the lab's, not an edge's; status shows them as unknown for the lab.

// python3Path is Debian's python3, which cloud-init depends on: what the
// droplets run the script with.
const python3Path = "/usr/bin/python3"

// nginxExporterPath is Debian's prometheus-nginx-exporter.
const nginxExporterPath = "/usr/bin/prometheus-nginx-exporter"

// startEdgeStatus starts the edge's status script and, when Debian's
// exporter is installed, its nginx exporter on exporterListen. It returns
// the exporter's metrics URL, or "" without one.
func (l *Lab) startEdgeStatus(n *node, spec nginx.EdgeSpec, httpBase, exporterListen string) (string, error) {
	if _, err := os.Stat(python3Path); err != nil {
		return "", fmt.Errorf("%s: the edge-status script needs %s: install with `sudo apt-get install python3`", spec.Name, python3Path)
	}
	script := filepath.Join(n.layout.LibDir, nginx.EdgeStatusScriptName)
	if err := os.WriteFile(script, []byte(nginx.EdgeStatusScript()), 0o755); err != nil {
		return "", fmt.Errorf("%s: %w", spec.Name, err)
	}
	args := append([]string{script}, nginx.EdgeStatusArgs(spec)...)
	if err := l.runHelper(n, "status", python3Path, args...); err != nil {
		return "", err
	}
	if _, err := os.Stat(nginxExporterPath); err != nil {
		fmt.Fprintf(l.opts.Log, "lab: %s: no %s (make deps installs prometheus-nginx-exporter): status shows no connections\n", spec.Name, nginxExporterPath)
		return "", nil
	}
	err := l.runHelper(n, "nginx-exporter", nginxExporterPath,
		nginx.NginxExporterArgs(httpBase+"/stub_status", exporterListen)...)
	if err != nil {
		return "", err
	}
	return "http://" + exporterListen + "/metrics", nil
}

// runHelper supervises one more program of node n, logging to LogDir/what.log.
func (l *Lab) runHelper(n *node, what, bin string, args ...string) error {
	out, err := logFile(filepath.Join(n.layout.LogDir, what+".log"))
	if err != nil {
		return fmt.Errorf("%s: %w", n.name, err)
	}
	l.logs = append(l.logs, out)
	p := newProcess(n.name+" "+what, l.opts.Log, func() *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = out, out
		return cmd
	})
	p.start()
	n.helpers = append(n.helpers, p)
	return nil
}
