// Command ccictl is a kubectl-style CLI for CCI 2.0 PoolBindings and Services.
package main

import (
	"context"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/cmd/root"
	"github.com/openvessel/ccictl/pkg/signals"
)

func main() {
	// The first SIGINT or SIGTERM cancels the command, which may still
	// record what it did (sync writes statuses under a short deadline); a
	// second one ends the process at once, as without a handler.
	ctx, stop := signals.NotifyContext(context.Background())
	code := root.Main(ctx, os.Args[1:], genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
