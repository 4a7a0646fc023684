package cmd

import (
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// NewCmdGraph returns `kubectl mesh graph`.
func NewCmdGraph(getter mesh.ClientGetter, streams genericiooptions.IOStreams) *cobra.Command {
	o := &clusterOptions{getter: getter, streams: streams}
	return &cobra.Command{
		Use:   "graph",
		Short: "Show the service graph: rps, errors, p50/p99 latency and mTLS per edge",
		Example: `  # Every edge into or out of namespace default
  kubectl mesh graph -n default`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.completeCluster(); err != nil {
				return err
			}
			if err := mesh.RequireIstio(o.clients.Discovery, mesh.PeerAuthentications); err != nil {
				return err
			}
			return errors.New("graph is not implemented yet")
		},
	}
}
