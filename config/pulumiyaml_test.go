package config

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// projectFile is the part of Pulumi.yaml this package must agree with.
type projectFile struct {
	Name    string                    `yaml:"name"`
	Runtime string                    `yaml:"runtime"`
	Config  map[string]map[string]any `yaml:"config"`
}

func readProject(t *testing.T) projectFile {
	t.Helper()
	data, err := os.ReadFile("../Pulumi.yaml")
	require.NoError(t, err)
	var p projectFile
	require.NoError(t, yaml.Unmarshal(data, &p))
	return p
}

// TestPulumiYAMLDeclaresEveryKey keeps Pulumi.yaml's schema and this package in step: the same keys, the
// same types, secret where it can be.
func TestPulumiYAMLDeclaresEveryKey(t *testing.T) {
	p := readProject(t)
	require.Equal(t, Namespace, p.Name, "the project name is the config namespace")
	require.Equal(t, "go", p.Runtime)

	var declared []string
	for name, decl := range p.Config {
		require.NotContains(t, name, ":", "project keys are written without the namespace")
		declared = append(declared, Namespace+":"+name)
		require.NotEmpty(t, decl["description"], name)
		typ, _ := decl["type"].(string)
		require.Contains(t, []string{"string", "boolean", "object", "array"}, typ, name)
		if typ == "array" {
			require.NotNil(t, decl["items"], "%s: Pulumi requires items for arrays", name)
		}
	}
	slices.Sort(declared)
	require.Equal(t, Keys(), declared)

	// Pulumi rejects a secret key whose value came from a default, so only the required secret is marked.
	require.Equal(t, true, p.Config["streamKey"]["secret"])
	require.NotContains(t, p.Config["originSshPrivateKey"], "secret")
	require.NotContains(t, p.Config["alertsSlackWebhook"], "secret")

	// The declared type matches what the valid stack hands over for each key.
	st := validStack()
	for _, key := range Keys() {
		raw, ok := st.values[key]
		if !ok {
			continue
		}
		var v any
		typ := p.Config[strings.TrimPrefix(key, Namespace+":")]["type"]
		switch {
		case json.Unmarshal([]byte(raw), &v) == nil && isObject(v):
			require.Equal(t, "object", typ, key)
		case json.Unmarshal([]byte(raw), &v) == nil && isList(v):
			require.Equal(t, "array", typ, key)
		case raw == "true" || raw == "false":
			require.Equal(t, "boolean", typ, key)
		default:
			require.Equal(t, "string", typ, key)
		}
	}
}

// TestPulumiYAMLDefaultsMatch checks that a key left out (this package's defaults) and the same key set to
// Pulumi.yaml's default (what Pulumi hands the program) load the same Settings, and that a key without a
// default in Pulumi.yaml, which Pulumi therefore requires, is one this package requires too.
func TestPulumiYAMLDefaultsMatch(t *testing.T) {
	p := readProject(t)
	base := func() stack {
		st := validStack()
		// Counts on every edge, so that leaving out the audience is valid.
		st.values[KeyEdges] = `[{"region":"sgp1","size":"c-2","count":1},{"region":"ams3","size":"c-2","count":2}]`
		// DNS off and no domain (plain HTTP, so no certificate), so that leaving out the domain is valid.
		st.values[KeyDNS] = `{"enabled":false}`
		for _, key := range []string{KeyDomain, KeyTLSCertificate, KeyTLSKey} {
			delete(st.values, key)
			delete(st.secret, key)
		}
		return st
	}
	for _, name := range sortedKeys(p.Config) {
		key := Namespace + ":" + name
		def, hasDefault := p.Config[name]["default"]
		t.Run(name, func(t *testing.T) {
			without := base()
			delete(without.values, key)
			delete(without.secret, key)
			got, err := without.load()
			if !hasDefault {
				require.ErrorContains(t, err, key, "Pulumi requires %s, so livecdn must too", key)
				return
			}
			require.NoError(t, err)

			with := base()
			raw, err := rawValue(def)
			require.NoError(t, err)
			with.values[key] = raw
			delete(with.secret, key)
			want, err := with.load()
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }
func isList(v any) bool   { _, ok := v.([]any); return ok }
