// Command kubectl-mesh is the umbrella plugin: kubectl runs it for `kubectl mesh ...`.
// Release archives also ship it as kubectl-mesh_canary, kubectl_complete-mesh, ...: it acts
// as the name it is started by.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/cmd"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cmd.ExecuteAs(os.Args[0], streams, os.Args[1:]))
}
