package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/internal/throwaway"
)

const testStreamKey = "k3y-0123456789_abcdef"

// otherLeaf is another certificate, whose key does not match testLeaf's.
var otherLeaf = func() throwaway.Leaf {
	ca, err := throwaway.NewCA("livecdn config test")
	if err != nil {
		panic(err)
	}
	leaf, err := ca.Issue([]string{"live.animecon.tv"}, time.Now().AddDate(0, 3, 0))
	if err != nil {
		panic(err)
	}
	return leaf
}()

// testLeaf is a certificate for the valid stack's domain from a throwaway CA.
var testLeaf = func() throwaway.Leaf {
	ca, err := throwaway.NewCA("livecdn config test")
	if err != nil {
		panic(err)
	}
	leaf, err := ca.Issue([]string{"live.animecon.tv", "*.live.animecon.tv"}, time.Now().AddDate(0, 3, 0))
	if err != nil {
		panic(err)
	}
	return leaf
}()

// stack is a program-mode configuration: raw values as Pulumi hands them over, plus the secret keys.
type stack struct {
	values map[string]string
	secret map[string]bool
}

// validStack is a complete, deployable configuration that every invalid case changes in one place.
func validStack() stack {
	return stack{
		values: map[string]string{
			KeyEvent: `{"name":"AnimeCon 2026","end":"2026-12-13"}`,
			KeyStream: `{"name":"animecon","renditions":[` +
				`{"name":"1080p","width":1920,"height":1080,"videoKbps":5000},` +
				`{"name":"720p","width":1280,"height":720,"videoKbps":2800}]}`,
			KeyStreamKey:   testStreamKey,
			KeyOrigin:      `{"region":"ams3","size":"c-4"}`,
			KeyEdges:       `[{"region":"sgp1","size":"s-4vcpu-8gb-amd"},{"region":"ams3","size":"s-4vcpu-8gb-amd","count":2}]`,
			KeyAudience:    `{"viewers":2000,"shares":{"ams3":0.6,"sgp1":0.4}}`,
			KeyIngestCIDRs: `["100.64.10.0/28"]`,
			KeyAdminCIDRs:  `["fd00:1234::/48","100.64.20.7/32"]`,
			// Pulumi hands a boolean key over as its text.
			KeyAcceptBroadCIDRs: "false",
			KeySSHKeys:          `["3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa","12345678"]`,
			KeyDomain:           "live.animecon.tv",
			KeyDNS:              `{"enabled":true,"zoneId":"0123456789abcdef0123456789abcdef"}`,
			KeyTLSCertificate:   testLeaf.Chain,
			KeyTLSKey:           testLeaf.Key,
			// Other namespaces belong to the providers and must be left alone.
			"digitalocean:token": "dop_v1_not_ours",
		},
		secret: map[string]bool{KeyStreamKey: true, KeyTLSCertificate: true, KeyTLSKey: true, "digitalocean:token": true},
	}
}

func (s stack) load() (*Settings, error) {
	var secretKeys []string
	for k, isSecret := range s.secret {
		if isSecret {
			secretKeys = append(secretKeys, k)
		}
	}
	return Load(s.values, secretKeys)
}

// lbDNS is a livecdn:dns value with load balancing on and the given extra fields.
func lbDNS(fields string) string {
	return `{"enabled":true,"zoneId":"0123456789abcdef0123456789abcdef",` +
		`"accountId":"fedcba9876543210fedcba9876543210","loadBalancing":true,` + fields + `}`
}

// set changes one raw value of a stack.
func set(key, raw string) func(stack) { return func(s stack) { s.values[key] = raw } }

func TestLoadValid(t *testing.T) {
	s, err := validStack().load()
	require.NoError(t, err)

	require.Equal(t, "AnimeCon 2026", s.EventName)
	require.Equal(t, Stream{
		Name:            "animecon",
		FragmentSeconds: DefaultFragmentSeconds,
		PlaylistSeconds: DefaultPlaylistSeconds,
		AudioKbps:       DefaultAudioKbps,
		SourceKbps:      DefaultSourceKbps,
		Renditions: []Rendition{
			{Name: "1080p", Width: 1920, Height: 1080, VideoKbps: 5000},
			{Name: "720p", Width: 1280, Height: 720, VideoKbps: 2800},
		},
	}, s.Stream)
	require.Equal(t, testStreamKey, s.StreamKey.Reveal())
	require.False(t, s.StreamKey.Sealed())
	require.False(t, s.OriginSSHPrivateKey.IsSet())
	require.Equal(t, Origin{Region: "ams3", Size: "c-4"}, s.Origin)
	// Sorted by region, whatever the stack file's order; a left-out count is 0 (the planner decides).
	require.Equal(t, []EdgeGroup{
		{Region: "ams3", Size: "s-4vcpu-8gb-amd", Count: 2},
		{Region: "sgp1", Size: "s-4vcpu-8gb-amd"},
	}, s.Edges)
	require.Equal(t, &Audience{Viewers: 2000, Shares: []Share{{"ams3", 0.6}, {"sgp1", 0.4}}}, s.Audience)
	require.InDelta(t, 0.4, s.Audience.ShareOf("sgp1"), 1e-9)
	require.Zero(t, s.Audience.ShareOf("nyc3"))
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("100.64.10.0/28")}, s.IngestCIDRs)
	require.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("100.64.20.7/32"), netip.MustParsePrefix("fd00:1234::/48"),
	}, s.AdminCIDRs)
	require.Equal(t, []string{"12345678", "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa"}, s.SSHKeys)
	require.Equal(t, "live.animecon.tv", s.Domain)
	require.Equal(t, DNS{Enabled: true, ZoneID: "0123456789abcdef0123456789abcdef", TTL: DefaultDNSTTL,
		Plan: DefaultCloudflarePlan, MonitorInterval: DefaultMonitorInterval}, s.DNS)
	require.False(t, s.AcceptBroadCIDRs)
}

