package cmd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// clusterSet is --contexts: the kubeconfig contexts of the clusters of one mesh, read and
// written together. Empty, a command works on the current context alone, as before.
type clusterSet struct {
	contexts []string
}

// addContextsFlag registers --contexts; what says what the command does with the clusters.
func (o *clusterOptions) addContextsFlag(c *cobra.Command, what string) {
	c.Flags().StringSliceVar(&o.contexts, "contexts", nil,
		"Kubeconfig contexts of the mesh's clusters, comma-separated (c1,c2): "+what+" Clusters are named by the cluster ID their istiod runs with.")
	if flags, ok := o.getter.(*mesh.ConfigFlags); ok {
		completeFlag(c, "contexts", contexts(flags))
	}
}

// multiCluster tells whether --contexts was given.
func (o *clusterOptions) multiCluster() bool { return len(o.contexts) > 0 }

// validateContexts checks --contexts without the cluster: no empty or repeated context, and
// not beside --context, which names one cluster.
func (o *clusterOptions) validateContexts() error {
	if !o.multiCluster() {
		return nil
	}
	if ctx := o.getter.ExplicitContext(); ctx != "" {
		return fmt.Errorf("--context %s and --contexts %s: give --context for one cluster or --contexts for several, not both", ctx, strings.Join(o.contexts, ","))
	}
	for i, name := range o.contexts {
		switch {
		case strings.TrimSpace(name) == "":
			return fmt.Errorf("--contexts %q names an empty context: give kubeconfig contexts separated by commas (c1,c2)", strings.Join(o.contexts, ","))
		case slices.Contains(o.contexts[:i], name):
			return fmt.Errorf("--contexts names context %s twice: name each cluster once", name)
		}
	}
	return nil
}

// connectClusters reaches every cluster of --contexts in parallel and reads its cluster ID.
// Clusters that do not answer are returned apart, each error naming its cluster: a read-only
// command goes on with the others (and says so), a write stops.
func (o *clusterOptions) connectClusters(ctx context.Context) (up []mesh.Cluster, down []error, err error) {
	ns, explicit, err := o.getter.Namespace()
	if err != nil {
		return nil, nil, err
	}
	o.namespace, o.namespaceExplicit = ns, explicit
	for _, c := range mesh.ConnectClusters(ctx, o.getter, o.contexts) {
		switch {
		case c.Err != nil:
			down = append(down, c.Err)
		default:
			if c.Note != "" {
				o.warn(fmt.Sprintf("%s: %s", c, c.Note))
			}
			up = append(up, c)
		}
	}
	if dup := mesh.DuplicateIDs(up); len(dup) > 0 {
		return nil, nil, fmt.Errorf("%s: a multi-cluster mesh needs a distinct cluster ID per cluster (istiod's CLUSTER_ID, values.global.multiCluster.clusterName)", strings.Join(dup, "; "))
	}
	return up, down, nil
}

// readableClusters is connectClusters for read-only commands: the clusters that answered, a
// warning naming each that did not, and an error only when none answered.
func (o *clusterOptions) readableClusters(ctx context.Context) ([]mesh.Cluster, error) {
	up, down, err := o.connectClusters(ctx)
	if err != nil {
		return nil, err
	}
	if len(up) == 0 {
		return nil, joinClusterErrors("no cluster of --contexts answered", down)
	}
	for _, e := range down {
		o.warn(fmt.Sprintf("%s; going on with the other clusters", mesh.Explain(e)))
	}
	return up, nil
}

// writableClusters is connectClusters for commands that write: every cluster must answer,
// since a change made in some clusters only leaves the mesh half-changed.
func (o *clusterOptions) writableClusters(ctx context.Context) ([]mesh.Cluster, error) {
	up, down, err := o.connectClusters(ctx)
	if err != nil {
		return nil, err
	}
	if len(down) > 0 {
		return nil, joinClusterErrors("every cluster must answer before anything is written, and some did not (nothing was changed)", down)
	}
	return up, nil
}

func joinClusterErrors(summary string, errs []error) error {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = "  " + mesh.Explain(e).Error()
	}
	return fmt.Errorf("%s:\n%s", summary, strings.Join(lines, "\n"))
}
