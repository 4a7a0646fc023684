package whatif

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// inClusters is the observed edges of the fixture seen in two clusters: web calls api in both,
// in west from a caller in east.
func inClusters() []Observation {
	var out []Observation
	for _, o := range observed[:1] {
		for _, c := range [][2]string{{"cluster-east", "cluster-east"}, {"cluster-east", "cluster-west"}} {
			o.Source.Cluster, o.Destination.Cluster = c[0], c[1]
			out = append(out, o)
		}
	}
	return out
}

func clusterInputs(t *testing.T, west ...string) []ClusterInput {
	c, p := loadCluster(t, "cluster")
	_, pw := loadCluster(t, "cluster")
	for _, doc := range west {
		pw = policiesWith(pw, objects(t, doc)...)
	}
	return []ClusterInput{{ID: "cluster-east", Context: "east", Cluster: c, Policies: p}, {ID: "cluster-west", Context: "west", Cluster: c, Policies: pw}}
}

const denyWeb = `{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: deny-web, namespace: shop},
  spec: {action: DENY, selector: {matchLabels: {app: api}}, rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]}}`

// A DENY made in both clusters breaks the edge in each, each edge named with its cluster and
// its caller's; the table gains the cluster column, JSON the cluster of both ends.
func TestReplayClustersDecidesEachEdgeByItsDestinationCluster(t *testing.T) {
	r, notes, err := ReplayClusters(clusterInputs(t), Edit{Apply: objects(t, denyWeb)}, inClusters(), time.Now())
	if err != nil || len(notes) > 0 {
		t.Fatal(err, notes)
	}
	var got []string
	for _, e := range r.Edges {
		got = append(got, e.clusterOf()+": "+short(e))
	}
	want := []string{
		"cluster-east: newly-denied shop/web-v1 -> shop/api-v1 http: allowed -> denied, authorizationpolicy shop/deny-web rule 0 at sidecar",
		"cluster-west (from cluster-east): newly-denied shop/web-v1 -> shop/api-v1 http: allowed -> denied, authorizationpolicy shop/deny-web rule 0 at sidecar",
	}
	if !slices.Equal(got, want) {
		t.Errorf("edges:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	report := NewReport("24h", []string{"shop"}, false, MergeSteps(r.Clusters), r.Result)
	report.Clusters = r.Clusters
	var table strings.Builder
	if err := WriteTable(&table, report); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cluster-east (context east): 1 edge replayed", "\nCLUSTER ", "cluster-west (from cluster-east)  newly denied"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table does not say %q:\n%s", want, table.String())
		}
	}
	data, _ := json.Marshal(report)
	for _, want := range []string{`"destination":{"workload":"api-v1","namespace":"shop","service":"api","cluster":"cluster-west"}`, `"clusters":[{"id":"cluster-east","context":"east","replayed":1`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON lacks %s:\n%s", want, data)
		}
	}
}

// A policy west holds and east does not: deleting it changes west's edges only, and east is
// said to have nothing to delete; a policy no cluster holds is an error.
func TestReplayClustersDeleteWhereItIs(t *testing.T) {
	inputs := clusterInputs(t, denyWeb)
	r, notes, err := ReplayClusters(inputs, Edit{Delete: []Ref{{Kind: KindAuthorizationPolicy, Namespace: "shop", Name: "deny-web"}}}, inClusters(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Edges) != 1 || r.Edges[0].Destination.Cluster != "cluster-west" || r.Edges[0].Change != NewlyAllowed {
		t.Errorf("edges %+v, want west's newly allowed", r.Edges)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "cluster cluster-east (context east) has no authorizationpolicy/deny-web") {
		t.Errorf("notes %q", notes)
	}
	_, _, err = ReplayClusters(inputs, Edit{Delete: []Ref{{Kind: KindAuthorizationPolicy, Namespace: "shop", Name: "nope"}}}, inClusters(), time.Now())
	if err == nil || !strings.Contains(err.Error(), "not found in any cluster") {
		t.Errorf("error %v, want not found in any cluster", err)
	}
}

// Edges into a cluster not read, or without a cluster label, are said, not replayed.
func TestReplayClustersSaysWhatEndsElsewhere(t *testing.T) {
	obs := append(inClusters(), observed[0], observed[0])
	obs[len(obs)-1].Destination.Cluster = "cluster-north"
	r, _, err := ReplayClusters(clusterInputs(t), Edit{Apply: objects(t, denyWeb)}, obs, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1 observed edge into cluster cluster-north, which is not among the clusters read",
		"1 observed edge without a destination_cluster label: which cluster's policies decide it is not known",
	}
	if !slices.Equal(r.Elsewhere, want) || r.Replayed != 2 {
		t.Errorf("elsewhere %q, replayed %d", r.Elsewhere, r.Replayed)
	}
}

// One cluster's replay merges what differs by cluster only; InCluster names the cluster of a
// cluster's own Prometheus where telemetry does not.
func TestWithoutAndInClusters(t *testing.T) {
	merged := WithoutClusters(inClusters())
	if len(merged) != 1 || merged[0].Requests != 200 || merged[0].Destination.Cluster != "" {
		t.Errorf("merged %+v", merged)
	}
	named := InCluster(observed[:1], "cluster-east")
	if named[0].Destination.Cluster != "cluster-east" || observed[0].Destination.Cluster != "" {
		t.Errorf("named %+v", named)
	}
}