func TestLoadValidVariants(t *testing.T) {
	tests := []struct {
		name   string
		change func(s stack)
		check  func(t *testing.T, s *Settings)
	}{
		{
			name: "byo origin with defaults",
			change: func(s stack) {
				s.values[KeyOrigin] = `{"byo":{"address":"45.55.10.20","hostKey":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}}`
				s.values[KeyOriginSSHPrivateKey] = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
				s.secret[KeyOriginSSHPrivateKey] = true
			},
			check: func(t *testing.T, s *Settings) {
				require.Equal(t, Origin{BYO: &BYOOrigin{
					Address: netip.MustParseAddr("45.55.10.20"), User: DefaultBYOUser, Port: DefaultBYOPort,
					HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
				}}, s.Origin)
				require.True(t, s.OriginSSHPrivateKey.IsSet())
			},
		},
		{
			name: "recordings with the default chunk",
			change: func(s stack) {
				s.values[KeyStream] = `{"name":"animecon","record":true}`
				s.values[KeyRecordings] = `{"bucket":"team-recordings","region":"ams3","prefix":"events/animecon-2026"}`
			},
			check: func(t *testing.T, s *Settings) {
				require.Equal(t, &Recordings{Bucket: "team-recordings", Region: "ams3", Prefix: "events/animecon-2026",
					ChunkMinutes: DefaultRecordChunkMinutes}, s.Recordings)
				require.Equal(t, "https://ams3.digitaloceanspaces.com", SpacesEndpoint(s.Recordings.Region))
			},
		},
		{
			name:   "Pulumi.yaml's empty recordings object means none",
			change: func(s stack) { s.values[KeyRecordings] = `{}` },
			check:  func(t *testing.T, s *Settings) { require.Nil(t, s.Recordings) },
		},
		{
			name: "no audience when every edge has a count",
			change: func(s stack) {
				delete(s.values, KeyAudience)
				s.values[KeyEdges] = `[{"region":"ams3","size":"s-1vcpu-1gb","count":1}]`
			},
			check: func(t *testing.T, s *Settings) { require.Nil(t, s.Audience) },
		},
		{
			name: "empty audience is Pulumi.yaml's default and means none",
			change: func(s stack) {
				s.values[KeyAudience] = `{}`
				s.values[KeyEdges] = `[{"region":"ams3","size":"s-1vcpu-1gb","count":1}]`
			},
			check: func(t *testing.T, s *Settings) { require.Nil(t, s.Audience) },
		},
		{
			name: "one edge region needs no shares",
			change: func(s stack) {
				s.values[KeyEdges] = `[{"region":"nyc3","size":"s-1vcpu-1gb"}]`
				s.values[KeyAudience] = `{"viewers":10,"redundancy":true}`
			},
			check: func(t *testing.T, s *Settings) {
				require.Equal(t, &Audience{Viewers: 10, Shares: []Share{{"nyc3", 1}}, Redundancy: true}, s.Audience)
			},
		},
		{
			name: "shares within the tolerance",
			change: func(s stack) {
				s.values[KeyAudience] = `{"viewers":2000,"shares":{"ams3":0.67,"sgp1":0.333}}`
			},
			check: func(t *testing.T, s *Settings) { require.Len(t, s.Audience.Shares, 2) },
		},
		{
			name: "whole numbers written as 2.0 and explicit defaults",
			change: func(s stack) {
				s.values[KeyStream] = `{"name":"main","fragmentSeconds":2.0,"playlistSeconds":8,"record":true}`
			},
			check: func(t *testing.T, s *Settings) {
				require.Equal(t, 2, s.Stream.FragmentSeconds)
				require.Equal(t, 8, s.Stream.PlaylistSeconds)
				require.True(t, s.Stream.Record)
				require.Empty(t, s.Stream.Renditions)
			},
		},
		{
			name: "dns off needs no domain; empty domain is Pulumi.yaml's default",
			change: func(s stack) {
				s.values[KeyDNS] = `{"enabled":false,"loadBalancing":false,"ttl":60}`
				s.values[KeyDomain] = ""
				delete(s.values, KeyTLSCertificate)
				delete(s.values, KeyTLSKey)
			},
			check: func(t *testing.T, s *Settings) {
				require.Empty(t, s.Domain)
				require.Equal(t, DNS{TTL: 60, Plan: PlanPro, MonitorInterval: 60}, s.DNS)
			},
		},
		{
			name: "load balancing with an account",
			change: func(s stack) {
				s.values[KeyDNS] = `{"enabled":true,"zoneId":"0123456789abcdef0123456789abcdef",` +
					`"accountId":"fedcba9876543210fedcba9876543210","loadBalancing":true,"ttl":300}`
			},
			check: func(t *testing.T, s *Settings) {
				require.True(t, s.DNS.LoadBalancing)
				require.Equal(t, 300, s.DNS.TTL)
				require.Equal(t, PlanPro, s.DNS.Plan)
				require.Equal(t, 60, s.DNS.MonitorInterval)
				require.Nil(t, s.DNS.CheckRegions)
				// Each region's pool is probed from the Cloudflare region its edges are in.
				require.Equal(t, []string{"WEU"}, s.DNS.PoolCheckRegions("ams3"))
				require.Equal(t, []string{"SEAS"}, s.DNS.PoolCheckRegions("sgp1"))
			},
		},
		{
			name: "load balancing on business, probed from chosen regions",
			change: func(s stack) {
				s.values[KeyDNS] = `{"enabled":true,"zoneId":"0123456789abcdef0123456789abcdef",` +
					`"accountId":"fedcba9876543210fedcba9876543210","loadBalancing":true,"plan":"business",` +
					`"monitorInterval":15,"checkRegions":["WEU","ENAM"]}`
			},
			check: func(t *testing.T, s *Settings) {
				require.Equal(t, 15, s.DNS.MonitorInterval)
				require.Equal(t, []string{"ENAM", "WEU"}, s.DNS.CheckRegions, "sorted")
				require.Equal(t, []string{"ENAM", "WEU"}, s.DNS.PoolCheckRegions("sgp1"))
			},
		},
		{
			name: "load balancing on enterprise, probed from every data centre",
			change: func(s stack) {
				s.values[KeyDNS] = `{"enabled":true,"zoneId":"0123456789abcdef0123456789abcdef",` +
					`"accountId":"fedcba9876543210fedcba9876543210","loadBalancing":true,"plan":"enterprise",` +
					`"monitorInterval":10,"checkRegions":[]}`
			},
			check: func(t *testing.T, s *Settings) {
				require.NotNil(t, s.DNS.CheckRegions)
				require.Empty(t, s.DNS.PoolCheckRegions("ams3"), "empty: every data centre")
			},
		},
		{
			name: "broad networks accepted explicitly",
			change: func(s stack) {
				s.values[KeyIngestCIDRs] = `["0.0.0.0/1","128.0.0.0/1"]`
				s.values[KeyAcceptBroadCIDRs] = "true"
			},
			check: func(t *testing.T, s *Settings) {
				require.True(t, s.AcceptBroadCIDRs)
				require.Len(t, s.IngestCIDRs, 2)
			},
		},
		{
			name: "networks as broad as the bounds, counted once where they overlap",
			change: func(s stack) {
				// One /8 and a /9 inside it open one /8; one /32 of IPv6 likewise.
				s.values[KeyIngestCIDRs] = `["10.0.0.0/8","10.128.0.0/9","2001:db9::/32","2001:db9:1::/48"]`
				s.values[KeyAcceptBroadCIDRs] = "false"
			},
			check: func(t *testing.T, s *Settings) { require.Len(t, s.IngestCIDRs, 4) },
		},
		{
			name: "a top-level list set as a JSON string",
			change: func(s stack) {
				s.values[KeySSHKeys] = `["987654"]`
			},
			check: func(t *testing.T, s *Settings) { require.Equal(t, []string{"987654"}, s.SSHKeys) },
		},
		{
			name:   "cors origins sorted; the event ends at midnight after its last day",
			change: set(KeyCORSOrigins, `["https://www.animecon.example","http://localhost:8000"]`),
			check: func(t *testing.T, s *Settings) {
				require.Equal(t, []string{"http://localhost:8000", "https://www.animecon.example"}, s.CORSOrigins)
				require.Equal(t, time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC), s.EventEnd)
				require.True(t, s.HTTPS())
				require.Equal(t, testLeaf.Chain, s.TLS.Certificate.Reveal())
			},
		},
		{
			name:   "empty optional ssh key default is unset",
			change: func(s stack) { s.values[KeyOriginSSHPrivateKey] = "" },
			check:  func(t *testing.T, s *Settings) { require.False(t, s.OriginSSHPrivateKey.IsSet()) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := validStack()
			tt.change(st)
			s, err := st.load()
			require.NoError(t, err)
			tt.check(t, s)
		})
	}
}

