package cmd

import (
	"cmp"
	"context"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/graph"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/traces"
)

// tracesPerService is how many of each service's most recent traces --traces reads.
const tracesPerService = 200

// attachTraces sets each edge's slowest trace in the window: Jaeger is asked for the traces
// of the services at the edges' ends (one query each, in parallel), and each hop is matched
// to its edge by canonical service.
func (o *GraphOptions) attachTraces(ctx context.Context, g *graph.Graph, at time.Time) error {
	if o.jaeger == nil {
		jaeger, err := o.jaegerLocator(o.JaegerURL).Locate(ctx)
		if err != nil {
			return err
		}
		o.jaeger = jaeger
	}
	known, err := o.jaeger.Services(ctx)
	if err != nil {
		return err
	}
	var edges []traces.Edge
	for _, e := range g.Edges {
		edges = append(edges, traces.Edge{From: canonical(e.Source), To: canonical(e.Destination)})
	}
	window, _ := model.ParseDuration(o.Window)
	all, err := o.jaeger.TracesOf(ctx, servicesOf(known, edges), at.Add(-time.Duration(window)), at, tracesPerService)
	if err != nil {
		return err
	}
	slowest := traces.SlowestPerEdge(all)
	for i, e := range g.Edges {
		versioned := traces.Edge{From: withRevision(e.Source), To: withRevision(e.Destination)}
		g.Edges[i].SlowestTrace = cmp.Or(slowest[versioned], slowest[edges[i]])
	}
	return nil
}

// withRevision is canonical(w) with its version, as istio.canonical_revision names it.
func withRevision(w graph.Workload) traces.Workload {
	c := canonical(w)
	if w.Version != "unknown" {
		c.Revision = w.Version
	}
	return c
}
