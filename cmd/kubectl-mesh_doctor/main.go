// Command kubectl-mesh_doctor is the doctor plugin on its own: kubectl runs it for
// `kubectl mesh-doctor ...`. It behaves exactly like `kubectl mesh doctor ...`.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/cmd"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cmd.ExecutePlugin("doctor", streams, os.Args[1:]))
}
