package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/livecdn/livecdn/config"
)

// pulumiConfig reads and writes a stack's secret configuration through the Pulumi CLI on PATH, the
// only thing that holds the stack's secrets provider (a passphrase, or a cloud KMS key). A stack file
// only carries ciphertext, which config.LoadStackFile reports as sealed.
type pulumiConfig struct {
	// stack is --stack as given (org/project/stack is fine: the CLI resolves it).
	stack string
	// dir is --dir, the directory holding Pulumi.yaml and the stack file; the CLI runs there.
	dir string
}

// Get decrypts key's value.
func (p pulumiConfig) Get(ctx context.Context, key string) (string, error) {
	out, err := p.run(ctx, nil, "config", "get", "-s", p.stack, key)
	if err != nil {
		return "", err
	}
	// The CLI ends the value with a newline of its own.
	return strings.TrimSuffix(out, "\n"), nil
}

// SetSecret encrypts value under key in the stack file. The value goes through stdin: as an argument it
// would show in ps to every user of the machine.
func (p pulumiConfig) SetSecret(ctx context.Context, key, value string) error {
	_, err := p.run(ctx, strings.NewReader(value), "config", "set", "--secret", "-s", p.stack, key)
	return err
}

// reveal returns a secret's plaintext, decrypting it through the CLI when the stack file seals it.
func (p pulumiConfig) reveal(ctx context.Context, key string, s config.Secret) (string, error) {
	if !s.Sealed() {
		return s.Reveal(), nil
	}
	return p.Get(ctx, key)
}

// run runs the Pulumi CLI in p.dir and returns its stdout; its error says what to do.
func (p pulumiConfig) run(ctx context.Context, stdin *strings.Reader, args ...string) (string, error) {
	// What the command was, without any value: nothing secret is ever an argument.
	what := "pulumi " + strings.Join(args, " ")
	bin, err := exec.LookPath("pulumi")
	if err != nil {
		return "", fmt.Errorf("%s: the Pulumi CLI is not on PATH; install it (https://www.pulumi.com/docs/iac/download-install/) and log in to the stack's backend", what)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = p.dir
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return "", fmt.Errorf("%s (in %s): %s", what, p.dir, msg)
		}
		return "", fmt.Errorf("%s (in %s): %s%s", what, p.dir, msg, pulumiHint(msg))
	}
	return stdout.String(), nil
}

// pulumiHint names the fix for the CLI failures an operator meets here.
func pulumiHint(msg string) string {
	lower := strings.ToLower(msg)
	switch {
	case strings.Contains(lower, "passphrase"):
		return "; export PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) with the stack's passphrase"
	case strings.Contains(lower, "pulumi login"), strings.Contains(lower, "not logged in"):
		return "; log in to the stack's backend with pulumi login (or set PULUMI_BACKEND_URL)"
	case strings.Contains(lower, "no stack named"), strings.Contains(lower, "not found"):
		return "; check --stack and --dir, and that the stack exists in the backend (pulumi stack ls)"
	}
	return ""
}
