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
// changes applied). A plan lockdown would refuse without --force (plaintext callers, pods
// outside the mesh) is replayed as --force would write it, and the refusal is the exit error.
func (o *LockdownOptions) whatIf(ctx context.Context, namespace string) error {
	opts := lockdown.Options{AllowFrom: o.callers, Force: o.Force}
	var (
		in               lockdown.Input
		warnings         []string
		readErr, promErr error
		callersErr       error
		seen             observation
		edges            []whatif.Observation
		wg               sync.WaitGroup
	)
	wg.Go(func() { in, warnings, readErr = o.clients.ReadLockdownInput(ctx, namespace) })
	wg.Go(func() { callersErr = o.checkCallerNamespaces(ctx) })
	wg.Go(func() { seen = o.observe(ctx, namespace) })
	wg.Go(func() { edges, promErr = o.observedEdgesFrom(ctx, o.PrometheusURL, o.Window, []string{namespace}) })
	wg.Wait()
	o.warn(warnings...)
	if err := errors.Join(readErr, callersErr, promErr); err != nil {
		return err
	}
	opts.Observed, opts.OutsideMesh = seen.callers, seen.outsideMesh
	plan, refusal := lockdown.Lockdown(in, opts)
	if refusal != nil && !o.Force {
		opts.Force = true
		var err error
		if plan, err = lockdown.Lockdown(in, opts); err != nil {
			return refusal
		}
	} else if refusal != nil {
		return refusal
	}
	o.warn(warningsBeside(plan.Warnings, refusal)...)
	cluster, before := lockdownCluster(in)
	after, steps, err := before.With(whatif.EditOf(plan.Changes), time.Now())
	if err != nil {
		return err
	}
	result := whatif.Replay(cluster, before, after, edges)
	if err := o.printWhatIf(o.Output, whatif.NewReport(o.Window, []string{namespace}, false, steps, result), result.Unresolved); err != nil {
		return err
	}
	if refusal != nil {
		return fmt.Errorf("lockdown would stop without --force (the replay above is of its plan with --force): %w", refusal)
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

// warningsBeside are the plan's warnings but those that say again what refusal says (a plan
// made with --force warns of what it goes ahead despite): said once, as the error.
func warningsBeside(warnings []string, refusal error) []string {
	if refusal == nil {
		return warnings
	}
	first, _, _ := strings.Cut(refusal.Error(), "\n")
	return slices.DeleteFunc(slices.Clone(warnings), func(w string) bool {
		line, _, _ := strings.Cut(w, "\n")
		return line == first
	})
}
