package program

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
)

// Every invalid stack fails with an error that names the key and the bad
// value, before the program registers a single resource.
func TestInvalidStacksRegisterNothing(t *testing.T) {
	dev := committedStack(t, "dev")
	notSecret := dev
	notSecret.secretKeys = nil
	stream := func(raw string) stack { return dev.with(config.KeyStream, raw) }
	edges := func(raw string) stack { return dev.with(config.KeyEdges, raw) }
	dns := func(raw string) stack { return dev.with(config.KeyDomain, "live.animecon.tv").with(config.KeyDNS, raw) }
	ladder := func(renditions string) stack {
		return stream(`{"name":"dev","renditions":` + renditions + `}`)
	}
	cases := []struct {
		name  string
		stack stack
		want  []string
	}{
		{"misspelled key", dev.with("livecdn:edgez", `[]`), []string{"livecdn:edgez", "livecdn:edges"}},
		{"misspelled field", stream(`{"name":"dev","fragmentSecond":2}`), []string{"livecdn:stream", "fragmentSecond"}},
		{"stream name with capitals", stream(`{"name":"Dev"}`), []string{"livecdn:stream.name", `"Dev"`}},
		{"no stream", dev.without(config.KeyStream), []string{"livecdn:stream"}},
		{"fragment of 0 s", stream(`{"name":"dev","fragmentSeconds":0}`), []string{"livecdn:stream.fragmentSeconds", "0"}},
		{"fragment of 11 s", stream(`{"name":"dev","fragmentSeconds":11}`), []string{"livecdn:stream.fragmentSeconds", "11"}},
		{"playlist under 4 fragments", stream(`{"name":"dev","fragmentSeconds":4,"playlistSeconds":12}`), []string{"livecdn:stream.playlistSeconds", "12"}},
		{"audio at 10 kbps", stream(`{"name":"dev","audioKbps":10}`), []string{"livecdn:stream.audioKbps", "10"}},
		{"ladder upside down", ladder(`[{"name":"480p","width":854,"height":480,"videoKbps":1200},{"name":"720p","width":1280,"height":720,"videoKbps":2800}]`),
			[]string{"livecdn:stream.renditions[1]", "720"}},
		{"odd width", ladder(`[{"name":"720p","width":1281,"height":720,"videoKbps":2800}]`), []string{"livecdn:stream.renditions[0].width", "1281"}},
		{"duplicate rendition", ladder(`[{"name":"hd","width":1280,"height":720,"videoKbps":2800},{"name":"hd","width":854,"height":480,"videoKbps":1200}]`),
			[]string{"livecdn:stream.renditions[1].name", `"hd"`}},
		{"no stream key", dev.without(config.KeyStreamKey), []string{"livecdn:streamKey", "pulumi config set --secret"}},
		{"stream key in plain text", notSecret, []string{"livecdn:streamKey", "secret"}},
		{"short stream key", dev.with(config.KeyStreamKey, "abc"), []string{"livecdn:streamKey"}},
		{"stream key with a space", dev.with(config.KeyStreamKey, "has a space in it 0123456789"), []string{"livecdn:streamKey"}},
		{"unknown origin region", dev.with(config.KeyOrigin, `{"region":"mars1","size":"s-1vcpu-1gb"}`), []string{"livecdn:origin.region", `"mars1"`}},
		{"unknown origin size", dev.with(config.KeyOrigin, `{"region":"ams3","size":"s-1vcpu-3gb"}`), []string{"livecdn:origin.size", `"s-1vcpu-3gb"`}},
		{"origin both droplet and byo", dev.with(config.KeyOrigin, `{"region":"ams3","size":"s-1vcpu-1gb","byo":{"address":"100.64.1.1"}}`), []string{"livecdn:origin"}},
		{"no edges", edges(`[]`), []string{"livecdn:edges"}},
		{"unknown edge region", edges(`[{"region":"lon2","size":"s-1vcpu-1gb","count":1}]`), []string{"livecdn:edges[0].region", `"lon2"`}},
		{"edge region twice", edges(`[{"region":"ams3","size":"s-1vcpu-1gb","count":1},{"region":"ams3","size":"s-1vcpu-1gb","count":1}]`),
			[]string{"livecdn:edges[1].region", `"ams3"`}},
		{"negative edge count", edges(`[{"region":"ams3","size":"s-1vcpu-1gb","count":-1}]`), []string{"livecdn:edges[0].count", "-1"}},
		{"too many edges in a region", edges(`[{"region":"ams3","size":"s-1vcpu-1gb","count":21}]`), []string{"livecdn:edges[0].count", "21"}},
		{"ingest CIDR that is not one", dev.with(config.KeyIngestCIDRs, `["venue"]`), []string{"livecdn:ingestCidrs[0]", `"venue"`}},
		{"ingest from anywhere", dev.with(config.KeyIngestCIDRs, `["0.0.0.0/0"]`), []string{"livecdn:ingestCidrs[0]", "0.0.0.0/0"}},
		{"admin from anywhere (IPv6)", dev.with(config.KeyAdminCIDRs, `["::/0"]`), []string{"livecdn:adminCidrs[0]", "::/0"}},
		{"no admins", dev.without(config.KeyAdminCIDRs), []string{"livecdn:adminCidrs"}},
		{"no ssh keys", dev.with(config.KeySSHKeys, `[]`), []string{"livecdn:sshKeys"}},
		{"dns without a domain", dev.with(config.KeyDNS, `{"enabled":true,"zoneId":"0123456789abcdef0123456789abcdef"}`), []string{"livecdn:domain"}},
		{"zone id too short", dns(`{"enabled":true,"zoneId":"abc"}`), []string{"livecdn:dns.zoneId", `"abc"`}},
		{"load balancing without an account", dns(`{"enabled":true,"zoneId":"0123456789abcdef0123456789abcdef","loadBalancing":true}`),
			[]string{"livecdn:dns.accountId"}},
		{"ttl under a minute", dns(`{"enabled":true,"zoneId":"0123456789abcdef0123456789abcdef","ttl":30}`), []string{"livecdn:dns.ttl", "30"}},
		{"shares not adding up", dev.with(config.KeyAudience, `{"viewers":100,"shares":{"ams3":0.5}}`), []string{"livecdn:audience.shares", "0.5"}},
		{"share for a region without edges", dev.with(config.KeyAudience, `{"viewers":100,"shares":{"ams3":0.5,"sgp1":0.5}}`),
			[]string{"livecdn:audience.shares", "sgp1"}},
		{"byo origin without its ssh key", dev.with(config.KeyOrigin, `{"byo":{"address":"100.64.1.1"}}`), []string{"livecdn:originSshPrivateKey"}},
		{"no event name", dev.without(config.KeyEvent), []string{"livecdn:event"}},
	}
	require.GreaterOrEqual(t, len(cases), 30)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, tc.stack, true)
			require.Error(t, r.err)
			for _, want := range tc.want {
				require.ErrorContains(t, r.err, want)
			}
			require.NotContains(t, r.err.Error(), testStreamKey, "errors never show the stream key")
			require.Zero(t, r.cloud.count(), "resources registered by an invalid stack")
		})
	}
}

