package config

import (
	"regexp"
	"slices"
	"strings"
)

// KeyRecordings names the DigitalOcean Spaces bucket the origin uploads the recording to, in chunks,
// so it outlives the origin and the stack (docs/RECORDINGS.md).
const KeyRecordings = Namespace + ":recordings"

// Recordings is where the recording goes. The bucket is the team's, shared by its events and never
// created or deleted by an event stack: the stack only looks it up and makes a key limited to it.
type Recordings struct {
	// Bucket is the Spaces bucket's name; it must exist before `pulumi up`.
	Bucket string
	// Region is the bucket's Spaces region, e.g. ams3; the endpoint follows from it (SpacesEndpoint).
	Region string
	// Prefix is the event's folder in the bucket. Required rather than defaulted to the stack's name: a
	// `pulumi stack rename` must not move where the origin uploads (and replace it), and `livecdn
	// recordings` must find the chunks from the stack file alone.
	Prefix string
	// ChunkMinutes is how much stream one chunk holds: what a lost origin can cost at most.
	ChunkMinutes int
}

// Bounds and defaults of Recordings.
const (
	// DefaultRecordChunkMinutes keeps what a lost origin can cost to ten minutes while a four-hour event
	// makes only 24 objects.
	DefaultRecordChunkMinutes = 10
	minRecordChunkMinutes     = 1
	maxRecordChunkMinutes     = 60
)

// spacesRegions are the regions that offer Spaces, as terraform-provider-digitalocean (behind
// pulumi-digitalocean) lists them: SpacesRegions in digitalocean/spaces/spaces_entities.go (the file that
// also declares the SpacesKey resource livecdn uses; older releases listed eight).
var spacesRegions = []string{"ams3", "atl1", "blr1", "fra1", "lon1", "mkc1", "nyc3", "ric1", "sfo2", "sfo3", "sgp1", "syd1", "tor1"}

// SpacesRegions lists the regions a recordings bucket can be in, sorted.
func SpacesRegions() []string { return slices.Clone(spacesRegions) }

// SpacesDomain is the domain under which every Spaces region's S3 API answers.
const SpacesDomain = "digitaloceanspaces.com"

// SpacesHost is the S3 API's host name in a Spaces region; a bucket is also reachable as
// BUCKET.SpacesHost(region) (virtual-host style).
func SpacesHost(region string) string { return region + "." + SpacesDomain }

// SpacesEndpoint is the S3 API endpoint of a Spaces region.
func SpacesEndpoint(region string) string { return "https://" + SpacesHost(region) }

var (
	// bucketNamePattern is what Spaces accepts as a bucket name (DigitalOcean's "Spaces limits": 3-63
	// characters, lowercase letters, numbers and dashes, starting and ending with a letter or number).
	bucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	// recordPrefixPattern keeps object names plain: they go into rclone arguments and URLs unescaped.
	recordPrefixPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}(/[a-z0-9][a-z0-9._-]{0,62})*$`)
)

type rawRecordings struct {
	Bucket       *string `json:"bucket"`
	Region       *string `json:"region"`
	Prefix       *string `json:"prefix"`
	ChunkMinutes *int    `json:"chunkMinutes"`
}

func buildRecordings(r rawRecordings) *Recordings {
	if r.Bucket == nil && r.Region == nil && r.Prefix == nil && r.ChunkMinutes == nil {
		return nil // Pulumi.yaml's default, {}: no uploads
	}
	return &Recordings{
		Bucket:       deref(r.Bucket, ""),
		Region:       deref(r.Region, ""),
		Prefix:       deref(r.Prefix, ""),
		ChunkMinutes: deref(r.ChunkMinutes, DefaultRecordChunkMinutes),
	}
}

func (s *Settings) validateRecordings(p *problems) {
	r := s.Recordings
	if r == nil {
		return
	}
	if !s.Stream.Record {
		path := KeyStream + ".record"
		p.addf(path, setCmd(path, "true"), "is false, but %s names a bucket for the recording", KeyRecordings)
	}
	path := KeyRecordings + ".bucket"
	switch {
	case r.Bucket == "":
		p.addf(path, setCmd(path, "<team-bucket>")+" (create the bucket once, outside any event stack: docs/RECORDINGS.md)",
			"required: the Spaces bucket the recording goes to")
	case !bucketNamePattern.MatchString(r.Bucket):
		p.addf(path, "use 3-63 lowercase letters, digits and dashes, starting and ending with a letter or digit",
			"%q is not a Spaces bucket name", r.Bucket)
	}
	path = KeyRecordings + ".region"
	if !slices.Contains(spacesRegions, r.Region) {
		fix := setCmd(path, "ams3") + "; Spaces regions: " + strings.Join(spacesRegions, ", ")
		if r.Region == "" {
			p.addf(path, fix, "required: the bucket's Spaces region")
		} else {
			p.addf(path, fix, "%q has no Spaces", r.Region)
		}
	}
	path = KeyRecordings + ".prefix"
	switch {
	case r.Prefix == "":
		p.addf(path, setCmd(path, "<stack-name>"), "required: the event's folder in the bucket, e.g. the stack's name")
	case !recordPrefixPattern.MatchString(r.Prefix):
		p.addf(path, setCmd(path, suggestName(r.Prefix)),
			"%q must be names of a-z, 0-9, '.', '_' and '-' (each starting with a letter or digit) separated by /", r.Prefix)
	}
	intRange(p, KeyRecordings+".chunkMinutes", r.ChunkMinutes, minRecordChunkMinutes, maxRecordChunkMinutes,
		DefaultRecordChunkMinutes)
}