// TestLoadInvalid changes one thing in a valid stack and checks that the error names the key path and
// the bad value (and, where given, the fix).
func TestLoadInvalid(t *testing.T) {
	del := func(key string) func(stack) { return func(s stack) { delete(s.values, key) } }
	both := func(fs ...func(stack)) func(stack) {
		return func(s stack) {
			for _, f := range fs {
				f(s)
			}
		}
	}
	tests := []struct {
		name   string
		change func(stack)
		want   []string // each must appear in the error
		never  string   // must not appear in the error (a secret)
	}{
		{"unknown key", set("livecdn:edgez", `[]`),
			[]string{"livecdn:edgez: unknown key (did you mean livecdn:edges?)", "pulumi config rm livecdn:edgez"}, ""},
		{"key without namespace", set("stream", `{}`), []string{"stream: config keys need a namespace", "livecdn:stream"}, ""},
		{"namespace in the wrong case", set("LiveCDN:stream", `{}`), []string{"LiveCDN:stream", `unknown namespace "LiveCDN"`}, ""},
		{"stream key in plain text", func(s stack) { s.secret[KeyStreamKey] = false },
			[]string{"livecdn:streamKey: must be set as a secret", "pulumi config set --secret livecdn:streamKey"}, testStreamKey},
		{"domain stored as a secret", func(s stack) { s.secret[KeyDomain] = true },
			[]string{"livecdn:domain: is stored as a secret"}, ""},
		{"misspelled field", set(KeyStream, `{"name":"main","fragmentSecond":2}`),
			[]string{`livecdn:stream: unknown field "fragmentSecond" (did you mean "fragmentSeconds"?)`,
				"valid fields are audioKbps, fragmentSeconds, name, playlistSeconds, record, renditions, sourceKbps"}, ""},
		{"misspelled nested field", set(KeyStream, `{"name":"main","renditions":[{"name":"720p","width":1280,"height":720,"bitrate":2800}]}`),
			[]string{`livecdn:stream.renditions[0]: unknown field "bitrate"`, "livecdn:stream.renditions[0].videoKbps: 0 must be between 100 and 20000"}, ""},
		{"object given as text", set(KeyOrigin, "ams3"), []string{`livecdn:origin: want an object with fields byo, region, size, got "ams3"`}, ""},
		{"list given as text", set(KeyEdges, "ams3"), []string{`livecdn:edges: want a list, got "ams3"`}, ""},
		{"recordings without a recording", set(KeyRecordings, `{"bucket":"team-recordings","region":"ams3","prefix":"animecon"}`),
			[]string{"livecdn:stream.record: is false, but livecdn:recordings names a bucket", "pulumi config set --path 'livecdn:stream.record' true"}, ""},
		{"recordings without bucket, region or prefix", both(
			set(KeyStream, `{"name":"animecon","record":true}`), set(KeyRecordings, `{"chunkMinutes":0}`)),
			[]string{"livecdn:recordings.bucket: required", "livecdn:recordings.region: required", "Spaces regions: ams3, atl1, blr1",
				"livecdn:recordings.prefix: required", "livecdn:recordings.chunkMinutes: 0 must be between 1 and 60",
				"pulumi config set --path 'livecdn:recordings.chunkMinutes' 10"}, ""},
		{"recordings in a region without Spaces", both(
			set(KeyStream, `{"name":"animecon","record":true}`),
			set(KeyRecordings, `{"bucket":"Team_Recordings","region":"nyc1","prefix":"AnimeCon 2026"}`)),
			[]string{`livecdn:recordings.bucket: "Team_Recordings" is not a Spaces bucket name`, `livecdn:recordings.region: "nyc1" has no Spaces`,
				`livecdn:recordings.prefix: "AnimeCon 2026" must be names of a-z`}, ""},
		{"misspelled recordings field", both(
			set(KeyStream, `{"name":"animecon","record":true}`),
			set(KeyRecordings, `{"bucket":"team-recordings","region":"ams3","prefix":"animecon","chunkMinute":5}`)),
			[]string{`livecdn:recordings: unknown field "chunkMinute" (did you mean "chunkMinutes"?)`}, ""},
		{"missing event", del(KeyEvent), []string{"livecdn:event.name: required", "pulumi config set --path 'livecdn:event.name' 'AnimeCon 2026'"}, ""},
		{"event end missing with a domain", set(KeyEvent, `{"name":"AnimeCon 2026"}`),
			[]string{"livecdn:event.end: required with livecdn:domain", "pulumi config set --path 'livecdn:event.end'"}, ""},
		{"event end not a date", set(KeyEvent, `{"name":"AnimeCon 2026","end":"13.12.2026"}`),
			[]string{`livecdn:event.end: "13.12.2026" is not a date`, "YYYY-MM-DD"}, ""},
		{"certificate missing with a domain", both(del(KeyTLSCertificate), del(KeyTLSKey)),
			[]string{"livecdn:tlsCertificate: not set: live.animecon.tv serves viewers and the encoder over HTTPS", "livecdn cert --stack"}, ""},
		{"key missing", del(KeyTLSKey),
			[]string{"livecdn:tlsKey: not set, while the other half of the certificate is", "livecdn cert --stack"}, ""},
		{"certificate and key do not match", set(KeyTLSKey, otherLeaf.Key),
			[]string{"livecdn:tlsCertificate: the certificate and key do not form a pair"}, otherLeaf.Key},
		{"certificate in plain text", func(s stack) { s.secret[KeyTLSKey] = false },
			[]string{"livecdn:tlsKey: must be set as a secret"}, testLeaf.Key},
		{"certificate without a domain", both(set(KeyDomain, ""), set(KeyDNS, `{"enabled":false}`)),
			[]string{"livecdn:tlsCertificate: a certificate needs a name", "pulumi config rm livecdn:tlsCertificate"}, ""},
		{"cors origin with a path", set(KeyCORSOrigins, `["https://www.animecon.example/stream"]`),
			[]string{`livecdn:corsOrigins[0]: "https://www.animecon.example/stream" is not a web origin`}, ""},
		{"cors origin with a trailing slash", set(KeyCORSOrigins, `["https://www.animecon.example/"]`),
			[]string{`livecdn:corsOrigins[0]: "https://www.animecon.example/" has a trailing slash`, "'livecdn:corsOrigins[0]' https://www.animecon.example"}, ""},
		{"cors origin without a scheme", set(KeyCORSOrigins, `["www.animecon.example"]`),
			[]string{`livecdn:corsOrigins[0]: "www.animecon.example" is not a web origin`}, ""},
		{"event name with a newline", set(KeyEvent, `{"name":"Anime\nCon"}`), []string{"livecdn:event.name", `"Anime\nCon" contains control characters`}, ""},
		{"missing stream", del(KeyStream), []string{"livecdn:stream.name: required"}, ""},
		{"stream name with spaces", set(KeyStream, `{"name":"Main Stream"}`),
			[]string{`livecdn:stream.name: "Main Stream" must be`, "pulumi config set --path 'livecdn:stream.name' main-stream"}, ""},
		{"fragment of zero", set(KeyStream, `{"name":"main","fragmentSeconds":0}`),
			[]string{"livecdn:stream.fragmentSeconds: 0 must be between 1 and 10", "pulumi config set --path 'livecdn:stream.fragmentSeconds' 2"}, ""},
		{"fragment as text", set(KeyStream, `{"name":"main","fragmentSeconds":"2s"}`),
			[]string{`livecdn:stream.fragmentSeconds: want a whole number, got "2s"`}, ""},
		{"fragment as a fraction", set(KeyStream, `{"name":"main","fragmentSeconds":1.5}`),
			[]string{"livecdn:stream.fragmentSeconds: want a whole number, got 1.5"}, ""},
		{"playlist shorter than four fragments", set(KeyStream, `{"name":"main","fragmentSeconds":3,"playlistSeconds":6}`),
			[]string{"livecdn:stream.playlistSeconds: 6 must be between 12 (4 fragments of 3 s) and 60 seconds"}, ""},
		{"playlist too long", set(KeyStream, `{"name":"main","playlistSeconds":90}`),
			[]string{"livecdn:stream.playlistSeconds: 90 must be between 8"}, ""},
		{"audio bitrate too low", set(KeyStream, `{"name":"main","audioKbps":16}`),
			[]string{"livecdn:stream.audioKbps: 16 must be between 32 and 320"}, ""},
		{"record as text", set(KeyStream, `{"name":"main","record":"yes"}`),
			[]string{`livecdn:stream.record: want true or false, got "yes"`}, ""},
		{"six renditions", set(KeyStream, `{"name":"main","renditions":[`+
			`{"name":"a","width":1920,"height":1080,"videoKbps":6000},{"name":"b","width":1600,"height":900,"videoKbps":5000},`+
			`{"name":"c","width":1280,"height":720,"videoKbps":4000},{"name":"d","width":960,"height":540,"videoKbps":3000},`+
			`{"name":"e","width":640,"height":360,"videoKbps":2000},{"name":"f","width":426,"height":240,"videoKbps":1000}]}`),
			[]string{"livecdn:stream.renditions: 6 renditions, at most 5"}, ""},
		{"odd width", set(KeyStream, `{"name":"main","renditions":[{"name":"720p","width":1281,"height":720,"videoKbps":2800}]}`),
			[]string{"livecdn:stream.renditions[0].width: 1281 must be even", "'livecdn:stream.renditions[0].width' 1282"}, ""},
		{"height too large", set(KeyStream, `{"name":"main","renditions":[{"name":"8k","width":3840,"height":4320,"videoKbps":20000}]}`),
			[]string{"livecdn:stream.renditions[0].height: 4320 must be between 72 and 2160"}, ""},
		{"ladder in the wrong order", set(KeyStream, `{"name":"main","renditions":[`+
			`{"name":"720p","width":1280,"height":720,"videoKbps":2800},{"name":"1080p","width":1920,"height":1080,"videoKbps":5000}]}`),
			[]string{"livecdn:stream.renditions[1].height: 1080 is not below renditions[0].height 720",
				"livecdn:stream.renditions[1].videoKbps: 5000 is not below renditions[0].videoKbps 2800"}, ""},
		{"duplicate rendition name", set(KeyStream, `{"name":"main","renditions":[`+
			`{"name":"hd","width":1920,"height":1080,"videoKbps":5000},{"name":"hd","width":1280,"height":720,"videoKbps":2800}]}`),
			[]string{`livecdn:stream.renditions[1].name: "hd" is also the name of renditions[0]`}, ""},
		{"rendition name with a space", set(KeyStream, `{"name":"main","renditions":[{"name":"HD 720","width":1280,"height":720,"videoKbps":2800}]}`),
			[]string{`livecdn:stream.renditions[0].name: "HD 720" must be`}, ""},
		{"rendition bitrate too low", set(KeyStream, `{"name":"main","renditions":[{"name":"tiny","width":256,"height":144,"videoKbps":50}]}`),
			[]string{"livecdn:stream.renditions[0].videoKbps: 50 must be between 100 and 20000"}, ""},
		{"stream key too short", set(KeyStreamKey, "abc12"),
			[]string{"livecdn:streamKey: must be 16 to 128 characters", "got 5 characters", "openssl rand -hex 24"}, "abc12"},
		{"stream key with a quote", set(KeyStreamKey, `0123456789abcdef"; deny all`),
			[]string{"livecdn:streamKey: must be 16 to 128 characters"}, "deny all"},
		{"stream key missing", del(KeyStreamKey),
			[]string{"livecdn:streamKey: not set", "pulumi config set --secret livecdn:streamKey"}, ""},
		{"origin droplet and byo", set(KeyOrigin, `{"region":"ams3","size":"c-4","byo":{"address":"45.55.10.20"}}`),
			[]string{"livecdn:origin: sets both region/size", "choose one"}, ""},
		{"unknown origin size", set(KeyOrigin, `{"region":"ams3","size":"s-2vcpu-3gb"}`),
			[]string{`livecdn:origin.size: unknown size "s-2vcpu-3gb"; use one of s-1vcpu-1gb, `,
				"pulumi config set --path 'livecdn:origin.size' s-2vcpu-"}, ""},
		{"unknown origin region", set(KeyOrigin, `{"region":"ams2","size":"c-4"}`),
			[]string{`livecdn:origin.region: unknown region "ams2"; use one of ams3 (Amsterdam)`,
				"pulumi config set --path 'livecdn:origin.region' ams3"}, ""},
		{"origin without a size", set(KeyOrigin, `{"region":"ams3"}`), []string{"livecdn:origin.size: required; use one of"}, ""},
		{"byo private address", set(KeyOrigin, `{"byo":{"address":"10.0.0.5"}}`),
			[]string{"livecdn:origin.byo.address: 10.0.0.5 is not a public address"}, ""},
		{"byo hostname", set(KeyOrigin, `{"byo":{"address":"origin.local"}}`),
			[]string{`livecdn:origin.byo.address: "origin.local" is not an IP address`}, ""},
		{"byo IPv6", set(KeyOrigin, `{"byo":{"address":"2a03:b0c0::1"}}`),
			[]string{"livecdn:origin.byo.address: 2a03:b0c0::1 is not an IPv4 address"}, ""},
		{"byo bad port", set(KeyOrigin, `{"byo":{"address":"45.55.10.20","port":70000}}`),
			[]string{"livecdn:origin.byo.port: 70000 must be between 1 and 65535"}, ""},
		{"byo without its ssh key", set(KeyOrigin, `{"byo":{"address":"45.55.10.20","user":"deploy"}}`),
			[]string{"livecdn:originSshPrivateKey: not set"}, ""},
		{"byo without a host key", set(KeyOrigin, `{"byo":{"address":"45.55.10.20","port":2222}}`),
			[]string{"livecdn:origin.byo.hostKey: required", "ssh-keyscan -p 2222 -t ed25519 45.55.10.20",
				"pulumi config set --path 'livecdn:origin.byo.hostKey'"}, ""},
		{"byo with a fingerprint for a host key", set(KeyOrigin, `{"byo":{"address":"45.55.10.20","hostKey":"SHA256:abc"}}`),
			[]string{`livecdn:origin.byo.hostKey: "SHA256:abc" is not an ssh host key`}, ""},
		{"ssh key without byo", both(set(KeyOriginSSHPrivateKey, "-----BEGIN OPENSSH PRIVATE KEY-----"),
			func(s stack) { s.secret[KeyOriginSSHPrivateKey] = true }),
			[]string{"livecdn:originSshPrivateKey: is only used with livecdn:origin.byo", "pulumi config rm livecdn:originSshPrivateKey"}, ""},
		{"no edges", set(KeyEdges, `[]`), []string{"livecdn:edges: at least one edge group is required"}, ""},
		{"duplicate edge region", set(KeyEdges, `[{"region":"ams3","size":"c-2","count":1},{"region":"ams3","size":"c-2","count":1}]`),
			[]string{`livecdn:edges[1].region: "ams3" is also the region of livecdn:edges[0]`}, ""},
		{"unknown edge size", set(KeyEdges, `[{"region":"sgp1","size":"s-4vcpu-8gb-amd"},{"region":"ams3","size":"s-2vcpu-3gb"}]`),
			[]string{`livecdn:edges[1].size: unknown size "s-2vcpu-3gb"`, "pulumi config set --path 'livecdn:edges[1].size' s-2vcpu-"}, ""},
		{"zero edges in a group", set(KeyEdges, `[{"region":"sgp1","size":"c-2"},{"region":"ams3","size":"c-2","count":0}]`),
			[]string{"livecdn:edges[1].count: must be at least 1, got 0", "pulumi config rm --path 'livecdn:edges[1].count'"}, ""},
		{"too many edges in a region", set(KeyEdges, `[{"region":"sgp1","size":"c-2"},{"region":"ams3","size":"c-2","count":21}]`),
			[]string{"livecdn:edges[1].count: 21 edges, at most 20 per region"}, ""},
		{"too many edges in total", both(del(KeyAudience), set(KeyEdges, `[{"region":"sgp1","size":"c-2","count":20},`+
			`{"region":"ams3","size":"c-2","count":20},{"region":"nyc3","size":"c-2","count":11}]`)),
			[]string{"livecdn:edges: 51 edges in total, at most 50"}, ""},
		{"no audience and no count", del(KeyAudience),
			[]string{"livecdn:edges[0].count: required when there is no livecdn:audience"}, ""},
		{"no viewers", set(KeyAudience, `{"viewers":0,"shares":{"ams3":0.6,"sgp1":0.4}}`),
			[]string{"livecdn:audience.viewers: 0 must be between 1 and 1000000"}, ""},
		{"shares short of one", set(KeyAudience, `{"viewers":2000,"shares":{"ams3":0.5,"sgp1":0.4}}`),
			[]string{"livecdn:audience.shares: fractions add up to 0.9, not 1"}, ""},
		{"share for a region without edges", set(KeyAudience, `{"viewers":2000,"shares":{"ams3":0.5,"sgp1":0.3,"nyc3":0.2}}`),
			[]string{`livecdn:audience.shares.nyc3: "nyc3" has no edge group in livecdn:edges`}, ""},
		{"edge region without a share", set(KeyAudience, `{"viewers":2000,"shares":{"ams3":1}}`),
			[]string{"livecdn:audience.shares.sgp1: missing", "pulumi config set --path 'livecdn:audience.shares.sgp1' 0.25"}, ""},
		{"share above one", set(KeyAudience, `{"viewers":2000,"shares":{"ams3":1.5,"sgp1":-0.5}}`),
			[]string{"livecdn:audience.shares.ams3: 1.5 must be between 0 and 1", "livecdn:audience.shares.sgp1: -0.5 must be"}, ""},
		{"shares left out with two regions", set(KeyAudience, `{"viewers":2000}`),
			[]string{"livecdn:audience.shares: required with more than one edge region"}, ""},
		{"ingest open to the internet", set(KeyIngestCIDRs, `["0.0.0.0/0"]`),
			[]string{"livecdn:ingestCidrs[0]: 0.0.0.0/0 opens the firewall to the whole internet", "venue uplink"}, ""},
		{"admin open to the IPv6 internet", set(KeyAdminCIDRs, `["100.64.20.7/32","::/0"]`),
			[]string{"livecdn:adminCidrs[1]: ::/0 opens the firewall to the whole internet"}, ""},
		{"no ingest CIDRs", set(KeyIngestCIDRs, `[]`), []string{"livecdn:ingestCidrs: at least one CIDR is required"}, ""},
		{"admin CIDRs missing", del(KeyAdminCIDRs), []string{"livecdn:adminCidrs: at least one CIDR is required"}, ""},
		{"host bits set", set(KeyIngestCIDRs, `["100.64.10.3/24"]`),
			[]string{"livecdn:ingestCidrs[0]: 100.64.10.3/24 has bits set past its /24 prefix", "'livecdn:ingestCidrs[0]' 100.64.10.0/24"}, ""},
		{"bare address", set(KeyIngestCIDRs, `["100.64.10.3"]`),
			[]string{`livecdn:ingestCidrs[0]: "100.64.10.3" is an address, not a CIDR`, "'livecdn:ingestCidrs[0]' 100.64.10.3/32"}, ""},
		{"not a CIDR", set(KeyAdminCIDRs, `["office"]`), []string{`livecdn:adminCidrs[0]: "office" is not a CIDR`}, ""},
		{"duplicate CIDR", set(KeyIngestCIDRs, `["100.64.10.0/28","100.64.10.0/28"]`),
			[]string{"livecdn:ingestCidrs[1]: 100.64.10.0/28 is also livecdn:ingestCidrs[0]"}, ""},
		{"two halves of the IPv4 internet", set(KeyIngestCIDRs, `["0.0.0.0/1","128.0.0.0/1"]`),
			[]string{"livecdn:ingestCidrs: 0.0.0.0/1, 128.0.0.0/1 open about 2^32 IPv4 addresses together, " +
				"more than one /8 (2^24)", "venue uplink", "pulumi config set livecdn:acceptBroadCidrs true"}, ""},
		{"several networks adding up past a /8", set(KeyAdminCIDRs, `["100.64.20.7/32","11.0.0.0/8","12.0.0.0/9"]`),
			[]string{"livecdn:adminCidrs: 100.64.20.7/32, 11.0.0.0/8, 12.0.0.0/9 open about 2^24.6 IPv4 addresses together"},
			"fd00"},
		{"an IPv6 /31", set(KeyAdminCIDRs, `["100.64.20.7/32","2001:db8::/31"]`),
			[]string{"livecdn:adminCidrs: 2001:db8::/31 open about 2^97 IPv6 addresses together, more than one /32 (2^96)",
				"operators connect from"}, "IPv4"},
		{"the whole internet even when broad networks are accepted",
			both(set(KeyIngestCIDRs, `["0.0.0.0/0"]`), set(KeyAcceptBroadCIDRs, "true")),
			[]string{"livecdn:ingestCidrs[0]: 0.0.0.0/0 opens the firewall to the whole internet"}, "2^32"},
		{"accepting broad networks in words", set(KeyAcceptBroadCIDRs, "yes"),
			[]string{`livecdn:acceptBroadCidrs: want true or false, got "yes"`}, ""},
		{"ssh key by name", set(KeySSHKeys, `["my-laptop"]`),
			[]string{`livecdn:sshKeys[0]: "my-laptop" is neither a numeric key ID nor an MD5 fingerprint`}, ""},
		{"no ssh keys", set(KeySSHKeys, `[]`), []string{"livecdn:sshKeys: at least one DigitalOcean ssh key is required"}, ""},
		{"domain in capitals", set(KeyDomain, "Live.Example.org"), []string{`livecdn:domain: "Live.Example.org" has an invalid label "Live"`}, ""},
		{"dns without a domain", del(KeyDomain), []string{"livecdn:domain: required when livecdn:dns.enabled is true"}, ""},
		{"ttl below Cloudflare's minimum", set(KeyDNS, `{"enabled":true,"zoneId":"0123456789abcdef0123456789abcdef","ttl":30}`),
			[]string{"livecdn:dns.ttl: 30 must be between 60 and 86400"}, ""},
		{"zone ID in capitals", set(KeyDNS, `{"enabled":true,"zoneId":"0123456789ABCDEF0123456789ABCDEF"}`),
			[]string{`livecdn:dns.zoneId: "0123456789ABCDEF0123456789ABCDEF" is not 32 lowercase hex digits`,
				"'livecdn:dns.zoneId' 0123456789abcdef0123456789abcdef"}, ""},
		{"dns without a zone", set(KeyDNS, `{"enabled":true}`), []string{"livecdn:dns.zoneId: required"}, ""},
		{"load balancing without an account", set(KeyDNS, `{"enabled":true,"zoneId":"0123456789abcdef0123456789abcdef","loadBalancing":true}`),
			[]string{"livecdn:dns.accountId: required"}, ""},
		{"load balancing without dns", set(KeyDNS, `{"loadBalancing":true,"accountId":"fedcba9876543210fedcba9876543210"}`),
			[]string{"livecdn:dns.loadBalancing: true needs livecdn:dns.enabled"}, ""},
		{"unknown plan", set(KeyDNS, lbDNS(`"plan":"buisness"`)),
			[]string{`livecdn:dns.plan: "buisness" is not a Cloudflare plan; use one of free, pro, business, enterprise`,
				"pulumi config set --path 'livecdn:dns.plan' business"}, ""},
		{"load balancing on the free plan", set(KeyDNS, lbDNS(`"plan":"free"`)),
			[]string{`livecdn:dns.loadBalancing: true needs Cloudflare Load Balancing`, `livecdn:dns.plan is "free"`,
				"pulumi config set --path 'livecdn:dns.loadBalancing' false"}, ""},
		{"monitor interval below Pro's minimum", set(KeyDNS, lbDNS(`"monitorInterval":15`)),
			[]string{"livecdn:dns.monitorInterval: 15 is below the pro plan's minimum of 60 seconds",
				"pulumi config set --path 'livecdn:dns.monitorInterval' 60"}, ""},
		{"monitor interval below Business's minimum", set(KeyDNS, lbDNS(`"plan":"business","monitorInterval":10`)),
			[]string{"livecdn:dns.monitorInterval: 10 is below the business plan's minimum of 15 seconds",
				"pulumi config set --path 'livecdn:dns.monitorInterval' 15"}, ""},
		{"monitor interval above an hour", set(KeyDNS, lbDNS(`"monitorInterval":7200`)),
			[]string{"livecdn:dns.monitorInterval: 7200 is above Cloudflare's maximum of 3600 seconds"}, ""},
		{"every data centre below Enterprise", set(KeyDNS, lbDNS(`"plan":"business","checkRegions":[]`)),
			[]string{"livecdn:dns.checkRegions: [] probes from every Cloudflare data centre, which only the enterprise plan allows",
				"pulumi config rm --path 'livecdn:dns.checkRegions'"}, ""},
		{"all regions below Enterprise", set(KeyDNS, lbDNS(`"checkRegions":["WEU","ALL_REGIONS"]`)),
			[]string{`livecdn:dns.checkRegions[1]: "ALL_REGIONS" probes from every region, which only the enterprise plan allows`}, ""},
		{"unknown check region", set(KeyDNS, lbDNS(`"checkRegions":["WEUR","WEU","WEU"]`)),
			[]string{`livecdn:dns.checkRegions[0]: "WEUR" is not a Cloudflare region; use one of WNAM, ENAM`,
				"pulumi config set --path 'livecdn:dns.checkRegions[0]' WEU",
				`livecdn:dns.checkRegions[2]: "WEU" is also livecdn:dns.checkRegions[1]`}, ""},
	}
	require.GreaterOrEqual(t, len(tests), 30)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := validStack()
			tt.change(st)
			s, err := st.load()
			require.Error(t, err)
			require.Nil(t, s)
			for _, want := range tt.want {
				require.ErrorContains(t, err, want)
			}
			if tt.never != "" {
				require.NotContains(t, err.Error(), tt.never)
			}
		})
	}
}