// The committed stacks carry example addresses: a preview warns, an update
// refuses before registering anything.
func TestUpRefusesExampleValues(t *testing.T) {
	r := deploy(t, committedStack(t, "animecon"), false)
	require.ErrorContains(t, r.err, "example values")
	require.ErrorContains(t, r.err, "203.0.113.0/28 is a documentation range")
	require.Zero(t, r.cloud.count())

	real := committedStack(t, "animecon").
		with(config.KeyIngestCIDRs, `["100.64.10.0/28"]`).
		with(config.KeyAdminCIDRs, `["100.64.20.7/32"]`).
		with(config.KeyDomain, "live.animecon.tv")
	leaf := issue(t, "live.animecon.tv")
	real = real.with(config.KeyTLSCertificate, leaf.Chain).with(config.KeyTLSKey, leaf.Key)
	require.NoError(t, deploy(t, real, false).err)

	// A certificate for other names: a preview warns, an update refuses.
	wrong := issue(t, "live.example.net")
	stale := real.with(config.KeyTLSCertificate, wrong.Chain).with(config.KeyTLSKey, wrong.Key)
	r = deploy(t, stale, false)
	require.ErrorContains(t, r.err, "the certificate does not cover ams3-1.live.animecon.tv")
	require.ErrorContains(t, r.err, "livecdn cert --stack")
	require.NotContains(t, r.err.Error(), wrong.Key)
	require.Zero(t, r.cloud.count())
	require.NoError(t, deploy(t, stale, true).err, "a preview only warns")
}
