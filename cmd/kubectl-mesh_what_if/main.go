// Command kubectl-mesh_what_if is the what-if plugin on its own: kubectl runs it for
// `kubectl mesh-what-if ...` (kubectl turns the plugin name's dashes into underscores). It
// behaves exactly like `kubectl mesh what-if ...`.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/cmd"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cmd.ExecutePlugin("what-if", streams, os.Args[1:]))
}
