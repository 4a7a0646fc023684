// Command kubectl-mesh_why is the why plugin on its own: kubectl runs it for
// `kubectl mesh-why ...`. It behaves exactly like `kubectl mesh why ...`.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/cmd"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cmd.ExecutePlugin("why", streams, os.Args[1:]))
}
