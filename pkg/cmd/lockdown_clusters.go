package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/lockdown"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// A lockdown of several clusters (--contexts). In a multi-cluster mesh a namespace is the same
// namespace in every cluster (namespace sameness): a lockdown in one cluster leaves the others
// open, so every cluster is planned with the same pure planner, from its own objects, and
// written, or none is.

// clusterLockdown is one cluster's part: what was read there, its plan, and what was written.
type clusterLockdown struct {
	cluster mesh.Cluster
	input   lockdown.Input // what the plan was made from, for --what-if's replay
	plan    *lockdown.Plan
	written []change.Change
	writer  *mesh.Writer
	opts    lockdown.Options // what it was planned with, to plan again on a conflict
	// reads are what could not be read in the cluster, said with its name.
	reads []string
}

// runClusters is Run for --contexts.
func (o *LockdownOptions) runClusters(ctx context.Context) error {
	if o.Status {
		return o.statusClusters(ctx)
	}
	// A dry run writes nothing: it goes on with the clusters that answer. A write needs them all.
	connect := o.writableClusters
	if o.dryRun != mesh.DryRunNone {
		connect = o.readableClusters
	}
	clusters, err := connect(ctx)
	if err != nil {
		return err
	}
	namespace, err := o.chosenNamespace()
	if err != nil {
		return err
	}
	parts, err := o.planClusters(ctx, namespace, clusters)
	if err != nil {
		return err
	}
	if err := o.applyClusters(ctx, namespace, parts); err != nil {
		return err
	}
	for _, p := range parts {
		o.warn(prefixed(p.cluster, p.plan.Warnings)...)
	}
	if err := o.printClusters(parts); err != nil {
		return err
	}
	var blockers []string
	for _, p := range parts {
		for _, b := range p.plan.Blockers {
			blockers = append(blockers, fmt.Sprintf("%s: %s", p.cluster, b))
		}
	}
	if len(blockers) > 0 {
		return fmt.Errorf("without --force, lockdown %s would stop before writing anything in any cluster (the dry run planned past it):\n%s",
			namespace, strings.Join(blockers, "\n"))
	}
	return nil
}

// planClusters reads every cluster in parallel, and meanwhile the traffic into the namespace
// (from one Prometheus for the mesh, or each cluster's), then plans each cluster with the
// union of the callers seen in any. A cluster whose plan fails (a refusal, a blocker without
// --force, a plan that would widen access) stops the whole run before anything is written.
func (o *LockdownOptions) planClusters(ctx context.Context, namespace string, clusters []mesh.Cluster) ([]*clusterLockdown, error) {
	var (
		traffic  observation
		checked  error
		inputs   = make([]lockdown.Input, len(clusters))
		readErrs = make([]error, len(clusters))
		parts    = make([]*clusterLockdown, len(clusters))
		wg       sync.WaitGroup
	)
	wg.Go(func() { checked = o.checkCallerNamespacesWith(ctx, anyClusterHas(clusters)) })
	if !o.Undo {
		wg.Go(func() { traffic = o.observeClusters(ctx, namespace, clusters) })
	}
	for i, c := range clusters {
		parts[i] = &clusterLockdown{cluster: c, writer: o.clusterWriter(c, namespace)}
		wg.Go(func() {
			var warnings []string
			inputs[i], warnings, readErrs[i] = c.Clients.ReadLockdownInput(ctx, namespace)
			parts[i].reads = prefixed(c, warnings)
		})
	}
	wg.Wait()
	for _, p := range parts {
		o.warn(p.reads...)
	}
	if err := errors.Join(checked, namedErrors(clusters, readErrs)); err != nil {
		return nil, err
	}
	o.warn(traffic.warnings...)
	opts := o.planOptions(traffic)
	planErrs := make([]error, len(parts))
	for i, p := range parts {
		p.opts, p.input = opts, inputs[i]
		p.plan, planErrs[i] = o.planCluster(inputs[i], opts)
	}
	if err := namedErrors(clusters, planErrs); err != nil {
		return nil, fmt.Errorf("lockdown %s stops before writing anything in any cluster:\n%w", namespace, err)
	}
	plans := make([]*lockdown.Plan, len(parts))
	for i, p := range parts {
		plans[i] = p.plan
	}
	lockdown.LocalVerdicts(plans)
	return parts, nil
}

// planOptions are the user's choices and the traffic seen, the same for every cluster.
func (o *LockdownOptions) planOptions(seen observation) lockdown.Options {
	return lockdown.Options{AllowFrom: o.callers, Force: o.Force, DryRun: o.dryRun != mesh.DryRunNone,
		Observed: seen.callers, OutsideMesh: seen.outsideMesh}
}

