package graph

import (
	"bytes"
	"strings"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dotcheck"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// inClusters is a request sample between two clusters' workloads.
func inClusters(s *model.Sample, src, dst string) *model.Sample {
	s.Metric["source_cluster"], s.Metric["destination_cluster"] = model.LabelValue(src), model.LabelValue(dst)
	return s
}

// Each cluster's Prometheus holds its own proxies' reports: productpage in east calls reviews
// v3 in west, which east's Prometheus holds as the caller's report and west's as the
// callee's. Merged, or read from one Prometheus federating both, the call is one edge,
// counted once, marked as crossing clusters.
func TestCrossClusterCallCountedOnce(t *testing.T) {
	reviews3 := end{"default", "reviews-v3", "reviews", "v3"}
	east := &telemetry.Samples{Requests: model.Vector{
		inClusters(req("source", productpage, reviews1, "reviews", "200", "-", "unknown", 6), "east", "east"),
		inClusters(req("destination", productpage, reviews1, "reviews", "200", "-", "mutual_tls", 6), "east", "east"),
		inClusters(req("source", productpage, reviews3, "reviews", "200", "-", "unknown", 4), "east", "west"),
		// Refused before it left east: only the caller saw it.
		inClusters(req("source", productpage, reviews3, "reviews", "503", "UF", "unknown", 1), "east", "west"),
	}}
	west := &telemetry.Samples{Requests: model.Vector{
		inClusters(req("destination", productpage, reviews3, "reviews", "200", "-", "mutual_tls", 4), "east", "west"),
	}}
	perCluster := &telemetry.Samples{}
	perCluster.Merge(east)
	perCluster.Merge(west)
	global := &telemetry.Samples{Requests: append(append(model.Vector{}, east.Requests...), west.Requests...)}
	// Two Prometheus servers that both scraped west (one federating the other): no double count.
	overlapping := &telemetry.Samples{}
	overlapping.Merge(east)
	overlapping.Merge(west)
	overlapping.Merge(west)

	for name, s := range map[string]*telemetry.Samples{"per cluster": perCluster, "global": global, "overlapping": overlapping} {
		g := Build(s, "5m", "")
		if len(g.Edges) != 2 {
			t.Fatalf("%s: want 2 edges, got %d: %+v", name, len(g.Edges), g.Edges)
		}
		var cross *Edge
		for i := range g.Edges {
			if g.Edges[i].CrossCluster {
				cross = &g.Edges[i]
			}
		}
		if cross == nil || cross.Source.Name() != "east/default/productpage-v1" || cross.Destination.Name() != "west/default/reviews-v3" {
			t.Fatalf("%s: no cross-cluster edge east -> west: %+v", name, g.Edges)
		}
		if cross.RPS != 5 || cross.Reporter != "destination" || *cross.MTLS != 1 {
			t.Errorf("%s: cross-cluster edge: rps %v (want 4 received + 1 refused at the caller), reporter %s, mtls %v", name, cross.RPS, cross.Reporter, *cross.MTLS)
		}
		if got := strings.Join(g.ClusterIDs(), ","); got != "east,west" {
			t.Errorf("%s: clusters %s", name, got)
		}
	}
}

func TestOneClusterIsNotNamed(t *testing.T) {
	g := Build(&telemetry.Samples{Requests: model.Vector{
		inClusters(req("destination", productpage, reviews1, "reviews", "200", "-", "mutual_tls", 1), "Kubernetes", "Kubernetes"),
	}}, "5m", "")
	g.Edges[0].Waypoint = "Kubernetes/default/waypoint"
	g.DropClusters()
	if name := g.Edges[0].Source.Name(); name != "default/productpage-v1" || g.Edges[0].Waypoint != "default/waypoint" {
		t.Errorf("a graph of one cluster names %s, through waypoint %s", name, g.Edges[0].Waypoint)
	}
	var out bytes.Buffer
	if err := Render(&out, g, "json", Style{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), `"cluster`) {
		t.Errorf("JSON of one cluster mentions clusters:\n%s", out.String())
	}
}

// DOT and Mermaid draw each cluster as a box of its workloads; JSON names the cluster on both
// ends and lists the clusters with their contexts.
func TestRenderGroupsByCluster(t *testing.T) {
	reviews3 := end{"default", "reviews-v3", "reviews", "v3"}
	g := Build(&telemetry.Samples{Requests: model.Vector{
		inClusters(req("destination", productpage, reviews1, "reviews", "200", "-", "mutual_tls", 1), "east", "east"),
		inClusters(req("destination", productpage, reviews3, "reviews", "200", "-", "mutual_tls", 1), "east", "west"),
		inClusters(req("destination", unknown, reviews3, "reviews", "200", "-", "none", 1), "unknown", "west"),
	}}, "5m", "")
	g.AddClusters([]Cluster{{ID: "east", Context: "ctx-east"}, {ID: "west", Context: "ctx-west"}})

	var dot bytes.Buffer
	if err := Render(&dot, g, "dot", Style{}); err != nil {
		t.Fatal(err)
	}
	dotcheck.Render(t, dot.String())
	for _, want := range []string{`subgraph "cluster_0" {`, `label="east (context ctx-east)";`, `    "west/default/reviews-v3";`, `"east/default/productpage-v1" -> "west/default/reviews-v3" [label="1.00 rps", penwidth=2];`} {
		if !strings.Contains(dot.String(), want) {
			t.Errorf("DOT lacks %q:\n%s", want, dot.String())
		}
	}
	var mermaid bytes.Buffer
	if err := Render(&mermaid, g, "mermaid", Style{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mermaid.String(), `subgraph cluster_1["west (context ctx-west)"]`) || !strings.Contains(mermaid.String(), "==>") {
		t.Errorf("Mermaid does not group by cluster or mark the crossing:\n%s", mermaid.String())
	}
	var js bytes.Buffer
	if err := Render(&js, g, "json", Style{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"cluster": "west"`, `"crossCluster": true`, `"context": "ctx-east"`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON lacks %s:\n%s", want, js.String())
		}
	}
	var table bytes.Buffer
	if err := Render(&table, g, "table", Style{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "east/default/productpage-v1  west/default/reviews-v3") || !strings.Contains(table.String(), "clusters: east (context ctx-east), west (context ctx-west)") {
		t.Errorf("table:\n%s", table.String())
	}
}
