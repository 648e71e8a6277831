package lab

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
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

// TestLabClientChecksTheHost proves that the lab's HTTP helpers verify an
// HTTPS server's name, not only its CA: a lab CA's certificate for other
// addresses is refused.
func TestLabClientChecksTheHost(t *testing.T) {
	dir := t.TempDir()
	pki, err := newPKI(dir, []net.IP{net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	cert, err := tls.X509KeyPair([]byte(pki.leaf.Chain), []byte(pki.leaf.Key))
	require.NoError(t, err)
	for _, c := range []struct {
		addr string
		ok   bool
	}{{"127.0.0.1", true}, {"127.0.0.9", false}} {
		ln, err := tls.Listen("tcp", c.addr+":0", &tls.Config{Certificates: []tls.Certificate{cert}})
		require.NoError(t, err)
		srv := &http.Server{
			Handler:  http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
			ErrorLog: log.New(io.Discard, "", 0), // the refused handshake
		}
		go srv.Serve(ln)
		_, err = Get(context.Background(), "https://"+ln.Addr().String()+"/")
		srv.Close()
		if c.ok {
			require.NoError(t, err, c.addr)
		} else {
			require.ErrorContains(t, err, "127.0.0.9", "a certificate without the address must be refused")
		}
	}
}
