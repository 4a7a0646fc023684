package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/lockdown"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/whatif"
)

// validateWhatIf checks lockdown's flags for --what-if: a replay writes nothing and prints
// the what-if report.
func (o *LockdownOptions) validateWhatIf() error {
	switch {
	case o.Undo || o.Status:
		return fmt.Errorf("--what-if replays lockdown's plan: it takes no --undo or --status")
	case o.dryRun != mesh.DryRunNone:
		return fmt.Errorf("--what-if writes nothing already: it takes no --dry-run")
	case o.Output == "":
		o.Output = "table"
	}
	return validateWhatIfFlags(o.Output, "none", o.Window)
}

// whatIf is `lockdown NAMESPACE --what-if`: lockdown's plan, made as lockdown makes it and
// not written, replayed on the edges seen into the namespace (its own, then the plan's
// changes applied). Planned as a dry run is, past what would stop lockdown without --force
// (plaintext callers, pods outside the mesh, a GitOps owner): the plan --force would write is
// replayed, and what stops it is the exit error.
func (o *LockdownOptions) whatIf(ctx context.Context, namespace string) error {
	opts := lockdown.Options{AllowFrom: o.callers, Force: o.Force, DryRun: true}
	var (
		in                           lockdown.Input
		warnings                     []string
		readErr, callersErr, promErr error
		seen                         observation
		edges                        []whatif.Observation
		wg                           sync.WaitGroup
	)
	wg.Go(func() { in, warnings, readErr = o.clients.ReadLockdownInput(ctx, namespace) })
	wg.Go(func() { callersErr = o.checkCallerNamespaces(ctx) })
	wg.Go(func() { seen = o.observe(ctx, namespace) })
	wg.Go(func() { edges, promErr = o.observedEdgesFrom(ctx, "", o.Window, []string{namespace}) })
	wg.Wait()
	o.warn(warnings...)
	if err := errors.Join(readErr, callersErr, promErr); err != nil {
		return err
	}
	o.warn(seen.warnings...)
	opts.Observed, opts.OutsideMesh = seen.callers, seen.outsideMesh
	plan, err := lockdown.Lockdown(in, opts)
	if err != nil {
		return err
	}
	o.warn(plan.Warnings...)
	cluster, before := lockdownCluster(in)
	after, steps, err := before.With(whatif.EditOf(plan.Changes), time.Now())
	if err != nil {
		return err
	}
	result := whatif.Replay(cluster, before, after, edges)
	if err := o.printWhatIf(o.Output, whatif.NewReport(o.Window, []string{namespace}, false, steps, result), result.Unresolved); err != nil {
		return err
	}
	if len(plan.Blockers) > 0 {
		return fmt.Errorf("without --force, lockdown %s would stop before writing anything (the replay above is of the plan --force would write):\n%s",
			namespace, strings.Join(plan.Blockers, "\n"))
	}
	return nil
}

// lockdownCluster is what lockdown read, as a replay needs it: the namespace's pods (and the
// gateways', whose waypoints name their identity) and Services, its policies and the root
// namespace's.
func lockdownCluster(in lockdown.Input) (whatif.Cluster, whatif.Policies) {
	c := whatif.Cluster{Mesh: in.Mesh, NamespaceLabels: map[string]map[string]string{in.Namespace: in.NamespaceLabels},
		Pods: slices.Concat(in.Pods, in.GatewayPods), Services: in.Services}
	p := whatif.Policies{AuthorizationPolicies: slices.Clone(in.AuthorizationPolicies), PeerAuthentications: slices.Clone(in.PeerAuthentications)}
	if in.Namespace != in.Mesh.RootNamespace {
		p.AuthorizationPolicies = append(p.AuthorizationPolicies, in.MeshAuthorizationPolicies...)
		p.PeerAuthentications = append(p.PeerAuthentications, in.MeshPeerAuthentications...)
	}
	return c, p
}

// whatIfClusters is `lockdown NAMESPACE --what-if --contexts`: each cluster's plan, made as
// lockdown makes it from that cluster's objects and not written, replayed on the edges seen
// into the namespace there (those whose destination ran in that cluster), against its own
// policies, then with its plan applied. A cluster that does not answer is named and left out.
func (o *LockdownOptions) whatIfClusters(ctx context.Context) error {
	clusters, err := o.readableClusters(ctx)
	if err != nil {
		return err
	}
	namespace, err := o.chosenNamespace()
	if err != nil {
		return err
	}
	o.dryRun = mesh.DryRunClient // plan past what stops lockdown without --force, as whatIf does
	var (
		parts   []*clusterLockdown
		edges   []whatif.Observation
		planErr error
		promErr error
		wg      sync.WaitGroup
	)
	wg.Go(func() { parts, planErr = o.planClusters(ctx, namespace, clusters) })
	wg.Go(func() { edges, promErr = o.observedAcross(ctx, clusters, []string{namespace}, o.Window) })
	wg.Wait()
	if err := errors.Join(planErr, promErr); err != nil {
		return err
	}
	inputs := make([]whatif.ClusterInput, len(parts))
	var blockers []string
	for i, p := range parts {
		o.warn(prefixed(p.cluster, p.plan.Warnings)...)
		cluster, before := lockdownCluster(p.input)
		edit := whatif.EditOf(p.plan.Changes)
		inputs[i] = whatif.ClusterInput{ID: p.cluster.ID, Context: p.cluster.Context, Cluster: cluster, Policies: before, Edit: &edit}
		for _, b := range p.plan.Blockers {
			blockers = append(blockers, fmt.Sprintf("%s: %s", p.cluster, b))
		}
	}
	result, notes, err := whatif.ReplayClusters(inputs, whatif.Edit{}, edges, time.Now())
	o.warn(notes...)
	if err != nil {
		return err
	}
	o.warn(result.Elsewhere...)
	report := whatif.NewReport(o.Window, []string{namespace}, false, whatif.MergeSteps(result.Clusters), result.Result)
	report.Clusters = result.Clusters
	if err := o.printWhatIf(o.Output, report, result.Unresolved); err != nil {
		return err
	}
	if len(blockers) > 0 {
		return fmt.Errorf("without --force, lockdown %s would stop before writing anything in any cluster (the replay above is of the plans --force would write):\n%s",
			namespace, strings.Join(blockers, "\n"))
	}
	return nil
}
