package lockdown

import (
	"slices"
	"strings"
	"testing"
)

// The same edge seen in two clusters is one edge with the rates added; other edges stay
// apart, in the order first seen.
func TestMergeObservations(t *testing.T) {
	frontend := Observation{DestinationApp: "reviews", DestinationVersion: "v1", SourcePrincipal: "cluster.local/ns/shop/sa/frontend", SourceNamespace: "shop", SourceWorkload: "frontend", MTLS: true, Protocol: "http"}
	east, west := frontend, frontend
	east.Rate, east.Requests = 1, 100
	west.Rate, west.Requests = 2, 200
	// A caller in west calling into east: east's destination report names it.
	crossCluster := Observation{DestinationApp: "ratings", SourcePrincipal: "cluster.local/ns/shop/sa/reviews", SourceNamespace: "shop", MTLS: true, Protocol: "http", Rate: 0.5}
	got := MergeObservations([]Observation{east, crossCluster}, []Observation{west})
	merged := frontend
	merged.Rate, merged.Requests = 3, 300
	if want := []Observation{merged, crossCluster}; !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestStatusDifferences(t *testing.T) {
	east := Status{Namespace: "shop", MeshMTLS: "PERMISSIVE", NamespaceMTLS: "STRICT", LockedDown: true, Workloads: []WorkloadStatus{
		{Workload: "reviews-v1", MTLS: "STRICT", Authorization: "allow from cluster.local/ns/shop/sa/productpage"},
		{Workload: "ratings-v1", MTLS: "STRICT", Authorization: "deny all"},
	}}
	west := Status{Namespace: "shop", MeshMTLS: "PERMISSIVE", Workloads: []WorkloadStatus{
		{Workload: "reviews-v1", MTLS: "PERMISSIVE", Authorization: "allow all (no ALLOW policy)"},
		{Workload: "ratings-v1", MTLS: "PERMISSIVE", Authorization: "deny all"},
		{Workload: "reviews-v3", MTLS: "PERMISSIVE", Authorization: "allow all (no ALLOW policy)"},
	}}
	clusters := []ClusterStatus{{Cluster: "cluster-east", Context: "east", Status: east}, {Cluster: "cluster-west", Context: "west", Status: west}}
	want := []string{
		"locked down: yes in cluster-east; no in cluster-west",
		"namespace mTLS: STRICT in cluster-east; not set in cluster-west",
		"mTLS of every workload: STRICT in cluster-east; PERMISSIVE in cluster-west",
		"authorization of reviews-v1: allow from cluster.local/ns/shop/sa/productpage in cluster-east; allow all (no ALLOW policy) in cluster-west",
		"reviews-v3 runs in cluster-west only",
	}
	if got := StatusDifferences(clusters); !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := StatusDifferences([]ClusterStatus{clusters[0], clusters[0]}); len(got) != 0 {
		t.Errorf("the same status differs: %v", got)
	}
	var b strings.Builder
	if err := WriteClusterStatuses(&b, []ClusterStatus{clusters[0], clusters[0]}, func(c ClusterStatus) string { return "==> " + c.Cluster + " <==" }); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "==> cluster-east <==\nnamespace shop\n") || !strings.HasSuffix(b.String(), "\nthe 2 clusters agree\n") {
		t.Errorf("output:\n%s", b.String())
	}
}

// An edge is shown in the plan of the cluster where its destination runs; one into a workload
// that runs nowhere, once.
func TestLocalVerdicts(t *testing.T) {
	v2 := Observation{DestinationApp: "reviews", DestinationVersion: "v2", SourcePrincipal: "cluster.local/ns/shop/sa/productpage", MTLS: true, Protocol: "http"}
	gone := Observation{DestinationApp: "legacy", MTLS: true, Protocol: "http"}
	east := &Plan{Observed: []Verdict{{Observation: v2, Workload: "reviews-v2", Allowed: true, Why: "allowed: seen in traffic"}, {Observation: gone, Workload: "legacy", Why: notCovered}}}
	west := &Plan{Observed: []Verdict{{Observation: v2, Workload: "reviews", Why: notCovered}, {Observation: gone, Workload: "legacy", Why: notCovered}}}
	LocalVerdicts([]*Plan{east, west})
	if len(east.Observed) != 2 || len(west.Observed) != 0 {
		t.Errorf("east shows %+v\nwest shows %+v", east.Observed, west.Observed)
	}
}
