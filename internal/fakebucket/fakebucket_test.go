package fakebucket

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBucketAnswersBothURLStyles: an object PUT path-style and one PUT to
// BUCKET.BASE both land in the bucket, listed with their MD5 as ETag.
func TestBucketAnswersBothURLStyles(t *testing.T) {
	b, err := New("team-recordings")
	require.NoError(t, err)
	require.Regexp(t, `^[A-Z0-9]{20}$`, b.AccessKey)
	require.Regexp(t, `^[a-z0-9]{40}$`, b.SecretKey)
	srv := httptest.NewServer(b.Handler("ams3.digitaloceanspaces.com"))
	defer srv.Close()

	put := func(host, path, body string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPut, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Host = host
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "PUT %s%s", host, path)
	}
	put("ams3.digitaloceanspaces.com", "/team-recordings/event/a.flv", "first")
	put("team-recordings.ams3.digitaloceanspaces.com", "/event/b.flv", "second")
	put("ams3.digitaloceanspaces.com", "/team-recordings/other/c.flv", "elsewhere")

	objects, err := b.Objects("event/")
	require.NoError(t, err)
	require.Len(t, objects, 2)
	for i, want := range []struct{ key, body string }{{"event/a.flv", "first"}, {"event/b.flv", "second"}} {
		sum := md5.Sum([]byte(want.body))
		require.Equal(t, want.key, objects[i].Key)
		require.Equal(t, int64(len(want.body)), objects[i].Size)
		require.Equal(t, hex.EncodeToString(sum[:]), objects[i].ETag)
	}
}
