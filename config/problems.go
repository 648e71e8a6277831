package config

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a stack's configuration. Load, LoadStackFile, Validate and
// ReadyToDeploy join every Problem they find (errors.Join) so a user fixes them all in one pass.
type Problem struct {
	// Path is the key path, e.g. `livecdn:edges[1].size`, exactly as `pulumi config set --path` takes it.
	Path string
	// Message says what is wrong, quoting the bad value, and how to fix it.
	Message string
}

// Error formats the problem as "path: message".
func (p *Problem) Error() string { return p.Path + ": " + p.Message }

// problems collects Problems in the order they are found; that order is deterministic because keys and
// fields are always visited in a fixed order.
type problems struct{ list []error }

// addf records a problem at path. fix, when not empty, is appended after a semicolon: a command or an
// instruction that resolves it.
func (p *problems) addf(path, fix, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if fix != "" {
		msg += "; " + fix
	}
	p.list = append(p.list, &Problem{Path: path, Message: msg})
}

func (p *problems) err() error { return errors.Join(p.list...) }

// has reports whether a problem was recorded at path already.
func (p *problems) has(path string) bool {
	return slices.ContainsFunc(p.list, func(err error) bool { return err.(*Problem).Path == path })
}

// keyOrder is the order a person reads a stack file in: what the event is, what it streams, where it
// runs, who may reach it, how viewers find it.
var keyOrder = []string{
	KeyEvent, KeyStream, KeyStreamKey, KeyOrigin, KeyOriginSSHPrivateKey, KeyEdges, KeyAudience,
	KeyIngestCIDRs, KeyAdminCIDRs, KeyAcceptBroadCIDRs, KeySSHKeys, KeyDomain, KeyDNS, KeyTLSCertificate,
	KeyTLSKey, KeyACMEAccount, KeyCORSOrigins,
	KeyAlerts, KeyAlertsSlackWebhook,
}

// sortByKey orders problems by the key they concern, unknown keys first, keeping the order found within
// a key, so problems from decoding and from validation interleave the way the stack file reads.
func (p *problems) sortByKey() {
	rank := func(err error) (key, index int) {
		path := err.(*Problem).Path
		name, _, _ := strings.Cut(path, ".")
		name, _, _ = strings.Cut(name, "[")
		index = -1
		if m := firstIndex.FindStringSubmatch(path); m != nil {
			index, _ = strconv.Atoi(m[1])
		}
		return slices.Index(keyOrder, name), index // -1 for unknown keys: first
	}
	slices.SortStableFunc(p.list, func(a, b error) int {
		ka, ia := rank(a)
		kb, ib := rank(b)
		return cmp.Or(cmp.Compare(ka, kb), cmp.Compare(ia, ib))
	})
}

// setCmd renders the command that sets path to value, quoting the path because brackets are shell globs.
func setCmd(path, value string) string {
	return fmt.Sprintf("pulumi config set --path '%s' %s", path, shellWord(value))
}

// shellWord quotes value for a POSIX shell when it needs it. A placeholder such as <key> stays bare: it
// is for the reader to replace, not to paste.
func shellWord(value string) string {
	if placeholder.MatchString(value) || shellSafe.MatchString(value) {
		return value
	}
	return "'" + strings.ReplaceAll(value, "'", `'\''`) + "'"
}

var (
	firstIndex  = regexp.MustCompile(`\[(\d+)\]`)
	placeholder = regexp.MustCompile(`^<[a-z][a-z-]*>$`)
	shellSafe   = regexp.MustCompile(`^[A-Za-z0-9_.:/@,+=-]+$`)
)

// closest returns the candidate nearest to s by edit distance, if it is near enough to be a typo.
func closest(s string, candidates []string) (string, bool) {
	best, bestDist := "", len(s)+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || bestDist > 3 || bestDist >= len(s) {
		return "", false
	}
	return best, true
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
