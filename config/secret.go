package config

import (
	"fmt"
	"log/slog"
)

// redacted is what a Secret prints instead of its value, whichever way it is printed.
const redacted = "[secret]"

// Secret holds a secret configuration value (the stream key, an ssh private key) so that it cannot leak
// through %v, %+v, %#v, %s, %d, JSON, YAML, text encoders or slog: every one of them prints "[secret]".
// The only way to the plaintext is Reveal, which makes each use easy to find in review. The zero value
// is an unset secret.
type Secret struct {
	value  string
	set    bool
	sealed bool
}

// NewSecret wraps a plaintext value, for the Pulumi program (which receives secrets decrypted) and tests.
func NewSecret(plaintext string) Secret { return Secret{value: plaintext, set: true} }

// sealedSecret records that a stack file sets the key to an encrypted value we did not decrypt: the CLI
// reads stack files without the passphrase because it never needs secret plaintext.
func sealedSecret() Secret { return Secret{set: true, sealed: true} }

// IsSet reports whether the stack sets this secret at all, readable or not.
func (s Secret) IsSet() bool { return s.set }

// Sealed reports whether the secret is set but encrypted and unread, as LoadStackFile leaves it: its
// format could not be checked and Reveal returns "".
func (s Secret) Sealed() bool { return s.sealed }

// Reveal returns the plaintext, or "" when the secret is unset or sealed. Wrap what you build from it
// in pulumi.ToSecret so it stays encrypted in state and hidden in previews.
func (s Secret) Reveal() string { return s.value }

// String keeps the value out of %s and %v.
func (s Secret) String() string { return redacted }

// GoString keeps the value out of %#v.
func (s Secret) GoString() string { return redacted }

// Format keeps the value out of every other verb (%d, %x, %q ...), which would otherwise print the
// unexported field through reflection.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON keeps the value out of JSON, e.g. a plan printed with --json or a stack output.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText keeps the value out of YAML and any other text encoder.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue keeps the value out of structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
