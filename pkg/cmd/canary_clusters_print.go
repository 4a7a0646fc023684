package cmd

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/canary"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// canaryClustersStatus is the status over several clusters for -o json|yaml: each cluster's
// status, and whether their routes agree.
type canaryClustersStatus struct {
	Service     string                `json:"service"`
	Namespace   string                `json:"namespace"`
	Agree       bool                  `json:"agree"`
	Differences []string              `json:"differences"`
	Clusters    []canaryClusterStatus `json:"clusters"`
}

// canaryClusterStatus is one cluster's status; Error says why it has none.
type canaryClusterStatus struct {
	Cluster mesh.Cluster         `json:"cluster"`
	Error   string               `json:"error,omitempty"`
	Status  *canary.StatusReport `json:"status,omitempty"`
}

// clustersStatus prints, per cluster, where the service's traffic goes, and whether the
// clusters agree. Read-only: a cluster that does not answer is named and skipped.
func (o *CanaryOptions) clustersStatus(ctx context.Context) error {
	clusters, err := o.readableClusters(ctx)
	if err != nil {
		return err
	}
	if err := o.parseService(); err != nil {
		return err
	}
	parts, errs := o.readClusters(ctx, clusters)
	report := canaryClustersStatus{Service: o.service.Name, Namespace: o.service.Namespace, Differences: []string{}}
	var read []*clusterCanary
	for i, p := range parts {
		o.warn(canaryClusterWarnings(p.Cluster, p.warnings)...)
		entry := canaryClusterStatus{Cluster: p.Cluster}
		if errs[i] == nil {
			// Each cluster's own pods: what is ready where.
			p.plan, errs[i] = canary.Compute(p.in, canary.Request{Route: o.Request.Route})
		}
		if errs[i] != nil {
			entry.Error = errs[i].Error()
		} else {
			o.warn(canaryClusterWarnings(p.Cluster, p.plan.Warnings)...)
			read = append(read, p)
		}
		report.Clusters = append(report.Clusters, entry)
	}
	if len(read) == 0 {
		return joinClusterErrors(fmt.Sprintf("%s: no cluster's status could be read", o.service), errs)
	}
	o.clustersLive(ctx, read)
	for i, p := range parts {
		if errs[i] == nil {
			status := p.plan.Report(p.live)
			report.Clusters[i].Status = &status
		}
	}
	if diff := o.differences(read); len(diff) > 0 {
		report.Differences = diff
	}
	// Agreement is of every cluster of --contexts: one not read may differ.
	report.Agree = len(report.Differences) == 0 && len(read) == len(o.contexts)
	switch o.Output {
	case output.JSON, output.YAML:
		return output.PrintValue(o.streams.Out, o.Output, report)
	case output.Name:
		return o.printClusterRoutes(read)
	}
	return o.writeClustersStatus(parts, errs, report)
}

// writeClustersStatus prints each cluster's status table, then whether they agree.
func (o *CanaryOptions) writeClustersStatus(parts []*clusterCanary, errs []error, report canaryClustersStatus) error {
	w := o.streams.Out
	for i, p := range parts {
		fmt.Fprintf(w, "%s:\n", p.Cluster)
		if errs[i] != nil {
			fmt.Fprintf(w, "  %v\n\n", errs[i])
			continue
		}
		var b bytes.Buffer
		if err := canary.WriteStatus(&b, p.plan, p.live); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\n", canaryIndent(strings.TrimSuffix(b.String(), "\n")))
		fmt.Fprintln(w)
	}
	switch {
	case len(report.Differences) > 0:
		fmt.Fprintf(w, "the clusters differ (a step refuses until they agree, or with --force steps each from its own route):\n  %s\n", strings.Join(report.Differences, "\n  "))
	case !report.Agree:
		fmt.Fprintf(w, "%d of the %d clusters could be read, and those agree; whether the others do is not known\n", len(parts)-len(canaryFailures(errs)), len(o.contexts))
	default:
		fmt.Fprintf(w, "the %d clusters agree\n", len(parts))
	}
	return nil
}

