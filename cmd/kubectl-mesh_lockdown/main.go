// Command kubectl-mesh_lockdown is the lockdown plugin on its own: kubectl runs it for
// `kubectl mesh-lockdown ...`. It behaves exactly like `kubectl mesh lockdown ...`.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/cmd"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cmd.ExecutePlugin("lockdown", streams, os.Args[1:]))
}
