//go:build e2e

package sandbox_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	dotlang "gonum.org/v1/gonum/graph/formats/dot"
	"gonum.org/v1/gonum/graph/formats/dot/ast"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dotcheck"
)

// checkDOT reads graph -o dot with a parser of the DOT language (gonum's, no Graphviz needed)
// and holds it to the -o json graph of the same instant: the same edges, each between declared
// nodes, labelled with its rate, dashed when not all mTLS, red when it carries a warning. Where
// Graphviz is installed it also renders it.
func checkDOT(t *testing.T, src string, g graphJSON) {
	t.Helper()
	file, err := dotlang.ParseString(src)
	if err != nil {
		t.Fatalf("-o dot is not DOT: %v\n%s", err, src)
	}
	if len(file.Graphs) != 1 || !file.Graphs[0].Directed {
		t.Fatalf("-o dot: want one digraph, got %d graphs:\n%s", len(file.Graphs), src)
	}
	var nodes []string
	edges := map[string]map[string]string{}
	for _, stmt := range file.Graphs[0].Stmts {
		switch s := stmt.(type) {
		case *ast.NodeStmt:
			nodes = append(nodes, dotcheck.Unquote(s.Node.ID))
		case *ast.EdgeStmt:
			from, _ := s.From.(*ast.Node)
			to, _ := s.To.Vertex.(*ast.Node)
			if from == nil || to == nil || s.To.To != nil || !s.To.Directed {
				t.Fatalf("-o dot: %s is not one directed edge between two nodes", s)
			}
			attrs := map[string]string{}
			for _, a := range s.Attrs {
				attrs[a.Key] = dotcheck.Unquote(a.Val)
			}
			edges[dotcheck.Unquote(from.ID)+" -> "+dotcheck.Unquote(to.ID)] = attrs
		}
	}
	if len(edges) != len(g.Edges) {
		t.Errorf("-o dot draws %d edges, -o json has %d:\n%s", len(edges), len(g.Edges), src)
	}
	for _, e := range g.Edges {
		from := nodeName(e.Source.Namespace, e.Source.Workload, e.Source.Service)
		to := nodeName(e.Destination.Namespace, e.Destination.Workload, e.Destination.Service)
		attrs, ok := edges[from+" -> "+to]
		switch {
		case !ok:
			t.Errorf("-o dot: no edge %s -> %s", from, to)
			continue
		case !slices.Contains(nodes, from) || !slices.Contains(nodes, to):
			t.Errorf("-o dot: edge %s -> %s joins an undeclared node (%q)", from, to, nodes)
		case e.Protocol != "tcp" && !strings.HasPrefix(attrs["label"], fmt.Sprintf("%.2f rps", e.RPS)):
			t.Errorf("-o dot: edge %s -> %s labelled %q, -o json says %.2f rps", from, to, attrs["label"], e.RPS)
		case e.Protocol == "tcp" && !strings.HasSuffix(attrs["label"], "/s"):
			t.Errorf("-o dot: TCP edge %s -> %s labelled %q, want bytes/s", from, to, attrs["label"])
		}
		if dashed := e.MTLS != nil && *e.MTLS < 1; dashed != (attrs["style"] == "dashed") {
			t.Errorf("-o dot: edge %s -> %s style %q, dashed %v in -o json", from, to, attrs["style"], dashed)
		}
		if (e.Warning != "") != (attrs["color"] == "red") || attrs["tooltip"] != e.Warning {
			t.Errorf("-o dot: edge %s -> %s color %q tooltip %q, warning %q", from, to, attrs["color"], attrs["tooltip"], e.Warning)
		}
	}
	dotcheck.Render(t, src, "productpage")
}

// nodeName names a graph node as the plugin does: the workload, else the service, else unknown.
func nodeName(namespace, workload, service string) string {
	switch {
	case workload != "" && workload != "unknown":
		return namespace + "/" + workload
	case service != "" && service != "unknown":
		return service
	}
	return "unknown"
}
