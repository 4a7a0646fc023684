package cmd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/canary"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// versionFigures is where --auto reads the versions' figures: one Prometheus, or the
// clusters' own, summed.
type versionFigures interface {
	VersionFigures(ctx context.Context, scope telemetry.VersionScope, window string, at time.Time) (map[string]canary.Figures, error)
}

// summedPrometheus asks each cluster's Prometheus at once and adds up the answers: each
// holds its own proxies' reports. whose names the clusters each one is for.
type summedPrometheus struct {
	proms []*telemetry.Prometheus
	whose []string
}

func (s summedPrometheus) VersionFigures(ctx context.Context, scope telemetry.VersionScope, window string, at time.Time) (map[string]canary.Figures, error) {
	parts := make([]map[string]canary.Figures, len(s.proms))
	errs := make([]error, len(s.proms))
	var wg sync.WaitGroup
	for i, prom := range s.proms {
		wg.Go(func() {
			if parts[i], errs[i] = prom.VersionFigures(ctx, scope, window, at); errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", s.whose[i], errs[i])
			}
		})
	}
	wg.Wait()
	if failed := canaryFailures(errs); len(failed) > 0 {
		return nil, failed[0] // figures without one cluster's would judge a part as the whole
	}
	return canary.SumFigures(parts), nil
}

// autoPrometheus is where --auto reads figures: over several clusters, one URL for the whole
// mesh is asked once; otherwise every cluster's Prometheus (its --prometheus-url entry, or
// the one found in it) must be found, and their figures are summed.
func (o *CanaryOptions) autoPrometheus(ctx context.Context) (versionFigures, error) {
	if !o.multiCluster() {
		prom, err := o.prometheus(ctx)
		if err != nil {
			return nil, err
		}
		return prom, nil
	}
	if o.prom.given() && !o.prom.perCluster() {
		prom, err := o.locatorFor(o.prom.global, o.clusters[0].Clients).Locate(ctx)
		if err != nil {
			return nil, err
		}
		return prom, nil
	}
	sum := summedPrometheus{proms: make([]*telemetry.Prometheus, len(o.clusters)), whose: make([]string, len(o.clusters))}
	errs := make([]error, len(o.clusters))
	asked := map[string]int{} // clusters given the same URL share one Prometheus: asked once
	var wg sync.WaitGroup
	for i, c := range o.clusters {
		url, _ := o.prom.urlFor(c.ID, c.Context)
		if j, ok := asked[url]; ok && url != "" {
			sum.whose[j] += ", " + c.String()
			continue
		}
		asked[url], sum.whose[i] = i, c.String()
		wg.Go(func() {
			if sum.proms[i], errs[i] = o.locatorFor(url, c.Clients).Locate(ctx); errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", c, errs[i])
			}
		})
	}
	wg.Wait()
	if failed := canaryFailures(errs); len(failed) > 0 {
		return nil, joinClusterErrors("every cluster's telemetry is needed to judge the canary, and some cannot be read (give --prometheus-url CLUSTER=URL, or one URL for the whole mesh)", failed)
	}
	sum.proms = slices.DeleteFunc(sum.proms, func(p *telemetry.Prometheus) bool { return p == nil })
	sum.whose = slices.DeleteFunc(sum.whose, func(w string) bool { return w == "" })
	return sum, nil
}

// planFirstStep plans --auto's first step without writing it: in every cluster, refusing
// routes that differ, over several.
func (o *CanaryOptions) planFirstStep(ctx context.Context, req canary.Request) (*canary.Plan, error) {
	if !o.multiCluster() {
		in, _, err := o.clients.ReadCanaryInput(ctx, o.service)
		if err != nil {
			return nil, err
		}
		return canary.Compute(in, req)
	}
	parts, err := o.planClusters(ctx, req)
	if err != nil {
		return nil, err
	}
	return parts[0].plan, nil
}

// applyEverywhere is apply over the clusters of --contexts, all or none: the first
// cluster's plan (they agree) and every cluster's writes.
func (o *CanaryOptions) applyEverywhere(ctx context.Context, req canary.Request) (*canary.Plan, []change.Change, error) {
	parts, err := o.applyClusters(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	var written []change.Change
	for _, p := range parts {
		written = append(written, p.written...)
	}
	return parts[0].plan, written, nil
}

// stepSummary is a plan's summary, the same in every cluster over several (their routes
// agree, and the clusters were named when --auto began).
func (o *CanaryOptions) stepSummary(plan *canary.Plan) string {
	if !o.multiCluster() {
		return plan.Summary()
	}
	return plan.Summary() + ", in every cluster"
}

func (o *CanaryOptions) clusterNames() string {
	names := make([]string, len(o.clusters))
	for i, c := range o.clusters {
		names[i] = c.String()
	}
	return strings.Join(names, ", ")
}

// autoClustersNote says, in --auto's plan over several clusters, how they are stepped.
func (o *CanaryOptions) autoClustersNote() string {
	if !o.multiCluster() {
		return ""
	}
	if o.dryRun == mesh.DryRunNone {
		return fmt.Sprintf("every step is written in %s, all or none; the canary is judged on the figures of every cluster, summed\n", o.clusterNames())
	}
	return fmt.Sprintf("  in every cluster, all or none: %s; judged on the figures of every cluster, summed (one URL for the mesh: asked once)\n", o.clusterNames())
}

// rollbackHint says how to send the traffic back to stable by hand once --auto could not.
func (o *CanaryOptions) rollbackHint() string {
	if !o.multiCluster() {
		return fmt.Sprintf("once the cluster answers: kubectl mesh canary %s -n %s --rollback", o.service.Name, o.service.Namespace)
	}
	return fmt.Sprintf("once the clusters answer: kubectl mesh canary %s -n %s --rollback --contexts %s", o.service.Name, o.service.Namespace, strings.Join(o.contexts, ","))
}