// TestLoadReportsEveryProblem checks that problems in different keys come back together, one per line,
// in a stable order.
func TestLoadReportsEveryProblem(t *testing.T) {
	st := validStack()
	st.values[KeyStream] = `{"name":"main","fragmentSeconds":0,"audioKbps":5}`
	st.values[KeyEdges] = `[{"region":"ams3","size":"huge"},{"region":"sgp1","size":"c-2"}]`
	st.values[KeyIngestCIDRs] = `["0.0.0.0/0"]`
	st.values["livecdn:edgez"] = `[]`
	_, err := st.load()
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	var paths []string
	for _, l := range lines {
		path, _, _ := strings.Cut(l, ": ")
		paths = append(paths, path)
	}
	require.Equal(t, []string{
		"livecdn:edgez",
		"livecdn:stream.fragmentSeconds",
		"livecdn:stream.audioKbps",
		"livecdn:edges[0].size",
		"livecdn:ingestCidrs[0]",
	}, paths)

	_, again := st.load()
	require.Equal(t, err.Error(), again.Error(), "the same stack gives the same message")
}

func TestLoadStackFiles(t *testing.T) {
	t.Run("dev", func(t *testing.T) {
		s, err := LoadStackFile("../Pulumi.dev.yaml")
		require.NoError(t, err)
		require.Equal(t, "dev", s.Stream.Name)
		require.Empty(t, s.Stream.Renditions, "dev passes the source through")
		require.Equal(t, Origin{Region: "ams3", Size: "s-1vcpu-1gb"}, s.Origin)
		require.Equal(t, []EdgeGroup{{Region: "ams3", Size: "s-1vcpu-1gb"}}, s.Edges)
		require.Equal(t, &Audience{Viewers: 10, Shares: []Share{{"ams3", 1}}}, s.Audience)
		require.False(t, s.DNS.Enabled)
		require.False(t, s.StreamKey.IsSet(), "a committed stack file carries no secret")

		ready := s.ReadyToDeploy()
		require.ErrorContains(t, ready, "livecdn:streamKey: not set")
		require.ErrorContains(t, ready, "livecdn:ingestCidrs[0]: 198.51.100.7/32 is a documentation range")
	})
	t.Run("animecon", func(t *testing.T) {
		s, err := LoadStackFile("../Pulumi.animecon.yaml")
		require.NoError(t, err)
		require.Equal(t, "AnimeCon 2026", s.EventName)
		require.Len(t, s.Stream.Renditions, 3)
		require.True(t, s.Stream.Record)
		require.Equal(t, []string{"ams3", "nyc3", "sgp1"}, []string{s.Edges[0].Region, s.Edges[1].Region, s.Edges[2].Region})
		require.Equal(t, 2000, s.Audience.Viewers)
		require.True(t, s.Audience.Redundancy)
		require.True(t, s.DNS.Enabled)

		ready := s.ReadyToDeploy()
		require.ErrorContains(t, ready, "livecdn:streamKey: not set")
		require.ErrorContains(t, ready, `livecdn:domain: "live.example.org" is reserved for examples`)
	})
}

