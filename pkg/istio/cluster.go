package istio

import "cmp"

// Cluster names one cluster of a multi-cluster mesh: the cluster ID its istiod runs with
// (CLUSTER_ID, which telemetry carries as source_cluster and destination_cluster) and the
// kubeconfig context it was reached by ("" when only telemetry named it).
type Cluster struct {
	ID      string `json:"id,omitempty"`
	Context string `json:"context,omitempty"`
}

// Name is the cluster's ID, else its context: the short name a table shows.
func (c Cluster) Name() string { return cmp.Or(c.ID, c.Context) }

// Label is the ID and, when it differs, the context: "cluster-east (context east)".
func (c Cluster) Label() string {
	if c.Context == "" || c.ID == "" || c.ID == c.Context {
		return c.Name()
	}
	return c.ID + " (context " + c.Context + ")"
}

// String names the cluster in a sentence: "cluster cluster-east (context east)".
func (c Cluster) String() string { return "cluster " + c.Label() }
