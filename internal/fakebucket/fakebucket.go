// Package fakebucket is the S3 bucket the lab and the VM rehearsal hand the
// origin's recordings uploader in place of a DigitalOcean Spaces bucket: one
// bucket in memory, served by gofakes3, with a key of Spaces' shape.
package fakebucket

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Info is how any S3 client reaches a fake bucket while it runs
// (signature v4), e.g. `rclone lsf :s3,provider=Other,endpoint=ENDPOINT,...:BUCKET/PREFIX`.
// The lab and `livecdn rehearse` print it in their JSON line as "recordings".
type Info struct {
	Endpoint  string `json:"endpoint"`
	Bucket    string `json:"bucket"`
	Prefix    string `json:"prefix"`
	Region    string `json:"region"`
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
	// Status is the origin's uploader status (admins only).
	Status string `json:"status"`
}

// Object is one object in the bucket.
type Object struct {
	Key string
	// Size is in bytes; ETag is the hex MD5 of a single-part upload.
	Size     int64
	ETag     string
	Modified time.Time
}

// Bucket is one bucket in memory.
type Bucket struct {
	// Name is the bucket's name.
	Name string
	// AccessKey and SecretKey are a random key of Spaces' shape (the fake
	// takes any key; the uploader's config needs one).
	AccessKey, SecretKey string
	backend              *s3mem.Backend
}

// New makes an empty bucket.
func New(name string) (*Bucket, error) {
	backend := s3mem.New()
	if err := backend.CreateBucket(name); err != nil {
		return nil, fmt.Errorf("fake bucket %s: %w", name, err)
	}
	key := make([]byte, 30)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("fake bucket %s: key: %w", name, err)
	}
	return &Bucket{
		Name: name, backend: backend,
		AccessKey: strings.ToUpper(hex.EncodeToString(key[:10])), SecretKey: hex.EncodeToString(key[10:]),
	}, nil
}

// Handler serves the S3 API: path-style URLs (HOST/BUCKET/KEY) and, for a
// request to BUCKET.BASE with BASE one of hostBases, virtual-host style
// (BUCKET.BASE/KEY), as Spaces answers both.
func (b *Bucket) Handler(hostBases ...string) http.Handler {
	var opts []gofakes3.Option
	if len(hostBases) > 0 {
		opts = append(opts, gofakes3.WithHostBucketBase(hostBases...))
	}
	return gofakes3.New(b.backend, opts...).Server()
}

// Objects lists the objects whose keys start with prefix, in key order.
func (b *Bucket) Objects(prefix string) ([]Object, error) {
	list, err := b.backend.ListBucket(b.Name, &gofakes3.Prefix{HasPrefix: true, Prefix: prefix}, gofakes3.ListBucketPage{})
	if err != nil {
		return nil, fmt.Errorf("fake bucket %s: %w", b.Name, err)
	}
	out := make([]Object, 0, len(list.Contents))
	for _, c := range list.Contents {
		out = append(out, Object{Key: c.Key, Size: c.Size, ETag: strings.Trim(c.ETag, `"`), Modified: c.LastModified.Time})
	}
	return out, nil
}
