//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The documented roles are enough for graph --contexts: a user bound to the graph's role in
// each cluster, and to kubectl-mesh-cluster-id in istio-system of east only, sees east named by
// its istiod's cluster ID and west by its context, with a line saying why; a context that
// does not answer is named and the others are drawn.
func TestGraphContextsWithDocumentedRoles(t *testing.T) {
	m := meshOfTwo(t)
	rbac, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m.East.apply(t, string(rbac)+"\n---\n"+binding("viewer", "kubectl-mesh-graph", "")+"\n---\n"+binding("viewer", "kubectl-mesh-cluster-id", "istio-system"))
	m.West.apply(t, string(rbac)+"\n---\n"+binding("viewer", "kubectl-mesh-graph", ""))
	prom := newAmbientPrometheus(t) // answers every query empty, and holds Istio's metrics

	r := m.mesh(t, "mesh", "graph", "-A", "--contexts", "east-viewer,west-viewer,"+goneContext, "--prometheus-url", prom.URL, "-o", "json")
	var g struct {
		Clusters []struct{ ID, Context string } `json:"clusters"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &g) != nil {
		t.Fatalf("graph --contexts as viewer:\n%s", r)
	}
	if len(g.Clusters) != 2 || g.Clusters[0].ID != eastID || g.Clusters[0].Context != "east-viewer" || g.Clusters[1].ID != "west-viewer" {
		t.Errorf("clusters: %+v", g.Clusters)
	}
	for _, want := range []string{
		"cluster west-viewer: you may not list deployments in istio-system: named by its context",
		"cluster " + goneContext + ": ",
		"going on with the other clusters",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "goroutine ") {
		t.Errorf("a stack trace:\n%s", r)
	}

	// --context and --contexts together: refused before anything is read.
	both := m.mesh(t, "mesh", "graph", "-A", "--context", "east", "--contexts", "east,west", "--prometheus-url", prom.URL)
	if both.code != 1 || !strings.Contains(both.stderr, "give --context for one cluster or --contexts for several, not both") {
		t.Errorf("--context with --contexts:\n%s", both)
	}
}

// doctor --contexts compares routes, policies and gateways between clusters: its documented
// role lets it read all of them, so no check is skipped for want of a right.
func TestDoctorContextsWithDocumentedRoles(t *testing.T) {
	m := meshOfTwo(t)
	rbac, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m.both(t, "binding doctor's role", func(c *meshCluster) error {
		c.apply(t, string(rbac)+"\n---\n"+binding("auditor", "kubectl-mesh-doctor", "")+"\n---\n"+binding("auditor", "kubectl-mesh-cluster-id", "istio-system"))
		return nil
	})
	r := m.mesh(t, "mesh", "doctor", "-A", "--contexts", "east-auditor,west-auditor", "-o", "json")
	if strings.Contains(r.stderr, "may not") || strings.Contains(r.stderr, "forbidden") {
		t.Errorf("doctor --contexts with its documented role was refused something:\n%s", r)
	}
	if !strings.Contains(r.stdout, `"id": "`+eastID+`"`) || !strings.Contains(r.stdout, `"id": "`+westID+`"`) {
		t.Errorf("doctor --contexts does not name both clusters by ID:\n%s", r)
	}
}
