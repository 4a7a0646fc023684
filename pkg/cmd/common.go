package cmd

import (
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// clusterOptions is what every cluster-facing command shares: where to find the cluster,
// which namespace to work in, and where to print.
type clusterOptions struct {
	getter  mesh.ClientGetter
	streams genericiooptions.IOStreams

	namespace         string
	namespaceExplicit bool // -n was given
	clients           *mesh.Clients
}

// completeCluster resolves the namespace and builds clients. It sends no request.
func (o *clusterOptions) completeCluster() error {
	ns, explicit, err := o.getter.Namespace()
	if err != nil {
		return err
	}
	// Kept even when the clients cannot be built: graph still honours -n without a cluster.
	o.namespace, o.namespaceExplicit = ns, explicit
	o.clients, err = o.getter.Clients()
	return err
}

// addDryRunFlag registers kubectl's --dry-run: a bare --dry-run means client.
func addDryRunFlag(fs *pflag.FlagSet, value *string) {
	fs.StringVar(value, "dry-run", "none", `"none" writes; "client" prints what would be written; "server" has the API server check the writes without persisting them.`)
	fs.Lookup("dry-run").NoOptDefVal = string(mesh.DryRunClient)
}
