package blueprint

import (
	"bytes"
	"embed"
	"fmt"
	"net/netip"
	"text/template"
)

// RecordingsGuardLimit bounds how long deleting the origin waits for its
// last chunks to reach the bucket: a stopped encoder's chunk closes within
// seconds and a ten-minute chunk uploads in a minute or two; beyond this
// something is wrong and the operator is told what.
const RecordingsGuardLimit = 10 * 60 // seconds

//go:embed templates/recordings-guard.sh.tmpl
var guardFS embed.FS

var guardTemplate = template.Must(template.New("recordings-guard.sh.tmpl").Option("missingkey=error").
	ParseFS(guardFS, "templates/recordings-guard.sh.tmpl"))

type guardView struct {
	Name, Address, StatusURL, Bucket, Prefix string
	LimitSeconds                             int
}

// RecordingsGuard renders the script that runs before the origin at address
// is deleted (`pulumi destroy`, or a replacement deleting the old droplet):
// it asks the origin's uploader (RecordingsStatusURL, admins only) and exits
// 0 once no chunk exists only on the origin, or non-zero after
// RecordingsGuardLimit seconds saying what is left and what to do. It needs
// sh and curl, and the machine running Pulumi in livecdn:adminCidrs.
func (m Machine) RecordingsGuard(address netip.Addr) (string, error) {
	if m.Role != RoleOrigin || m.Recordings == nil || !address.IsValid() {
		return "", fmt.Errorf("%s %s: recordings guard: an origin with recordings and its address are required", m.Role, m.Name)
	}
	var b bytes.Buffer
	err := guardTemplate.Execute(&b, guardView{
		Name: m.Name, Address: address.String(), StatusURL: RecordingsStatusURL(HostOf(address)),
		Bucket: m.Recordings.Bucket, Prefix: m.Recordings.Prefix, LimitSeconds: RecordingsGuardLimit,
	})
	if err != nil {
		return "", fmt.Errorf("%s %s: recordings guard: %w", m.Role, m.Name, err)
	}
	return b.String(), nil
}
