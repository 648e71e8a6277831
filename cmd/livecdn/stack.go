package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/livecdn/livecdn/config"
)

// stackNamePattern is what Pulumi allows in a stack name; anything else cannot name a stack file, and a
// name like "../x" must not reach the file system.
var stackNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// stackFlags are the --stack and --dir flags of every command that reads a stack file.
type stackFlags struct {
	stack, dir *string
}

// addStackFlags declares --stack and --dir; what says what the command does with the stack.
func addStackFlags(fs *flag.FlagSet, what string) stackFlags {
	return stackFlags{
		stack: fs.String("stack", "", "stack to "+what+": reads Pulumi.`NAME`.yaml (required)"),
		dir:   fs.String("dir", ".", "directory holding the stack files"),
	}
}

// load refuses stray arguments and a missing --stack, then reads and validates the stack file.
func (f stackFlags) load(fs *flag.FlagSet) (name string, s *config.Settings, err error) {
	switch {
	case fs.NArg() > 0:
		return "", nil, fmt.Errorf("unexpected argument %q; the stack is given with --stack", fs.Arg(0))
	case *f.stack == "":
		return "", nil, fmt.Errorf("--stack is required, e.g. --stack animecon")
	}
	name, file, err := stackFile(*f.dir, *f.stack)
	if err != nil {
		return "", nil, err
	}
	if s, err = config.LoadStackFile(file); err != nil {
		return "", nil, fmt.Errorf("stack %s: %w", name, err)
	}
	return name, s, nil
}

// stackFile names the stack file of --stack in dir. Pulumi accepts org/project/stack; the file is
// named after the last part.
func stackFile(dir, stack string) (name, file string, err error) {
	name = stack[strings.LastIndex(stack, "/")+1:]
	if !stackNamePattern.MatchString(name) || strings.Trim(name, ".") == "" {
		return "", "", fmt.Errorf("--stack %q is not a stack name", stack)
	}
	return name, filepath.Join(dir, "Pulumi."+name+".yaml"), nil
}
