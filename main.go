// The livecdn Pulumi program: one stack per event declares the origin, the
// edges and their DNS. The body lives in components.Program, where the
// tests run it with mocks.
package main

import (
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/livecdn/livecdn/components"
	"github.com/livecdn/livecdn/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		values, secretKeys, err := config.FromEnv(os.Getenv)
		if err != nil {
			return err
		}
		return components.Program(ctx, values, secretKeys)
	})
}
