package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/lockdown"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// LockdownOptions turn on STRICT mTLS and default-deny authorization in a namespace.
type LockdownOptions struct {
	clusterOptions

	namespaceArg string
	allowFrom    []string
	dryRunArg    string
	Output       string
	Undo         bool
	Status       bool
	Force        bool
	WhatIf       bool
	Window       string

	callers []lockdown.Caller
	dryRun  mesh.DryRun
}

const lockdownLong = `Lock a namespace down: STRICT mTLS and default-deny authorization, with an allow-list for
the callers that must keep working. Reversible with --undo.

It writes, in an order that never denies an allowed caller midway:
  - AuthorizationPolicies kubectl-mesh-allow-WORKLOAD (ALLOW), one per workload (app label,
    plus version where present) that has callers to keep: the ingress gateway, for workloads
    a Gateway-bound VirtualService routes to, and the callers given with --allow-from;
  - the namespace-wide PeerAuthentication (the existing one, whatever its name, or a new
    "default") with mtls STRICT;
  - AuthorizationPolicy kubectl-mesh-default-deny, which allows nothing (spec: {}).

It never widens access: a workload (or a waypoint) that existing ALLOW policies already
decide for keeps exactly them, since Istio ORs ALLOW policies, and the callers it would have
added are listed as not admitted. Before writing, the plan is checked with an evaluator of
Istio's authorization at every sidecar, gateway, ztunnel and waypoint of the namespace:
nothing may be allowed afterwards that is denied today.

Before writing, pods without an istio-proxy sidecar are listed and the command stops: they
cannot serve STRICT mTLS (--force goes ahead). Writes are all or nothing: when one fails, the
ones already made are reverted. Running it again changes nothing.

--undo deletes what lockdown created and restores the PeerAuthentication it changed (spec,
labels, annotations). Policies it did not create are never touched.

With --contexts c1,c2 it locks the namespace down in every cluster of a multi-cluster mesh (a
namespace is the same namespace in every cluster). Each cluster is planned from its own
objects, with the callers seen in any cluster's telemetry, and shown under its cluster ID and
context. Every cluster must answer; they are written one after the other, and when one fails
the clusters already written are reverted. --undo undoes it in every cluster; --status shows
each cluster and where they differ; --what-if replays each cluster's plan on the edges into it.`

const lockdownExample = `  # See what would be written, then do it
  kubectl mesh lockdown default --dry-run
  kubectl mesh lockdown default

  # Keep calls within the namespace and from Prometheus working
  kubectl mesh lockdown default --allow-from ns/default --allow-from monitoring/prometheus

  # What the plan would deny of the traffic seen, before writing it
  kubectl mesh lockdown default --what-if

  # Effective mTLS and authorization per workload
  kubectl mesh lockdown default --status

  # Back to how it was
  kubectl mesh lockdown default --undo

  # Every cluster of a multi-cluster mesh, or none; then where the clusters differ
  kubectl mesh lockdown default --contexts east,west
  kubectl mesh lockdown default --contexts east,west --status`