func TestLoadStackFileSecrets(t *testing.T) {
	base, err := os.ReadFile("../Pulumi.dev.yaml")
	require.NoError(t, err)
	write := func(t *testing.T, extra string) string {
		path := filepath.Join(t.TempDir(), "Pulumi.test.yaml")
		require.NoError(t, os.WriteFile(path, append(base, []byte(extra)...), 0o600))
		return path
	}

	t.Run("encrypted stream key is set but sealed", func(t *testing.T) {
		s, err := LoadStackFile(write(t, "  livecdn:streamKey:\n    secure: v1:Zm9vYmFy:YmF6\n"))
		require.NoError(t, err)
		require.True(t, s.StreamKey.IsSet())
		require.True(t, s.StreamKey.Sealed())
		require.Empty(t, s.StreamKey.Reveal())
		require.NotContains(t, s.ReadyToDeploy().Error(), "streamKey")
	})
	t.Run("plain stream key is refused without echoing it", func(t *testing.T) {
		_, err := LoadStackFile(write(t, "  livecdn:streamKey: hunter2hunter2hunter2\n"))
		require.ErrorContains(t, err, "Pulumi.test.yaml: livecdn:streamKey: must be set as a secret")
		require.NotContains(t, err.Error(), "hunter2")
	})
	t.Run("secret nested in a plain key is refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "Pulumi.test.yaml")
		text := strings.Replace(string(base), "  livecdn:dns:\n    enabled: false\n",
			"  livecdn:dns:\n    enabled: true\n    zoneId:\n      secure: v1:abc\n", 1)
		require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
		_, err := LoadStackFile(path)
		require.ErrorContains(t, err, "livecdn:dns: is stored as a secret")
	})
	t.Run("provider keys and Pulumi's own fields are left alone", func(t *testing.T) {
		s, err := LoadStackFile(write(t, "  digitalocean:token:\n    secure: v1:abc\nencryptionsalt: v1:xyz\n"))
		require.NoError(t, err)
		require.Equal(t, "dev", s.Stream.Name)
	})
	t.Run("unknown key", func(t *testing.T) {
		_, err := LoadStackFile(write(t, "  livecdn:edgez: []\n"))
		require.ErrorContains(t, err, "livecdn:edgez: unknown key (did you mean livecdn:edges?)")
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := LoadStackFile(filepath.Join(t.TempDir(), "Pulumi.nope.yaml"))
		require.ErrorContains(t, err, "read stack file")
		require.ErrorIs(t, err, os.ErrNotExist)
	})
	t.Run("broken YAML", func(t *testing.T) {
		_, err := LoadStackFile(write(t, "  livecdn:domain: [unclosed\n"))
		require.ErrorContains(t, err, "Pulumi.test.yaml: parse YAML")
	})
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{
		"PULUMI_CONFIG":             `{"livecdn:stream":"{\"name\":\"main\"}","livecdn:streamKey":"` + testStreamKey + `"}`,
		"PULUMI_CONFIG_SECRET_KEYS": `["livecdn:streamKey"]`,
	}
	values, secretKeys, err := FromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, map[string]string{KeyStream: `{"name":"main"}`, KeyStreamKey: testStreamKey}, values)
	require.Equal(t, []string{KeyStreamKey}, secretKeys)

	_, _, err = FromEnv(func(k string) string { return map[string]string{"PULUMI_CONFIG": "{"}[k] })
	require.ErrorContains(t, err, "decode PULUMI_CONFIG")
}

// Example values load (so the committed example stacks preview) but are named by ExampleValues, which
// the program turns into an error for an update.
func TestExampleValuesAreReportedNotRejected(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(stack)
		want   string
	}{
		{"documentation range", set(KeyIngestCIDRs, `["203.0.113.0/28"]`), "livecdn:ingestCidrs[0]: 203.0.113.0/28 is a documentation range"},
		{"reserved domain", set(KeyDomain, "live.example.org"), `livecdn:domain: "live.example.org" is reserved for examples`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			valid, err := validStack().load()
			require.NoError(t, err)
			require.NoError(t, valid.ExampleValues())
			st := validStack()
			tt.change(st)
			s, err := st.load()
			require.NoError(t, err)
			require.ErrorContains(t, s.ExampleValues(), tt.want)
			require.ErrorContains(t, s.ReadyToDeploy(), tt.want)
		})
	}
}
