package whatif

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// In a multi-primary mesh each cluster's istiod reads its own cluster's policies, and a
// request is decided where its destination pod runs: an observed edge is replayed against
// the policies of its destination_cluster, with the change made in every cluster.

// ClusterInput is one cluster of a mesh as a replay needs it: the ID telemetry names it by
// (istiod's CLUSTER_ID), its context, and what Replay takes.
type ClusterInput struct {
	ID, Context string
	Cluster     Cluster
	Policies    Policies
	// Note says why nothing of the cluster is replayed (none of the namespaces is in it); ""
	// otherwise.
	Note string
	// Edit, when set, is this cluster's own change instead of the one every cluster is given:
	// lockdown plans each cluster from its own objects.
	Edit *Edit
}

// ClusterStatus is what a report says of each cluster read: how many edges into it were
// replayed and what the change does there (the same objects may be created in one cluster and
// replaced in another).
type ClusterStatus struct {
	ID       string `json:"id"`
	Context  string `json:"context"`
	Replayed int    `json:"replayed"`
	Changes  []Step `json:"changes"`
	Note     string `json:"note,omitempty"`
}

// Name is how people read a cluster: its ID and, when it differs, its context.
func (s ClusterStatus) Name() string { return clusterName(s.ID, s.Context) }

func clusterName(id, context string) string { return istio.Cluster{ID: id, Context: context}.Label() }

// ClustersResult is a replay over several clusters: the edges of all (each with its cluster),
// each cluster's status, and the observed edges that end in no cluster read.
type ClustersResult struct {
	Result
	Clusters []ClusterStatus
	// Elsewhere says which observed edges were not replayed because their destination
	// cluster was not read, one line per cluster.
	Elsewhere []string
}

// ReplayClusters makes edit in every cluster and replays each observed edge against the
// policies of the cluster its destination ran in. A deletion of an object that one cluster
// lacks deletes nothing there (said in Notes); one that no cluster holds is an error.
func ReplayClusters(clusters []ClusterInput, edit Edit, observed []Observation, now time.Time) (ClustersResult, []string, error) {
	var out ClustersResult
	var notes []string
	byCluster := map[string][]Observation{}
	for _, o := range observed {
		byCluster[o.Destination.Cluster] = append(byCluster[o.Destination.Cluster], o)
	}
	found := map[Ref]bool{}
	for _, c := range clusters {
		status := ClusterStatus{ID: c.ID, Context: c.Context, Changes: []Step{}, Note: c.Note}
		own := edit
		if c.Edit != nil {
			own = *c.Edit
		}
		e, missing := c.Policies.deletable(own)
		for _, r := range missing {
			notes = append(notes, fmt.Sprintf("cluster %s has no %s: nothing to delete there", clusterName(c.ID, c.Context), r))
		}
		after, steps, err := c.Policies.With(e, now)
		if err != nil {
			return out, notes, fmt.Errorf("cluster %s: %w", clusterName(c.ID, c.Context), err)
		}
		for _, r := range e.Delete {
			found[r] = true
		}
		if c.Note == "" {
			status.Changes = append(status.Changes, steps...)
			r := Replay(c.Cluster, c.Policies, after, byCluster[c.ID])
			status.Replayed = r.Replayed
			out.Replayed += r.Replayed
			out.Edges = append(out.Edges, r.Edges...)
			for _, u := range r.Unresolved {
				out.Unresolved = append(out.Unresolved, u+" in cluster "+c.ID)
			}
		}
		delete(byCluster, c.ID)
		out.Clusters = append(out.Clusters, status)
	}
	for _, r := range edit.Delete {
		if !found[r] {
			return out, notes, fmt.Errorf("%s not found in any cluster: nothing to delete", r)
		}
	}
	out.Elsewhere = elsewhere(byCluster)
	sortEdges(out.Edges)
	return out, notes, nil
}

// deletable is the edit without the deletions of objects p does not hold, and those.
func (p Policies) deletable(e Edit) (Edit, []Ref) {
	var missing []Ref
	kept := Edit{Apply: e.Apply}
	for _, r := range e.Delete {
		list := p.of(r.Kind)
		if list != nil && !slices.ContainsFunc(*list, func(o *unstructured.Unstructured) bool { return refOf(o) == r }) {
			missing = append(missing, r)
			continue
		}
		kept.Delete = append(kept.Delete, r)
	}
	return kept, missing
}

// elsewhere says, per destination cluster not read, how many observed edges end there.
func elsewhere(byCluster map[string][]Observation) []string {
	var out []string
	for id, list := range byCluster {
		switch id {
		case "":
			out = append(out, fmt.Sprintf("%d observed %s without a destination_cluster label: which cluster's policies decide %s is not known", len(list), plural(len(list), "edge"), map[bool]string{true: "it", false: "them"}[len(list) == 1]))
		default:
			out = append(out, fmt.Sprintf("%d observed %s into cluster %s, which is not among the clusters read", len(list), plural(len(list), "edge"), id))
		}
	}
	slices.Sort(out)
	return out
}

// InCluster names id as the destination cluster of observations that name none: a cluster's
// own Prometheus holds only its proxies' reports, even where telemetry lacks the label.
func InCluster(observed []Observation, id string) []Observation {
	out := slices.Clone(observed)
	for i := range out {
		if out[i].Destination.Cluster == "" {
			out[i].Destination.Cluster = id
		}
	}
	return out
}

// WithoutClusters merges observations that differ only by cluster: one cluster's replay
// reads the mesh as one, as it did before the cluster labels were read.
func WithoutClusters(observed []Observation) []Observation {
	index := map[Observation]int{}
	var out []Observation
	for _, o := range observed {
		key := o
		key.Source.Cluster, key.Destination.Cluster, key.Requests, key.Refused = "", "", 0, 0
		i, seen := index[key]
		if !seen {
			i = len(out)
			index[key] = i
			out = append(out, key)
		}
		out[i].Requests += o.Requests
		out[i].Refused += o.Refused
	}
	return out
}

// MergeSteps are the changes of every cluster, each once, in the first cluster's order.
func MergeSteps(clusters []ClusterStatus) []Step {
	out := []Step{}
	for _, c := range clusters {
		for _, s := range c.Changes {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// clusterOf names an edge's cluster for a table: where it was decided, and where its caller
// ran when that differs.
func (e Edge) clusterOf() string {
	c := e.Destination.Cluster
	if s := e.Source.Cluster; s != "" && s != c {
		return strings.Join([]string{c, "(from " + s + ")"}, " ")
	}
	return c
}
