// Command kubectl-mesh_graph is the graph plugin on its own: kubectl runs it for
// `kubectl mesh-graph ...`. It behaves exactly like `kubectl mesh graph ...`.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/cmd"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cmd.ExecutePlugin("graph", streams, os.Args[1:]))
}
