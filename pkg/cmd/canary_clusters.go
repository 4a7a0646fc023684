package cmd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/canary"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// A canary over the clusters of --contexts. Each primary's istiod reads its own cluster's
// routes, so the split is written in every cluster: only while their routes agree (unless
// --force), all or none, each write as conflict-safe as in one cluster.

// clusterCanary is one cluster's part: what was read, planned and written there.
type clusterCanary struct {
	mesh.Cluster
	in       canary.Input
	warnings []string
	split    canary.Split
	plan     *canary.Plan
	written  []change.Change
	// live are the versions' figures from the cluster's own Prometheus (status).
	live map[string]canary.Figures
}

// runClusters is Run over the clusters of --contexts.
func (o *CanaryOptions) runClusters(ctx context.Context) error {
	r := o.Request
	if r.Percent == nil && !r.Promote && !r.Rollback && !o.Auto {
		return o.clustersStatus(ctx)
	}
	var err error
	if o.clusters, err = o.writableClusters(ctx); err != nil {
		return err
	}
	if err := o.parseService(); err != nil {
		return err
	}
	if o.Auto {
		return o.runAuto(ctx)
	}
	parts, err := o.applyClusters(ctx, o.Request)
	if err != nil {
		return err
	}
	return o.printClusterChanges(parts)
}

// readClusters reads every cluster's canary input at once. A cluster that fails is named.
func (o *CanaryOptions) readClusters(ctx context.Context, clusters []mesh.Cluster) ([]*clusterCanary, []error) {
	parts := make([]*clusterCanary, len(clusters))
	errs := make([]error, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		parts[i] = &clusterCanary{Cluster: c}
		wg.Go(func() {
			p := parts[i]
			var err error
			p.in, p.warnings, err = c.Clients.ReadCanaryInput(ctx, o.service)
			if err == nil {
				p.split, err = canary.SplitOf(p.in, o.Request)
			}
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", c, mesh.Explain(err))
			}
		})
	}
	wg.Wait()
	return parts, errs
}

// differences says how the clusters' splits differ; none when they agree.
func (o *CanaryOptions) differences(parts []*clusterCanary) []string {
	splits := make([]canary.ClusterSplit, len(parts))
	for i, p := range parts {
		splits[i] = canary.ClusterSplit{Cluster: p.String(), Split: p.split}
	}
	return canary.Differences(o.service, splits)
}

// applyClusters reads, compares, plans and writes req in every cluster, all or none: nothing
// is written until every cluster's plan is made, and a write that fails puts back the
// clusters written before it.
func (o *CanaryOptions) applyClusters(ctx context.Context, req canary.Request) ([]*clusterCanary, error) {
	parts, err := o.planClusters(ctx, req)
	if err != nil {
		return nil, err
	}
	inputs := make([]canary.Input, len(parts))
	for i, p := range parts {
		inputs[i] = p.in
	}
	for i, p := range parts {
		if err := o.writeCluster(ctx, parts, i, inputs, req); err != nil {
			return nil, o.putBack(parts[:i], p, parts[i+1:], err)
		}
	}
	for _, p := range parts {
		o.warn(canaryClusterWarnings(p.Cluster, p.plan.Warnings)...)
	}
	return parts, nil
}

// planClusters reads every cluster and plans req in each, refusing routes that differ
// (unless --force) and any cluster's refusal: nothing is written yet.
func (o *CanaryOptions) planClusters(ctx context.Context, req canary.Request) ([]*clusterCanary, error) {
	parts, errs := o.readClusters(ctx, o.clusters)
	for _, p := range parts {
		o.warn(canaryClusterWarnings(p.Cluster, p.warnings)...)
	}
	if failed := canaryFailures(errs); len(failed) > 0 {
		return nil, joinClusterErrors(fmt.Sprintf("%s: every cluster must be read before anything is written (nothing was changed)", o.service), failed)
	}
	if diff := o.differences(parts); len(diff) > 0 {
		if !req.Force {
			return nil, fmt.Errorf("%s: the clusters' routes differ, so no split is written (nothing was changed):\n  %s\nmake the routes the same in every cluster (or write each cluster with --context), or pass --force to step each cluster from its own route",
				o.service, strings.Join(diff, "\n  "))
		}
		o.warn(append([]string{"the clusters' routes differ (stepping each from its own: --force):"}, diff...)...)
	}
	inputs := make([]canary.Input, len(parts))
	for i, p := range parts {
		inputs[i] = p.in
	}
	var refusals []error
	for _, p := range parts {
		var err error
		if p.plan, err = canary.Compute(canary.MeshWide(p.in, inputs), req); err != nil {
			refusals = append(refusals, fmt.Errorf("%s: %w", p.Cluster, err))
		}
	}
	if len(refusals) > 0 {
		return nil, joinClusterErrors(fmt.Sprintf("%s: refused (nothing was changed in any cluster; ready pods are counted over every cluster, as endpoints merge across them)", o.service), refusals)
	}
	return parts, nil
}

