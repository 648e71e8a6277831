package browser

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// readServed loads Options.Serve's files up front, so a missing one fails
// New instead of the page's script tag, later and obscurely.
func readServed(serve map[string]string) (map[string][]byte, error) {
	files := make(map[string][]byte, len(serve))
	for url, path := range serve {
		body, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("serve %s: %w", url, err)
		}
		files[url] = body
	}
	return files, nil
}

// patternEscaper makes a URL match itself only in a Fetch request pattern,
// where '*' and '?' are wildcards.
var patternEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`)

// serve intercepts exactly the requests for files' URLs, before they reach
// the network, and answers them with the files.
func serve(ctx context.Context, files map[string][]byte, log *notes) chromedp.Action {
	var patterns []*fetch.RequestPattern
	for url := range files {
		patterns = append(patterns, &fetch.RequestPattern{
			URLPattern:   patternEscaper.Replace(url),
			RequestStage: fetch.RequestStageRequest,
		})
	}
	chromedp.ListenTarget(ctx, func(ev any) {
		paused, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		// Not here: answering is a command, and a listener that waits for a
		// command's reply blocks the events that carry it.
		go func() {
			exec := cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Target)
			var err error
			if body, ok := files[paused.Request.URL]; ok {
				err = fetch.FulfillRequest(paused.RequestID, 200).
					WithResponseHeaders([]*fetch.HeaderEntry{
						{Name: "Content-Type", Value: "application/javascript"},
						{Name: "Access-Control-Allow-Origin", Value: "*"},
					}).
					WithBody(base64.StdEncoding.EncodeToString(body)).
					Do(exec)
			} else {
				err = fetch.ContinueRequest(paused.RequestID).Do(exec)
			}
			if err != nil && ctx.Err() == nil {
				log.add("browser: serve %s: %v", paused.Request.URL, err)
			}
		}()
	})
	return fetch.Enable().WithPatterns(patterns)
}
