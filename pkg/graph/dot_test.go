package graph

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"

	dotlang "gonum.org/v1/gonum/graph/formats/dot"
	"gonum.org/v1/gonum/graph/formats/dot/ast"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dotcheck"
)

// parsedDOT is what a DOT file says, read by a parser of the DOT language: the graph's
// attributes, its declared nodes and its edges ("from -> to"), every ID unquoted.
type parsedDOT struct {
	attrs map[string]string
	nodes []string
	edges map[string]map[string]string
}

// parseDOT reads -o dot output with gonum's parser of the DOT grammar: one directed graph of
// graph attributes, node statements and single-hop edge statements. No Graphviz needed.
func parseDOT(t *testing.T, src string) parsedDOT {
	t.Helper()
	file, err := dotlang.ParseString(src)
	if err != nil {
		t.Fatalf("-o dot is not DOT: %v\n%s", err, src)
	}
	if len(file.Graphs) != 1 || !file.Graphs[0].Directed {
		t.Fatalf("-o dot: want one digraph, got %d graphs:\n%s", len(file.Graphs), src)
	}
	p := parsedDOT{attrs: map[string]string{}, edges: map[string]map[string]string{}}
	for _, stmt := range file.Graphs[0].Stmts {
		switch s := stmt.(type) {
		case *ast.Attr:
			p.attrs[s.Key] = dotcheck.Unquote(s.Val)
		case *ast.AttrStmt:
		case *ast.NodeStmt:
			p.nodes = append(p.nodes, dotcheck.Unquote(s.Node.ID))
		case *ast.EdgeStmt:
			from, ok := s.From.(*ast.Node)
			if !ok || s.To.To != nil || !s.To.Directed {
				t.Fatalf("-o dot: edge statement %s is not one directed edge between two nodes", s)
			}
			to, ok := s.To.Vertex.(*ast.Node)
			if !ok {
				t.Fatalf("-o dot: edge statement %s does not end at a node", s)
			}
			key := dotcheck.Unquote(from.ID) + " -> " + dotcheck.Unquote(to.ID)
			if p.edges[key] != nil {
				t.Errorf("-o dot: edge %s drawn twice", key)
			}
			attrs := map[string]string{}
			for _, a := range s.Attrs {
				attrs[a.Key] = dotcheck.Unquote(a.Val)
			}
			p.edges[key] = attrs
		default:
			t.Errorf("-o dot: unexpected statement %s", stmt)
		}
	}
	for key := range p.edges {
		from, to, _ := strings.Cut(key, " -> ")
		if !slices.Contains(p.nodes, from) || !slices.Contains(p.nodes, to) {
			t.Errorf("-o dot: edge %s joins a node that is not declared (%q)", key, p.nodes)
		}
	}
	return p
}

// -o dot, read back by a DOT parser, draws exactly the graph's edges between declared nodes:
// each with its label, dashed when not all mTLS, red with the warning as tooltip.
func TestDOTParsesAsTheGraph(t *testing.T) {
	strict := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "default", "namespace": "default"},
		"spec":     map[string]any{"mtls": map[string]any{"mode": "STRICT"}},
	}}
	g := Build(meshSamples(), "5m", "")
	CheckMTLS(g, []*unstructured.Unstructured{strict}, "istio-system")
	var out bytes.Buffer
	if err := Render(&out, g, "dot", Style{}); err != nil {
		t.Fatal(err)
	}
	p := parseDOT(t, out.String())
	if p.attrs["label"] != "Istio traffic, last 5m" || p.attrs["rankdir"] != "LR" {
		t.Errorf("graph attributes %v", p.attrs)
	}
	if want := nodes(g); !slices.Equal(p.nodes, want) {
		t.Errorf("nodes %q, want %q", p.nodes, want)
	}
	if len(p.edges) != len(g.Edges) {
		t.Errorf("%d edges drawn, the graph has %d", len(p.edges), len(g.Edges))
	}
	warned := 0
	for _, e := range g.Edges {
		key := e.Source.Name() + " -> " + e.Destination.Name()
		attrs, ok := p.edges[key]
		if !ok {
			t.Errorf("edge %s not drawn", key)
			continue
		}
		want := map[string]string{"label": edgeLabel(e)}
		if e.MTLS != nil && *e.MTLS < 1 {
			want["style"] = "dashed"
		}
		if e.Warning != "" {
			want["color"], want["tooltip"] = "red", e.Warning
			warned++
		}
		if !maps.Equal(attrs, want) {
			t.Errorf("edge %s: attributes %v, want %v", key, attrs, want)
		}
	}
	if warned == 0 {
		t.Error("no edge carries a warning: the red edges are not covered")
	}
	dotcheck.Render(t, out.String(), "productpage-v1", "Istio traffic, last 5m")
}

// The DOT reader itself: it refuses what is not DOT, and unquotes as DOT does.
func TestParseDOTReadsTheGrammar(t *testing.T) {
	if _, err := dotlang.ParseString("digraph mesh { \"a\" -> ; }"); err == nil {
		t.Error("a dangling edge parsed as DOT")
	}
	p := parseDOT(t, "digraph mesh {\n  \"a \\\"b\\\"\";\n  c;\n  \"a \\\"b\\\"\" -> c [label=\"x\\\ny\"];\n}\n")
	if !slices.Equal(p.nodes, []string{`a "b"`, "c"}) || p.edges[`a "b" -> c`]["label"] != "xy" {
		t.Errorf("parsed %+v", p)
	}
}