// NewCmdLockdown returns `kubectl mesh lockdown`.
func NewCmdLockdown(getter mesh.ClientGetter, streams genericiooptions.IOStreams) *cobra.Command {
	o := &LockdownOptions{clusterOptions: clusterOptions{getter: getter, streams: streams}}
	c := &cobra.Command{
		Use:     "lockdown [NAMESPACE]",
		Short:   "Turn on STRICT mTLS and default-deny authorization in a namespace",
		Long:    lockdownLong,
		Example: lockdownExample,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	f := c.Flags()
	c.ValidArgsFunction = completer{getter}.firstArgNamespace
	f.StringArrayVar(&o.allowFrom, "allow-from", nil, "Caller to keep allowed, for every workload: ns/NAMESPACE or NAMESPACE/SERVICEACCOUNT. Repeatable.")
	f.BoolVar(&o.Undo, "undo", false, "Delete what lockdown created and restore the PeerAuthentication it changed.")
	f.BoolVar(&o.Status, "status", false, "Print the effective mTLS mode and authorization of each workload; change nothing.")
	f.BoolVar(&o.Force, "force", false, "Go ahead although pods lack a sidecar (or in Istio's root namespace).")
	f.BoolVar(&o.WhatIf, "what-if", false, "Write nothing: replay the traffic seen in --window against the plan and list the edges whose verdict it changes (-o table, json or yaml; see kubectl mesh what-if).")
	addDryRunFlag(c, &o.dryRunArg)
	addObjectOutputFlag(c, &o.Output, "Print the objects written: one of yaml, json, name (with --status: yaml or json).")
	o.addContextsFlag(c, "lock the namespace down in every cluster or in none (--status: each cluster's, and where they differ; --undo: in every cluster).")
	windowVar(f, &o.Window, "24h", "How far back telemetry counts as traffic to keep allowed (1h, 24h, 7d).")
	o.prom.addFlags(c, "Prometheus to read observed callers from.")
	o.addTelemetryNamespaceFlags(c, false)
	return c
}

// Complete reads arguments and flags; it needs no cluster.
func (o *LockdownOptions) Complete(args []string) error {
	switch len(args) {
	case 0:
	case 1:
		o.namespaceArg = args[0]
	default:
		return fmt.Errorf("too many arguments %q: kubectl mesh lockdown [NAMESPACE]", args[1:])
	}
	for _, arg := range o.allowFrom {
		c, err := lockdown.ParseAllowFrom(arg)
		if err != nil {
			return err
		}
		o.callers = append(o.callers, c)
	}
	var err error
	o.dryRun, err = mesh.ParseDryRun(o.dryRunArg)
	return err
}

// Validate checks that the flags make one request.
func (o *LockdownOptions) Validate() error {
	if err := o.prom.validate(); err != nil {
		return err
	}
	if err := o.validateContexts(); err != nil {
		return err
	}
	if o.WhatIf {
		return o.validateWhatIf()
	}
	switch {
	case o.Undo && o.Status:
		return fmt.Errorf("--undo and --status contradict each other: give one")
	case o.Undo && len(o.callers) > 0:
		return fmt.Errorf("--allow-from has no meaning with --undo")
	case o.Status && (len(o.callers) > 0 || o.Force || o.dryRun != mesh.DryRunNone):
		return fmt.Errorf("--status changes nothing: it takes no --allow-from, --force or --dry-run")
	case o.Status && o.Output == output.Name:
		return fmt.Errorf("-o name has no meaning with --status: use yaml or json")
	}
	if _, err := model.ParseDuration(o.Window); err != nil {
		return fmt.Errorf("--window %q is not a duration: use a Prometheus duration such as 1h or 24h", o.Window)
	}
	return output.ValidateFormat(o.Output)
}

// Run reads the namespace, plans, and applies all or nothing; with --status it only reads.
func (o *LockdownOptions) Run(ctx context.Context) error {
	if o.multiCluster() && o.WhatIf {
		return o.whatIfClusters(ctx)
	}
	if o.multiCluster() {
		return o.runClusters(ctx)
	}
	namespace, err := o.resolveNamespace()
	if err != nil {
		return err
	}
	if o.WhatIf {
		return o.whatIf(ctx, namespace)
	}
	if o.Status {
		in, warnings, err := o.clients.ReadLockdownInput(ctx, namespace)
		o.warn(warnings...)
		if err != nil {
			return err
		}
		return o.printStatus(lockdown.ComputeStatus(in))
	}
	plan, written, err := o.planAndApply(ctx, namespace)
	if err != nil {
		return err
	}
	o.warn(plan.Warnings...)
	if err := o.print(plan, written); err != nil {
		return err
	}
	if len(plan.Blockers) > 0 {
		return fmt.Errorf("without --force, lockdown %s would stop before writing anything (the dry run planned past it):\n%s",
			namespace, strings.Join(plan.Blockers, "\n"))
	}
	return nil
}

// resolveNamespace: NAMESPACE, else -n or the kubeconfig's; the two must not disagree.
func (o *LockdownOptions) resolveNamespace() (string, error) {
	if err := o.completeCluster(); err != nil {
		return "", err
	}
	return o.chosenNamespace()
}

// chosenNamespace is NAMESPACE, else the namespace of -n or the kubeconfig, once read.
func (o *LockdownOptions) chosenNamespace() (string, error) {
	if o.namespaceArg == "" {
		return o.namespace, nil
	}
	if o.namespaceExplicit && o.namespaceArg != o.namespace {
		return "", fmt.Errorf("NAMESPACE %q and -n %q disagree: give one", o.namespaceArg, o.namespace)
	}
	return o.namespaceArg, nil
}

// planAndApply plans the lockdown (or its undo) on the namespace as it is now and applies it
// all or nothing, re-reading and re-planning when someone changed a policy in between.
// Checking --allow-from and reading the telemetry go on while the namespace is read; their
// answers are waited for once the reads succeed (a cluster without Istio says only that).
func (o *LockdownOptions) planAndApply(ctx context.Context, namespace string) (*lockdown.Plan, []change.Change, error) {
	// A dry run plans past what --force would override, so that it shows the plan and then
	// what stands in its way (and exits 1 for it); a real run stops there.
	opts := lockdown.Options{AllowFrom: o.callers, Force: o.Force, DryRun: o.dryRun != mesh.DryRunNone}
	callersChecked := make(chan error, 1)
	go func() { callersChecked <- o.checkCallerNamespaces(ctx) }()
	var traffic chan observation
	if !o.Undo {
		traffic = make(chan observation, 1)
		go func() { traffic <- o.observe(ctx, namespace) }()
	}
	var (
		plan         *lockdown.Plan
		written      []change.Change
		readWarnings []string
		waited       bool
	)
	writer := mesh.NewWriter(o.clients, o.dryRun)
	writer.Recovery = fmt.Sprintf("run `kubectl mesh lockdown %s` again to finish it, or `kubectl mesh lockdown %s --undo` to remove what it made", namespace, namespace)
	if o.Undo {
		writer.Recovery = fmt.Sprintf("run `kubectl mesh lockdown %s --undo` again to finish the undo", namespace)
	}
	// What could not be read explains a failure as much as a success: said either way, once.
	defer func() { o.warn(readWarnings...) }()
	err := mesh.RetryOnConflict(func() error {
		var in lockdown.Input
		var err error
		in, readWarnings, err = o.clients.ReadLockdownInput(ctx, namespace)
		if err != nil {
			return err
		}
		if !waited {
			waited = true
			if err := <-callersChecked; err != nil {
				return err
			}
			if traffic != nil {
				seen := <-traffic
				opts.Observed, opts.OutsideMesh = seen.callers, seen.outsideMesh
				o.warn(seen.warnings...)
			}
		}
		if o.Undo {
			plan, err = lockdown.Undo(in)
		} else {
			plan, err = lockdown.Lockdown(in, opts)
		}
		if err != nil {
			return err
		}
		written, err = writer.ApplyAll(ctx, plan.Changes)
		return err
	})
	return plan, written, err
}

// observation is the traffic seen into a namespace: its callers, the workloads outside the
// mesh that may be its plaintext callers, and what could not be read.
type observation struct {
	callers     []lockdown.Observation
	outsideMesh []string
	warnings    []string
}

// observe reads the traffic into namespace from Prometheus, and the workloads without a
// sidecar that may be its plaintext callers. Without a reachable Prometheus it says so and
// the lockdown goes on with what the flags and the mesh config give.
func (o *LockdownOptions) observe(ctx context.Context, namespace string) observation {
	locator := o.locator("")
	prom, err := locator.Locate(ctx)
	var seen observation
	if err == nil {
		seen.callers, err = prom.ObservedCallers(ctx, namespace, o.Window, time.Now())
	}
	if err != nil {
		seen.warnings = []string{fmt.Sprintf("no telemetry (%v)", err), "the allow-list comes from --allow-from and the mesh config alone; callers seen in traffic are not added"}
		return seen
	}
	for _, obs := range seen.callers {
		if !obs.MTLS {
			// Someone sends plaintext: name the candidates, from every namespace.
			seen.outsideMesh = outsideMesh(ctx, o.clients)
			break
		}
	}
	return seen
}

// checkCallerNamespaces: a namespace named in --allow-from must exist (a typo would silently
// allow no one, and istioctl analyze flags it). One read per namespace, at once.
func (o *LockdownOptions) checkCallerNamespaces(ctx context.Context) error {
	return o.checkCallerNamespacesWith(ctx, o.clients.NamespaceExists)
}

// checkCallerNamespacesWith is checkCallerNamespaces asking namespaceExists (of one cluster,
// or of any of several).
func (o *LockdownOptions) checkCallerNamespacesWith(ctx context.Context, namespaceExists func(context.Context, string) (bool, error)) error {
	var callers []lockdown.Caller // the first naming each namespace
	for _, c := range o.callers {
		if !slices.ContainsFunc(callers, func(seen lockdown.Caller) bool { return seen.Namespace == c.Namespace }) {
			callers = append(callers, c)
		}
	}
	errs := make([]error, len(callers))
	var wg sync.WaitGroup
	for i, c := range callers {
		wg.Go(func() {
			exists, err := namespaceExists(ctx, c.Namespace)
			if err == nil && !exists {
				err = fmt.Errorf("--allow-from %s: namespace %q not found", c, c.Namespace)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (o *LockdownOptions) print(plan *lockdown.Plan, written []change.Change) error {
	suffix := o.dryRun.Suffix()
	switch {
	case o.Output == "" && o.Undo:
		return lockdown.WriteUndoSummary(o.streams.Out, plan, suffix)
	case o.Output == "":
		return lockdown.WriteSummary(o.streams.Out, plan, suffix)
	case len(written) == 0:
		fmt.Fprintf(o.streams.ErrOut, "namespace %s: nothing to change\n", plan.Namespace)
		return nil
	}
	return output.PrintChanges(o.streams.Out, o.Output, written, suffix)
}

func (o *LockdownOptions) printStatus(s lockdown.Status) error {
	if o.Output == "" {
		return lockdown.WriteStatus(o.streams.Out, s)
	}
	return output.PrintValue(o.streams.Out, o.Output, s)
}
