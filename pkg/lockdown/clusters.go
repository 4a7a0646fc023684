package lockdown

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// MergeObservations is the traffic seen into a namespace across the clusters of a mesh, one
// observation per edge: the same caller reaching the same workload in several clusters (a
// namespace is the same namespace in every cluster) adds its rates and counts. Each cluster's
// plan keeps every caller seen in any cluster, so that a caller served by east today is not
// denied by west tomorrow when traffic fails over.
func MergeObservations(lists ...[]Observation) []Observation {
	var out []Observation
	index := map[Observation]int{}
	for _, list := range lists {
		for _, o := range list {
			key := o
			key.Rate, key.Requests = 0, 0
			if i, ok := index[key]; ok {
				out[i].Rate += o.Rate
				out[i].Requests += o.Requests
				continue
			}
			index[key] = len(out)
			out = append(out, o)
		}
	}
	return out
}

// LocalVerdicts leaves in each cluster's plan the observed edges into the workloads that run
// there: every cluster keeps the callers seen in any, but an edge is shown where its
// destination runs, not as "no running workload" in the clusters where it does not. An edge
// into a workload that runs in no cluster is shown once, in the first plan.
func LocalVerdicts(plans []*Plan) {
	covered := map[Observation]bool{}
	for _, p := range plans {
		for _, v := range p.Observed {
			if v.Why != notCovered {
				covered[v.Observation] = true
			}
		}
	}
	shown := map[Observation]bool{}
	for _, p := range plans {
		var kept []Verdict
		for _, v := range p.Observed {
			if v.Why == notCovered {
				if covered[v.Observation] || shown[v.Observation] {
					continue
				}
				shown[v.Observation] = true
			}
			kept = append(kept, v)
		}
		p.Observed = kept
	}
}

// ClusterStatus is one cluster's status of a namespace, named as Istio and kubeconfig name
// the cluster.
type ClusterStatus struct {
	Cluster string `json:"cluster"` // the cluster ID istiod runs with
	Context string `json:"context"`
	Status  Status `json:"status"`
}

// StatusDifferences says where the clusters' statuses of one namespace differ: a namespace
// locked down in some clusters only, mTLS modes, mesh-wide policy, and for the workloads that
// run in every cluster their mTLS mode and who may call them (workloads that differ alike are
// said in one line); last, the workloads that run in some clusters only (their allow-lists are
// not compared). None when the clusters agree.
func StatusDifferences(clusters []ClusterStatus) []string {
	if len(clusters) < 2 {
		return nil
	}
	var out []string
	add := func(what string, value func(s Status) string) {
		if d := differ(clusters, value); d != "" {
			out = append(out, what+": "+d)
		}
	}
	add("locked down", func(s Status) string { return map[bool]string{true: "yes", false: "no"}[s.LockedDown] })
	add("mesh mTLS", func(s Status) string { return s.MeshMTLS })
	add("namespace mTLS", func(s Status) string { return cmp.Or(s.NamespaceMTLS, "not set") })
	add("mesh policies", func(s Status) string { return cmp.Or(strings.Join(s.MeshPolicies, ", "), "none") })
	var shared, only []string
	for _, name := range workloadNames(clusters) {
		var in []string
		for _, c := range clusters {
			if _, ok := workloadStatus(c.Status, name); ok {
				in = append(in, c.Cluster)
			}
		}
		if len(in) < len(clusters) {
			only = append(only, fmt.Sprintf("%s runs in %s only", name, strings.Join(in, ", ")))
		} else {
			shared = append(shared, name)
		}
	}
	out = append(out, workloadDifferences(clusters, shared, "mTLS", func(w WorkloadStatus) string { return w.MTLS })...)
	out = append(out, workloadDifferences(clusters, shared, "authorization", func(w WorkloadStatus) string { return w.Authorization })...)
	return append(out, only...)
}

// workloadDifferences says, for the workloads of every cluster, where one property differs:
// "mTLS of every workload: STRICT in c1; PERMISSIVE in c2", or one line per way it differs,
// naming the workloads that differ so.
func workloadDifferences(clusters []ClusterStatus, names []string, what string, value func(WorkloadStatus) string) []string {
	var ways []string
	who := map[string][]string{}
	for _, name := range names {
		d := differ(clusters, func(s Status) string { w, _ := workloadStatus(s, name); return value(w) })
		if d == "" {
			continue
		}
		if _, ok := who[d]; !ok {
			ways = append(ways, d)
		}
		who[d] = append(who[d], name)
	}
	out := make([]string, len(ways))
	for i, d := range ways {
		subject := strings.Join(who[d], ", ")
		if len(who[d]) == len(names) && len(names) > 1 {
			subject = "every workload"
		}
		out[i] = fmt.Sprintf("%s of %s: %s", what, subject, d)
	}
	return out
}

// differ is "STRICT in c1, c3; PERMISSIVE in c2" when the clusters' values differ, else "".
func differ(clusters []ClusterStatus, value func(Status) string) string {
	var values []string
	in := map[string][]string{}
	for _, c := range clusters {
		v := value(c.Status)
		if _, ok := in[v]; !ok {
			values = append(values, v)
		}
		in[v] = append(in[v], c.Cluster)
	}
	if len(values) < 2 {
		return ""
	}
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprintf("%s in %s", v, strings.Join(in[v], ", "))
	}
	return strings.Join(parts, "; ")
}

// workloadNames are the workloads of every cluster, each once, in the order first seen.
func workloadNames(clusters []ClusterStatus) []string {
	var names []string
	for _, c := range clusters {
		for _, w := range c.Status.Workloads {
			if !slices.Contains(names, w.Workload) {
				names = append(names, w.Workload)
			}
		}
	}
	return names
}

func workloadStatus(s Status, name string) (WorkloadStatus, bool) {
	i := slices.IndexFunc(s.Workloads, func(w WorkloadStatus) bool { return w.Workload == name })
	if i < 0 {
		return WorkloadStatus{}, false
	}
	return s.Workloads[i], true
}

// WriteClusterStatuses prints each cluster's status under a heading naming it, then where
// the clusters differ.
func WriteClusterStatuses(w io.Writer, clusters []ClusterStatus, heading func(ClusterStatus) string) error {
	for i, c := range clusters {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, heading(c))
		if err := WriteStatus(w, c.Status); err != nil {
			return err
		}
	}
	if len(clusters) < 2 {
		return nil
	}
	differences := StatusDifferences(clusters)
	if len(differences) == 0 {
		_, err := fmt.Fprintf(w, "\nthe %d clusters agree\n", len(clusters))
		return err
	}
	fmt.Fprintf(w, "\nthe clusters differ:\n")
	for _, d := range differences {
		fmt.Fprintf(w, "  %s\n", d)
	}
	return nil
}
