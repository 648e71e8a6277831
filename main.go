// The livecdn Pulumi program: one stack per event declares the origin, the
// edges and their DNS. The body lives in program.Program, where the
// tests run it with mocks.
package main

import (
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/livecdn/livecdn/config"
	"github.com/livecdn/livecdn/program"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		values, secretKeys, err := config.FromEnv(os.Getenv)
		if err != nil {
			return err
		}
		return program.Program(ctx, values, secretKeys)
	})
}
