package lab

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckToolsNamesTheDebianPackages(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := CheckTools(true)
	require.ErrorContains(t, err, "missing nginx")
	require.ErrorContains(t, err, "ffmpeg")
	require.ErrorContains(t, err, "apt-get install nginx")
}

func TestOptionsAreValidated(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Edges: 51}, "edges: 51"},
		{Options{Edges: -1}, "edges: -1"},
		{Options{Source: "camera"}, `source: "camera"`},
	} {
		require.ErrorContains(t, tc.opts.withDefaults(), tc.want)
	}
	var o Options
	require.NoError(t, o.withDefaults())
	require.Equal(t, 2, o.Edges)
	require.Regexp(t, `^lab-[0-9a-f]{32}$`, o.StreamKey)
}

func TestFetchPlaylistResolvesVariantsAndSegments(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hls/show.m3u8":
			w.Write([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=896000,RESOLUTION=640x360\nshow_360p.m3u8\n"))
		case "/hls/show_360p.m3u8":
			w.Write([]byte("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:2.0,\nshow_360p-180000.ts\n#EXTINF:2.0,\nshow_360p-360000.ts\n"))
		case "/hls/show_360p-360000.ts":
			w.Write([]byte{0x47})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	master, err := FetchPlaylist(ctx, srv.URL+"/hls/show.m3u8")
	require.NoError(t, err)
	require.Equal(t, []string{srv.URL + "/hls/show_360p.m3u8"}, master.Variants)
	require.Empty(t, master.Segments)

	media, err := FetchPlaylist(ctx, master.Variants[0])
	require.NoError(t, err)
	require.Equal(t, []string{"show_360p-180000.ts", "show_360p-360000.ts"}, media.Names)
	require.Equal(t, "8:show_360p-360000.ts", media.End())
	require.NoError(t, CheckPlayable(ctx, srv.URL+"/hls/show.m3u8"))

	require.Equal(t, http.StatusNotFound, Status(ctx, srv.URL+"/nope"))
	require.ErrorContains(t, CheckPlayable(ctx, srv.URL+"/nope.m3u8"), "404")
}
