// Command kubectl-mesh_traces is the traces plugin on its own: kubectl runs it for
// `kubectl mesh-traces ...`. It behaves exactly like `kubectl mesh traces ...`.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/cmd"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cmd.ExecutePlugin("traces", streams, os.Args[1:]))
}
