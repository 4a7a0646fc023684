package cmd

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/why"
)

// runClusters is why over the clusters of --contexts: the request along every path it may
// take between them (the caller's routes from its cluster, the policies of the cluster whose
// pods serve it), each under a heading naming its clusters, and where their verdicts differ.
// A cluster that does not answer, or cannot be read, is named and left out.
func (o *WhyOptions) runClusters(ctx context.Context) error {
	clusters, err := o.readableClusters(ctx)
	if err != nil {
		return err
	}
	if err := o.resolveArgs(); err != nil {
		return err
	}
	inputs := o.readWhyClusters(ctx, clusters)
	if len(inputs) == 0 {
		return fmt.Errorf("no cluster of --contexts could be read: see the warnings above")
	}
	req := o.request(inputs)
	for i := range inputs {
		inputs[i].Input.Request = req
	}
	if o.prom.given() {
		// Said, not silently dropped: the edge's telemetry is read with one cluster only.
		o.warn("with --contexts, what Prometheus saw of the edge is not shown: --prometheus-url is not read")
	}
	report := why.ExplainClusters(inputs)
	if len(report.Paths) == 0 {
		return noPathError(inputs)
	}
	if o.Output != "table" {
		return output.PrintValue(o.streams.Out, o.Output, report)
	}
	return why.WriteClustersText(o.streams.Out, report, req)
}

// readWhyClusters reads every cluster at once; one that fails is named and left out.
func (o *WhyOptions) readWhyClusters(ctx context.Context, clusters []mesh.Cluster) []why.ClusterInput {
	inputs := make([]why.ClusterInput, len(clusters))
	warnings := make([][]string, len(clusters))
	errs := make([]error, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		wg.Go(func() { inputs[i], warnings[i], errs[i] = c.Clients.ReadWhyCluster(ctx, o.query) })
	}
	wg.Wait()
	var out []why.ClusterInput
	for i, c := range clusters {
		for _, w := range warnings[i] {
			o.warn(fmt.Sprintf("%s: %s", c, w))
		}
		if errs[i] != nil {
			o.warn(fmt.Sprintf("%s: %v; going on with the other clusters", c, mesh.Explain(errs[i])))
			continue
		}
		inputs[i].ClusterRef = why.ClusterRef{ID: c.ID, Context: c.Context}
		out = append(out, inputs[i])
	}
	return out
}

// request is the request of the flags, on the destination Service's first port when --port
// is not given (the first cluster's that holds the Service: namespace sameness makes them one).
func (o *WhyOptions) request(inputs []why.ClusterInput) why.Request {
	req := why.Request{Method: o.Method, Path: o.Path, Port: o.Port}
	for _, in := range inputs {
		if svc := in.Input.Service; req.Port == 0 && svc != nil && len(svc.Spec.Ports) > 0 {
			req.Port = int(svc.Spec.Ports[0].Port)
		}
	}
	return req
}

// noPathError says, per cluster, which end it lacks: no cluster runs the caller, or none
// holds the destination.
func noPathError(inputs []why.ClusterInput) error {
	lines := make([]string, len(inputs))
	for i, in := range inputs {
		var lacks []string
		if in.NoSource != "" {
			lacks = append(lacks, "SOURCE: "+in.NoSource)
		}
		if in.NoDestination != "" {
			lacks = append(lacks, "DESTINATION: "+in.NoDestination)
		}
		if len(lacks) == 0 {
			lacks = []string{"runs the caller, but the destination's pods are in none of the clusters read"}
		}
		lines[i] = fmt.Sprintf("  cluster %s: %s", in.Name(), strings.Join(lacks, "; "))
	}
	return fmt.Errorf("no cluster of --contexts both runs the caller and reaches the destination:\n%s", strings.Join(lines, "\n"))
}
