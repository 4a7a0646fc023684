// Command kubectl-mesh_canary is the canary plugin on its own: kubectl runs it for
// `kubectl mesh-canary ...`. It behaves exactly like `kubectl mesh canary ...`.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/cmd"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cmd.ExecutePlugin("canary", streams, os.Args[1:]))
}