func (o *LockdownOptions) planCluster(in lockdown.Input, opts lockdown.Options) (*lockdown.Plan, error) {
	if o.Undo {
		return lockdown.Undo(in)
	}
	return lockdown.Lockdown(in, opts)
}

// clusterWriter writes in one cluster; what to run after a failure names every cluster.
func (o *LockdownOptions) clusterWriter(c mesh.Cluster, namespace string) *mesh.Writer {
	w := mesh.NewWriter(c.Clients, o.dryRun)
	contexts := strings.Join(o.contexts, ",")
	w.Recovery = fmt.Sprintf("run `kubectl mesh lockdown %s --contexts %s --undo` to remove what it made", namespace, contexts)
	if o.Undo {
		w.Recovery = fmt.Sprintf("run `kubectl mesh lockdown %s --contexts %s --undo` again to finish the undo", namespace, contexts)
	}
	return w
}

// applyClusters writes cluster after cluster, each all or nothing. When a cluster fails, the
// clusters already written are reverted, newest first, and the error says what happened in
// each. A conflict (someone changed a policy since it was read) re-reads and re-plans that
// cluster alone.
func (o *LockdownOptions) applyClusters(ctx context.Context, namespace string, parts []*clusterLockdown) error {
	for i, p := range parts {
		err := o.applyCluster(ctx, namespace, p)
		if err == nil {
			continue
		}
		failure := fmt.Errorf("%s: %w", p.cluster, err)
		if o.dryRun != mesh.DryRunNone {
			return failure
		}
		what := "lockdown"
		if o.Undo {
			what = "lockdown --undo"
		}
		return revertClusters(fmt.Sprintf("%s %s", what, namespace), parts[:i], parts[i+1:], p.cluster, failure)
	}
	return nil
}

// applyCluster writes one cluster's plan, re-planning it on a conflict.
func (o *LockdownOptions) applyCluster(ctx context.Context, namespace string, p *clusterLockdown) error {
	first := true
	return mesh.RetryOnConflict(func() error {
		if !first {
			in, warnings, err := p.cluster.Clients.ReadLockdownInput(ctx, namespace)
			if err != nil {
				return err
			}
			p.reads = prefixed(p.cluster, warnings)
			if p.plan, err = o.planCluster(in, p.opts); err != nil {
				return err
			}
		}
		first = false
		var err error
		p.written, err = p.writer.ApplyAll(ctx, p.plan.Changes)
		return err
	})
}

// revertClusters puts back the clusters written before failed did, newest first, and says
// what happened in every cluster: the one that failed, those reverted, those never touched.
func revertClusters(what string, written, untouched []*clusterLockdown, failed mesh.Cluster, failure error) error {
	reports := []error{failure}
	for i := len(written) - 1; i >= 0; i-- {
		p := written[i]
		if len(p.written) == 0 {
			reports = append(reports, fmt.Errorf("%s: nothing was written there (nothing to change)", p.cluster))
			continue
		}
		why := fmt.Errorf("%s: written, then reverted because %s failed", p.cluster, failed.Name())
		reports = append(reports, p.writer.RevertApplied(p.written, why))
	}
	for _, p := range untouched {
		reports = append(reports, fmt.Errorf("%s: not written (it comes after %s)", p.cluster, failed.Name()))
	}
	outcome := "every cluster is as it was"
	var b strings.Builder
	for _, r := range reports {
		if mesh.LeftChanged(r) {
			outcome = "some changes could not be reverted: see below"
		}
		fmt.Fprintf(&b, "\n  %s", strings.ReplaceAll(r.Error(), "\n", "\n    "))
	}
	return fmt.Errorf("%s failed in %s; %s:%s", what, failed, outcome, b.String())
}

// anyClusterHas tells whether a namespace exists in any of the clusters: a caller named by
// --allow-from may run in another cluster than the one it calls into.
func anyClusterHas(clusters []mesh.Cluster) func(context.Context, string) (bool, error) {
	return func(ctx context.Context, namespace string) (bool, error) {
		found := make([]bool, len(clusters))
		errs := make([]error, len(clusters))
		var wg sync.WaitGroup
		for i, c := range clusters {
			wg.Go(func() { found[i], errs[i] = c.Clients.NamespaceExists(ctx, namespace) })
		}
		wg.Wait()
		return slices.Contains(found, true), namedErrors(clusters, errs)
	}
}