// printClusterRoutes is -o name over several clusters: each cluster's route, by cluster ID.
func (o *CanaryOptions) printClusterRoutes(parts []*clusterCanary) error {
	for _, p := range parts {
		if p.plan.Route == nil {
			fmt.Fprintf(o.streams.ErrOut, "%s: %s: no VirtualService or HTTPRoute routes it\n", p.Cluster, o.service)
			continue
		}
		var b bytes.Buffer
		obj := output.Object{GVK: p.plan.Route.GroupVersionKind(), Object: p.plan.Route}
		if err := output.Print(&b, output.Name, obj); err != nil {
			return err
		}
		fmt.Fprintf(o.streams.Out, "%s %s", p.Name(), b.String())
	}
	return nil
}

// canaryClusterChange is one cluster's change for -o json|yaml: the summary and the route
// as written (or as it is, when unchanged).
type canaryClusterChange struct {
	Cluster mesh.Cluster   `json:"cluster"`
	Summary string         `json:"summary"`
	Changed bool           `json:"changed"`
	Route   map[string]any `json:"route,omitempty"`
}

// printClusterChanges says what was done in each cluster.
func (o *CanaryOptions) printClusterChanges(parts []*clusterCanary) error {
	switch o.Output {
	case output.JSON, output.YAML:
		var reports []canaryClusterChange
		for _, p := range parts {
			r := canaryClusterChange{Cluster: p.Cluster, Summary: p.plan.Summary(), Changed: p.plan.Changed}
			switch {
			case len(p.written) > 0:
				r.Route = p.written[0].Object().Object
			case p.plan.Route != nil:
				r.Route = p.plan.Route.Object
			}
			reports = append(reports, r)
		}
		return output.PrintValue(o.streams.Out, o.Output, map[string]any{"clusters": reports})
	case output.Name:
		for _, p := range parts {
			var b bytes.Buffer
			if err := output.PrintChanges(&b, output.Name, p.written, o.dryRun.Suffix()); err != nil {
				return err
			}
			for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
				if line != "" {
					fmt.Fprintf(o.streams.Out, "%s %s\n", p.Name(), line)
				}
			}
		}
		return nil
	}
	for _, p := range parts {
		suffix := ""
		if p.plan.Changed {
			suffix = o.dryRun.Suffix()
		}
		fmt.Fprintf(o.streams.Out, "%s: %s%s\n", p.Cluster, p.plan.Summary(), suffix)
	}
	return nil
}

// clustersLive reads, at once, each cluster's live figures: the traffic its pods served, from
// its own Prometheus (its --prometheus-url entry, or the one found in it), which holds what
// its proxies reported, or from one Prometheus for the whole mesh by destination_cluster.
// What is missing is said as a note.
func (o *CanaryOptions) clustersLive(ctx context.Context, parts []*clusterCanary) {
	var global *telemetry.Prometheus
	if o.prom.given() && !o.prom.perCluster() {
		var err error
		if global, err = o.locatorFor(o.prom.global, parts[0].Clients).Locate(ctx); err != nil {
			fmt.Fprintf(o.streams.ErrOut, "note: no live figures (%v)\n", err)
			return
		}
	}
	notes := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() {
			if global != nil {
				p.live, notes[i] = versionFiguresIn(ctx, global, p.plan, p.ID)
			} else {
				url, _ := o.prom.urlFor(p.ID, p.Context)
				p.live, notes[i] = versionFiguresOf(ctx, o.locatorFor(url, p.Clients), p.plan)
			}
			if notes[i] != nil {
				p.live = nil
			}
		})
	}
	wg.Wait()
	for i, err := range notes {
		if err != nil {
			fmt.Fprintf(o.streams.ErrOut, "note: %s: no live figures (%v)\n", parts[i].Cluster, err)
		}
	}
}
