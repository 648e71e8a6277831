package nginx

import (
	"bytes"
	"embed"
	"fmt"
	"text/template"
)

//go:embed templates
var templateFS embed.FS

// templates are parsed once; a missing key is an error, never "<no value>".
var templates = template.Must(template.New("livecdn").
	Option("missingkey=error").
	Funcs(template.FuncMap{
		"ingestApp": func() string { return IngestApp },
		"ladderApp": func() string { return LadderApp },
		"edgeApp":   func() string { return EdgeApp },
		"hlsPath":   func() string { return HLSPath },
	}).
	ParseFS(templateFS, "templates/*.tmpl"))

func execute(name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return buf.String(), nil
}