// observeClusters reads the traffic into namespace: once from the Prometheus of the whole
// mesh when one URL is given for it, else from each cluster's Prometheus in parallel. Every
// cluster's plan keeps the callers seen in any (a caller in west calling into east is seen by
// east's destination report, with its own principal).
func (o *LockdownOptions) observeClusters(ctx context.Context, namespace string, clusters []mesh.Cluster) observation {
	if url, ok := o.prom.urlFor("", ""); ok && !o.prom.perCluster() {
		seen := o.observeWith(ctx, namespace, url, clusters[0].Clients, "the mesh's Prometheus")
		seen.outsideMesh = o.outsideMeshOfClusters(ctx, seen.callers, clusters)
		return seen
	}
	seen := make([]observation, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		url, _ := o.prom.urlFor(c.ID, c.Context)
		wg.Go(func() { seen[i] = o.observeWith(ctx, namespace, url, c.Clients, c.String()) })
	}
	wg.Wait()
	var all observation
	var lists [][]lockdown.Observation
	for _, s := range seen {
		lists = append(lists, s.callers)
		all.warnings = append(all.warnings, s.warnings...)
	}
	all.callers = lockdown.MergeObservations(lists...)
	all.outsideMesh = o.outsideMeshOfClusters(ctx, all.callers, clusters)
	return all
}

// observeWith asks one Prometheus (url, else the one found with clients) for the callers.
func (o *LockdownOptions) observeWith(ctx context.Context, namespace, url string, clients *mesh.Clients, whose string) observation {
	var seen observation
	prom, err := o.locatorFor(url, clients).Locate(ctx)
	if err == nil {
		seen.callers, err = prom.ObservedCallers(ctx, namespace, o.Window, time.Now())
	}
	if err != nil {
		seen.warnings = []string{fmt.Sprintf("%s: no telemetry (%v): callers seen there are not added; the allow-list comes from --allow-from, the mesh config and the other clusters' telemetry", whose, err)}
	}
	return seen
}

// outsideMeshOfClusters names, when someone sends plaintext, the workloads outside the mesh
// in every cluster (CLUSTER/namespace/workload): candidates for the plaintext callers.
func (o *LockdownOptions) outsideMeshOfClusters(ctx context.Context, seen []lockdown.Observation, clusters []mesh.Cluster) []string {
	if !slices.ContainsFunc(seen, func(obs lockdown.Observation) bool { return !obs.MTLS }) {
		return nil
	}
	lists := make([][]string, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		wg.Go(func() {
			for _, w := range outsideMesh(ctx, c.Clients) {
				lists[i] = append(lists[i], c.Name()+"/"+w)
			}
		})
	}
	wg.Wait()
	return slices.Concat(lists...)
}

// outsideMesh names the workloads of every namespace of a cluster that are in the mesh
// neither with a sidecar nor in ambient mode; nil when they cannot be read. Three reads, at
// once.
func outsideMesh(ctx context.Context, clients *mesh.Clients) []string {
	var (
		pods       *corev1.PodList
		namespaces *corev1.NamespaceList
		podsErr    error
		mc         istio.MeshConfig
		wg         sync.WaitGroup
	)
	wg.Go(func() { pods, podsErr = clients.Core.Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{}) })
	wg.Go(func() { namespaces, _ = clients.Core.Namespaces().List(ctx, metav1.ListOptions{}) })
	wg.Go(func() { mc, _ = clients.MeshConfig(ctx) })
	wg.Wait()
	if podsErr != nil {
		return nil
	}
	labels := map[string]map[string]string{}
	if namespaces != nil {
		for _, ns := range namespaces.Items {
			labels[ns.Name] = ns.Labels
		}
	}
	return lockdown.OutsideMesh(pods.Items, labels, mc.RootNamespace)
}

// prefixed names the cluster in each of its warnings.
func prefixed(c mesh.Cluster, warnings []string) []string {
	out := make([]string, len(warnings))
	for i, w := range warnings {
		out[i] = fmt.Sprintf("%s: %s", c, w)
	}
	return out
}

// namedErrors joins the clusters' errors, each naming its cluster (unless it does already).
func namedErrors(clusters []mesh.Cluster, errs []error) error {
	var named []error
	for i, err := range errs {
		switch {
		case err == nil:
		case strings.HasPrefix(err.Error(), clusters[i].String()):
			named = append(named, err)
		default:
			named = append(named, fmt.Errorf("%s: %w", clusters[i], mesh.Explain(err)))
		}
	}
	return errors.Join(named...)
}
