package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/graph"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/traces"
)

// check judges the propagation of every HTTP edge with traffic in the window.
func (o *TracesOptions) check(ctx context.Context, jaeger *telemetry.Jaeger, known []string, from, to time.Time) error {
	edges, source, err := o.promEdges(ctx, to)
	if err != nil {
		return err
	}
	edges = ofService(edges, o.Service) // before Jaeger is asked: only their ends' spans are read
	if source == "prometheus" && len(edges) == 0 {
		o.warn(fmt.Sprintf("Prometheus shows no HTTP traffic of %s in the last %s: judging the edges the traces show", o.subject(), o.Window))
		source = "traces"
	}
	services := traces.ServicesToQuery(known, "", o.namespace)
	if source == "prometheus" {
		services = servicesOf(known, edges)
	}
	all, err := jaeger.TracesOf(ctx, services, from, to, o.Limit)
	if err != nil {
		return err
	}
	if source == "traces" {
		edges = inNamespace(traces.EdgesOf(all), o.namespace)
	}
	edges = ofService(edges, o.Service)
	if len(edges) == 0 {
		return fmt.Errorf("no HTTP edge with traffic in the last %s (%s): nothing to check", o.Window, o.subject())
	}
	report := traces.CheckReport{Window: o.Window, Edges: source, Hops: traces.Check(edges, all)}
	if o.Output != "table" {
		err = output.PrintValue(o.streams.Out, o.Output, report)
	} else {
		err = traces.WriteVerdicts(o.streams.Out, report)
	}
	if err != nil {
		return err
	}
	return o.failOn(report.Hops)
}

// failOn is --fail-on drops: an error when a hop drops the trace context, wholly or in part,
// so that CI can stop on it as on doctor's findings.
func (o *TracesOptions) failOn(hops []traces.Verdict) error {
	if o.FailOn != "drops" {
		return nil
	}
	dropping := 0
	for _, v := range hops {
		if v.State == traces.Drops || v.State == traces.PartlyDrops {
			dropping++
		}
	}
	if dropping > 0 {
		return fmt.Errorf("%d of %d hops drop trace context (--fail-on drops)", dropping, len(hops))
	}
	return nil
}

// ofService keeps the edges into or out of service ("": every edge): traces SERVICE --check
// judges that service's calls and its callers'.
func ofService(edges []traces.Edge, service string) []traces.Edge {
	return touching(edges, service, func(w traces.Workload) string { return w.Service })
}

// touching keeps the edges one of whose ends has value as field says ("": every edge).
func touching(edges []traces.Edge, value string, field func(traces.Workload) string) []traces.Edge {
	if value == "" {
		return edges
	}
	var out []traces.Edge
	for _, e := range edges {
		if field(e.From) == value || field(e.To) == value {
			out = append(out, e)
		}
	}
	return out
}

// promEdges are the HTTP edges with traffic that graph shows for the namespace, as canonical
// services (the app label, else the workload) and revisions (the version label), so that
// each version of a caller is judged on its own, as graph shows it. Without a Prometheus to
// ask, the edges come from the traces themselves ("traces"), which cannot show a hop whose
// caller left no span.
func (o *TracesOptions) promEdges(ctx context.Context, at time.Time) ([]traces.Edge, string, error) {
	prom, err := o.locator("").Locate(ctx)
	if err != nil {
		if o.prom.given() {
			return nil, "", err
		}
		o.warn(fmt.Sprintf("%v: judging the edges the traces show, which cannot show a hop whose caller left no span", mesh.Explain(err)))
		return nil, "traces", nil
	}
	samples, err := prom.Fetch(ctx, o.Window, telemetry.Scope{Namespace: o.namespace}, at)
	if err != nil {
		return nil, "", err
	}
	seen := map[traces.Edge]bool{}
	var edges []traces.Edge
	for _, e := range graph.Build(samples, o.Window, o.namespace).Edges {
		if e.RPS <= 0 || e.Source.Name() == "unknown" || (e.Protocol != "http" && e.Protocol != "grpc") {
			continue
		}
		edge := traces.Edge{From: withRevision(e.Source), To: withRevision(e.Destination)}
		if !seen[edge] {
			seen[edge] = true
			edges = append(edges, edge)
		}
	}
	return edges, "prometheus", nil
}

// canonical is Istio's canonical service of a workload as the metrics label it: its app
// label, else the workload's name.
func canonical(w graph.Workload) traces.Workload {
	if w.App != "" && w.App != "unknown" {
		return traces.Workload{Service: w.App, Namespace: w.Namespace}
	}
	return traces.Workload{Service: w.Workload, Namespace: w.Namespace}
}

// servicesOf are the Jaeger services that hold the spans of the edges' ends.
func servicesOf(known []string, edges []traces.Edge) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range edges {
		for _, w := range []traces.Workload{e.From, e.To} {
			for _, name := range traces.ServicesToQuery(known, w.Service, w.Namespace) {
				if !seen[name] {
					seen[name] = true
					out = append(out, name)
				}
			}
		}
	}
	return out
}

func inNamespace(edges []traces.Edge, namespace string) []traces.Edge {
	return touching(edges, namespace, func(w traces.Workload) string { return w.Namespace })
}
