// Command kubectl_complete-mesh answers kubectl's shell completion for the mesh plugin:
// kubectl runs it with the words typed after `kubectl mesh` when the user presses Tab.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/cmd"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cmd.ExecuteAs("kubectl_complete-mesh", streams, os.Args[1:]))
}
