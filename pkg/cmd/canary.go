package cmd

import (
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// CanaryOptions shift a share of a service's traffic to a canary subset.
type CanaryOptions struct {
	clusterOptions
	Service string
}

// NewCmdCanary returns `kubectl mesh canary`.
func NewCmdCanary(getter mesh.ClientGetter, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CanaryOptions{clusterOptions: clusterOptions{getter: getter, streams: streams}}
	return &cobra.Command{
		Use:   "canary SERVICE [PERCENT]",
		Short: "Shift a share of a service's traffic to its canary subset",
		Example: `  # Send 10% of reviews' traffic to the canary subset (v2 on bookinfo), 90% to stable (v1)
  kubectl mesh canary reviews 10`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				o.Service = args[0]
			}
			if err := o.completeCluster(); err != nil {
				return err
			}
			if err := mesh.RequireIstio(o.clients.Discovery, mesh.VirtualServices, mesh.DestinationRules); err != nil {
				return err
			}
			return errors.New("canary is not implemented yet")
		},
	}
}
