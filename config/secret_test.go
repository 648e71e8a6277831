package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestSecretNeverPrintsItsValue(t *testing.T) {
	const plaintext = "hunter2-hunter2-hunter2"
	s := NewSecret(plaintext)
	settings := Settings{EventName: "x", StreamKey: s}

	var printed []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		printed = append(printed, fmt.Sprintf(verb, s), fmt.Sprintf(verb, settings), fmt.Sprintf(verb, &settings))
	}
	printed = append(printed, fmt.Sprint(s), fmt.Sprintln(settings))

	j, err := json.Marshal(settings)
	require.NoError(t, err)
	y, err := yaml.Marshal(settings)
	require.NoError(t, err)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded", "streamKey", s, "settings", settings)
	printed = append(printed, string(j), string(y), logged.String())

	for _, out := range printed {
		require.NotContains(t, out, plaintext)
		require.NotContains(t, out, fmt.Sprintf("%x", plaintext), "hex-encoded plaintext")
	}
	require.Contains(t, string(j), `"StreamKey":"[secret]"`)
	require.Contains(t, string(y), "streamkey: '[secret]'")
	require.Contains(t, logged.String(), `"streamKey":"[secret]"`)
	require.Equal(t, "[secret]", fmt.Sprintf("%d", s))

	require.Equal(t, plaintext, s.Reveal(), "Reveal is the one way to the value")
	require.True(t, s.IsSet())
	require.False(t, s.Sealed())
}

func TestSecretStates(t *testing.T) {
	var unset Secret
	require.False(t, unset.IsSet())
	require.False(t, unset.Sealed())
	require.Empty(t, unset.Reveal())

	sealed := sealedSecret()
	require.True(t, sealed.IsSet())
	require.True(t, sealed.Sealed())
	require.Empty(t, sealed.Reveal(), "a sealed secret was never decrypted")
}