// writeCluster writes one cluster's plan; on a conflict it re-reads that cluster and
// re-plans, and stops when its route no longer agrees with the first cluster's (unless
// --force).
func (o *CanaryOptions) writeCluster(ctx context.Context, parts []*clusterCanary, i int, inputs []canary.Input, req canary.Request) error {
	p := parts[i]
	writer := mesh.NewWriter(p.Clients, o.dryRun)
	writer.Recovery = o.rollbackCommand(p.Cluster)
	attempt := 0
	err := mesh.RetryOnConflict(func() error {
		if attempt++; attempt > 1 {
			in, _, err := p.Clients.ReadCanaryInput(ctx, o.service)
			if err != nil {
				return err
			}
			if p.split, err = canary.SplitOf(in, req); err != nil {
				return err
			}
			if diff := o.differences([]*clusterCanary{parts[0], p}); i > 0 && len(diff) > 0 && !req.Force {
				return fmt.Errorf("its route changed while the split was being written and now differs: %s", strings.Join(diff, "; "))
			}
			inputs = slices.Clone(inputs)
			inputs[i] = in
			if p.plan, err = canary.Compute(canary.MeshWide(in, inputs), req); err != nil {
				return err
			}
		}
		var err error
		p.written, err = writer.ApplyAll(ctx, p.plan.Changes())
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", p.Cluster, mesh.Explain(err))
	}
	return nil
}

// putBack takes the change back from the clusters written before failed, and says what
// happened in each cluster.
func (o *CanaryOptions) putBack(done []*clusterCanary, failed *clusterCanary, rest []*clusterCanary, failure error) error {
	lines := []string{canaryIndent(failure.Error())}
	for i := len(done) - 1; i >= 0; i-- {
		p := done[i]
		switch {
		case o.dryRun != mesh.DryRunNone || len(p.written) == 0:
			lines = append(lines, fmt.Sprintf("  %s: nothing written", p.Cluster))
			continue
		}
		writer := mesh.NewWriter(p.Clients, o.dryRun)
		put, err := writer.PutBack(context.Background(), p.written)
		if len(put) > 0 {
			lines = append(lines, fmt.Sprintf("  %s: put back %s (it had been %s)", p.Cluster, strings.Join(put, ", "), canaryWritten(p)))
		}
		if err != nil {
			lines = append(lines, fmt.Sprintf("  %s: %v; once it answers: %s", p.Cluster, err, o.rollbackCommand(p.Cluster)))
		}
	}
	for _, p := range rest {
		lines = append(lines, fmt.Sprintf("  %s: not written", p.Cluster))
	}
	return fmt.Errorf("%s: the change failed in %s, so no cluster keeps it:\n%s", o.service, failed.Cluster, strings.Join(lines, "\n"))
}

// canaryWritten is what a cluster's write did, for the put-back message.
func canaryWritten(p *clusterCanary) string {
	if p.plan == nil || len(p.written) == 0 {
		return "written"
	}
	return "set to " + canary.FormatWeights(p.plan.After)
}

// rollbackCommand is how to send one cluster's traffic back to stable by hand.
func (o *CanaryOptions) rollbackCommand(c mesh.Cluster) string {
	return fmt.Sprintf("kubectl mesh canary %s -n %s --rollback --context %s", o.service.Name, o.service.Namespace, c.Context)
}

// canaryClusterWarnings names the cluster in each of its warnings.
func canaryClusterWarnings(c mesh.Cluster, warnings []string) []string {
	out := make([]string, len(warnings))
	for i, w := range warnings {
		out[i] = fmt.Sprintf("%s: %s", c, w)
	}
	return out
}

// canaryFailures are the errors of the clusters that failed.
func canaryFailures(errs []error) []error {
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// canaryIndent indents every line of a message by two spaces, leaving empty lines empty.
func canaryIndent(s string) string {
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		if line != "" {
			lines[i] = "  " + line
		}
	}
	return strings.Join(lines, "\n")
}
