package nginx

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	"text/template"
)

//go:embed templates
var templateFS embed.FS

//go:embed site
var siteFS embed.FS

// siteTemplates escape what they render, as the event name comes from config.
var siteTemplates = htmltemplate.Must(htmltemplate.New("site").
	Option("missingkey=error").
	ParseFS(siteFS, "site/*.tmpl"))

// templates are parsed once; a missing key is an error, never "<no value>".
var templates = template.Must(template.New("livecdn").
	Option("missingkey=error").
	Funcs(template.FuncMap{
		"ingestApp":        func() string { return IngestApp },
		"ladderApp":        func() string { return LadderApp },
		"edgeApp":          func() string { return EdgeApp },
		"hlsPath":          func() string { return HLSPath },
		"healthPath":       func() string { return HealthPath },
		"healthyBody":      func() string { return HealthyBody },
		"edgeHeader":       func() string { return EdgeHeader },
		"relayMarker":      func() string { return RelayMarker },
		"recordRemote":     func() string { return RecordRemote },
		"recordStatusPath": func() string { return RecordStatusPath },
		"recordStatusFile": func() string { return RecordStatusFile },

		"accessLogFile":  func() string { return AccessLogFile },
		"edgeStatusPath": func() string { return EdgeStatusPath },
		"edgeStatusFile": func() string { return EdgeStatusFile },
	}).
	ParseFS(templateFS, "templates/*.tmpl"))

type executor interface {
	ExecuteTemplate(w io.Writer, name string, data any) error
}

// execute renders a text template. Rendered files end in exactly one
// newline, however the template's define blocks are laid out.
func execute(name string, data any) (string, error) {
	out, err := executeWith(templates, name, data)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(out, "\n") + "\n", nil
}

func executeWith(t executor, name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return buf.String(), nil
}
