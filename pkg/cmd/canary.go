package cmd

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/canary"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// CanaryOptions shift a share of a service's traffic to a canary subset.
type CanaryOptions struct {
	clusterOptions

	// From the command line.
	serviceArg string
	dryRunArg  string
	Output     string
	Request    canary.Request

	autoOptions

	// From Complete.
	service istio.Service
	dryRun  mesh.DryRun

	// --contexts: the clusters, once every one has answered (canary_clusters.go).
	clusters []mesh.Cluster
}

const canaryLong = `Shift a share of a service's traffic to a canary version, safely, on the route that carries
its mesh traffic: a VirtualService (versions are subsets of its DestinationRules) or a Gateway
API HTTPRoute or GRPCRoute attached to the Service (versions are Services of their own, such as
reviews-v1 and reviews-v2, as Istio's traffic-shifting task lays them out).

Stable is the version carrying most traffic (or the first version when no route exists yet;
one is then created: an HTTPRoute in an ambient namespace or where the versions are Services,
a VirtualService where DestinationRule subsets exist, or as --api says). The canary is
--canary, else the version already sharing the rule with stable, else the next version
(v1 -> v2). While a canary is in progress its roles are recorded on the route, so later
steps, --promote and --rollback know which version is which whatever the weights.

Only weights change: matches, filters, retries, timeouts, headers and every other field stay
as they are. The command refuses to send traffic to a version Envoy cannot serve (a subset the
DestinationRules lack, a Service that does not exist, nothing ready behind it) unless --force
is given; in an ambient namespace, a split needs a waypoint. Writes carry the resourceVersion
and are retried on conflict, so no concurrent edit is lost.

With no PERCENT it prints the status: route, versions, weights and what is ready.

Several clusters (--contexts c1,c2): each primary's istiod reads its own cluster's routes, so
the split is written in every cluster. The clusters are read in parallel; a step refuses when
their routes for the service differ (route kind, rule, weights, canary record, subsets or
version Services) and says how, per cluster, unless --force, which steps each cluster from
its own route. Every cluster must answer before anything is written; the clusters are
written one by one, and when one fails the clusters already written are put back. Ready pods
count over every cluster, as a Service's endpoints merge across the clusters of a mesh
(namespace sameness): a version with ready pods in any cluster is served, one with none in
any cluster is refused. The status shows each cluster and whether they agree; --auto steps
every cluster together and judges the canary on the telemetry of all of them (one
--prometheus-url for the mesh is asked once; per-cluster Prometheus are summed).`

const canaryExample = `  # Send 10% of reviews' traffic to the canary (v2 on bookinfo), 90% to stable (v1)
  kubectl mesh canary reviews 10

  # Where does reviews' traffic go now?
  kubectl mesh canary reviews

  # Next step, shown first, then done
  kubectl mesh canary reviews 50 --dry-run -o yaml
  kubectl mesh canary reviews 50

  # All traffic to the canary, which becomes stable; or all back to stable
  kubectl mesh canary reviews --promote
  kubectl mesh canary reviews --rollback

  # Pick the canary version and the rule of a route with several
  kubectl mesh canary reviews.bookinfo 10 --canary v3 --route default

  # No route yet: create an HTTPRoute over the version Services
  kubectl mesh canary reviews 10 --api httproute

  # Every cluster of a multi-primary mesh: where traffic goes in each, then a step in all
  kubectl mesh canary reviews --contexts east,west
  kubectl mesh canary reviews 10 --contexts east,west`

// NewCmdCanary returns `kubectl mesh canary`.
func NewCmdCanary(getter mesh.ClientGetter, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CanaryOptions{clusterOptions: clusterOptions{getter: getter, streams: streams}}
	c := &cobra.Command{
		Use:     "canary SERVICE [PERCENT]",
		Short:   "Shift a share of a service's traffic to its canary subset",
		Long:    canaryLong,
		Example: canaryExample,
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
	c.ValidArgsFunction = completer{getter}.services
	f.StringVar(&o.Request.Canary, "canary", "", "Version to send traffic to: a subset, a version Service, or its version label (default: the one already sharing the rule, else the next after stable).")
	f.StringVar(&o.Request.Route, "route", "", "Rule to change, by name or '#N', when the route has several and none is a catch-all.")
	f.StringVar(&o.Request.API, "api", "", "Kind of route to create when there is none: virtualservice or httproute (default: as the namespace's versions are laid out).")
	f.BoolVar(&o.Request.Promote, "promote", false, "Send all traffic to the canary, which becomes stable.")
	f.BoolVar(&o.Request.Rollback, "rollback", false, "Send all traffic back to stable and drop the canary.")
	f.BoolVar(&o.Request.Force, "force", false, "Send traffic even to a version that is missing or has nothing ready, or without a waypoint in ambient mode; change a route a GitOps tool applies (its next sync reverts the change); with --contexts, step clusters whose routes differ, each from its own.")
	completeFlag(c, "canary", completer{getter}.subsets)
	completeFlag(c, "api", fixedValues(canary.APIVirtualService, canary.APIHTTPRoute))
	addDryRunFlag(c, &o.dryRunArg)
	addObjectOutputFlag(c, &o.Output, "With a change: print the route written, one of yaml, json, name. Without (the status): json or yaml of the status, name of the route.")
	o.addAutoFlags(f)
	o.prom.addFlags(c, "Prometheus for live figures and --auto.")
	o.addTelemetryNamespaceFlags(c, false)
	o.addContextsFlag(c, "read each, write the split in every one or none, refuse routes that differ unless --force.")
	return c
}

// Complete reads the arguments and flags. It needs no cluster, so bad input is reported
// before any connection is attempted.
func (o *CanaryOptions) Complete(args []string) error {
	switch len(args) {
	case 0:
		return fmt.Errorf("name the service: kubectl mesh canary SERVICE [PERCENT]")
	case 1:
	case 2:
		p, err := parsePercent(args[1])
		if err != nil {
			return err
		}
		o.Request.Percent = &p
	default:
		return fmt.Errorf("too many arguments %q: kubectl mesh canary SERVICE [PERCENT]", args[2:])
	}
	o.serviceArg = args[0]
	var err error
	o.dryRun, err = mesh.ParseDryRun(o.dryRunArg)
	return err
}

// Validate checks that the flags and arguments make one request.
func (o *CanaryOptions) Validate() error {
	if err := o.prom.validate(); err != nil {
		return err
	}
	if err := o.validateContexts(); err != nil {
		return err
	}
	if _, _, ok := istio.ParseService(o.serviceArg, ""); !ok {
		return fmt.Errorf("SERVICE %q is not a service name: use NAME, NAME.NAMESPACE or NAME.NAMESPACE.svc.cluster.local", o.serviceArg)
	}
	r := o.Request
	switch {
	case r.Promote && r.Rollback:
		return fmt.Errorf("--promote and --rollback contradict each other: give one")
	case r.Percent != nil && (r.Promote || r.Rollback):
		return fmt.Errorf("give either PERCENT or --promote/--rollback, not both")
	case o.Auto && (r.Percent != nil || r.Promote || r.Rollback):
		return fmt.Errorf("--auto takes its weights from --steps: give no PERCENT, --promote or --rollback")
	case r.Percent == nil && !r.Promote && !r.Rollback && !o.Auto && (r.Canary != "" || r.Force || r.API != ""):
		return fmt.Errorf("--canary, --force and --api go with a change: give PERCENT, --promote, --rollback or --auto")
	case r.API != "" && r.API != canary.APIVirtualService && r.API != canary.APIHTTPRoute:
		return fmt.Errorf("--api %q: use %s or %s", r.API, canary.APIVirtualService, canary.APIHTTPRoute)
	}
	if o.Auto {
		if o.Output != "" {
			return fmt.Errorf("--auto changes weights over time: it takes no -o; --dry-run prints its plan")
		}
		if err := o.validateAuto(); err != nil {
			return err
		}
	}
	return output.ValidateFormat(o.Output)
}

// resolveService reads the namespace from -n or the kubeconfig; a namespace written in
// SERVICE (reviews.bookinfo) wins, but must not contradict -n.
func (o *CanaryOptions) resolveService() error {
	if err := o.completeCluster(); err != nil {
		return err
	}
	return o.parseService()
}

// parseService reads SERVICE in the namespace already resolved.
func (o *CanaryOptions) parseService() error {
	svc, fromName, _ := istio.ParseService(o.serviceArg, o.namespace)
	if fromName && o.namespaceExplicit && svc.Namespace != o.namespace {
		return fmt.Errorf("SERVICE %q names namespace %q but -n says %q: give one", o.serviceArg, svc.Namespace, o.namespace)
	}
	o.service = svc
	return nil
}

func validateSteps(steps []int) error {
	if len(steps) == 0 {
		return fmt.Errorf("--steps is empty: give weights such as 10,25,50,100")
	}
	for i, s := range steps {
		if s < 1 || s > 100 {
			return fmt.Errorf("--steps: %d is not a weight from 1 to 100", s)
		}
		if i > 0 && s <= steps[i-1] {
			return fmt.Errorf("--steps must ascend: %d comes after %d", s, steps[i-1])
		}
	}
	return nil
}

// parsePercent accepts a whole number from 0 to 100, with or without a trailing %.
func parsePercent(arg string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSuffix(arg, "%"))
	if err != nil {
		return 0, fmt.Errorf("PERCENT %q is not a whole number: give one from 0 to 100, e.g. 10", arg)
	}
	if p < 0 || p > 100 {
		return 0, fmt.Errorf("PERCENT %d is out of range: give a whole number from 0 to 100", p)
	}
	return p, nil
}

// Run plans against the cluster's current state and writes, re-reading and re-planning when
// someone else changed the route in between. --auto runs the steps.
func (o *CanaryOptions) Run(ctx context.Context) error {
	if o.multiCluster() {
		return o.runClusters(ctx)
	}
	if err := o.resolveService(); err != nil {
		return err
	}
	if o.Auto {
		return o.runAuto(ctx)
	}
	plan, written, err := o.apply(ctx, o.Request)
	if err != nil {
		return err
	}
	return o.print(ctx, plan, written)
}

// apply plans req and writes the result, re-reading and re-planning on conflict; warnings
// go to stderr. written is what was written, as stored: nothing when nothing changed.
func (o *CanaryOptions) apply(ctx context.Context, req canary.Request) (plan *canary.Plan, written []change.Change, err error) {
	if o.multiCluster() {
		return o.applyEverywhere(ctx, req)
	}
	writer := mesh.NewWriter(o.clients, o.dryRun)
	writer.Recovery = fmt.Sprintf("run the same command again, or `kubectl mesh canary %s -n %s --rollback` to send everything back to stable", o.service.Name, o.service.Namespace)
	var readWarnings []string
	defer func() { o.warn(readWarnings...) }()
	err = mesh.RetryOnConflict(func() error {
		in, warnings, err := o.clients.ReadCanaryInput(ctx, o.service)
		readWarnings = warnings
		if err != nil {
			return err
		}
		if plan, err = canary.Compute(in, req); err != nil {
			return err
		}
		written, err = writer.ApplyAll(ctx, plan.Changes())
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	o.warn(plan.Warnings...)
	return plan, written, nil
}

func (o *CanaryOptions) prometheus(ctx context.Context) (*telemetry.Prometheus, error) {
	return o.locator("").Locate(ctx)
}

// liveFigures are the versions' figures over the last minute, by version name; nil (with a
// note) when there is no telemetry.
func (o *CanaryOptions) liveFigures(ctx context.Context, plan *canary.Plan) map[string]canary.Figures {
	figures, err := versionFiguresOf(ctx, o.locator(""), plan)
	if err != nil {
		fmt.Fprintf(o.streams.ErrOut, "note: no live figures (%v)\n", err)
		return nil
	}
	return figures
}

// versionFiguresOf reads the plan's versions' figures over the last minute from the
// Prometheus l finds, by version name. Versions are told apart by the destination_version
// their requests are reported under (plan.FigureVersion); those that cannot be have none.
func versionFiguresOf(ctx context.Context, l telemetry.Locator, plan *canary.Plan) (map[string]canary.Figures, error) {
	prom, err := l.Locate(ctx)
	if err != nil {
		return nil, err
	}
	return versionFiguresIn(ctx, prom, plan, "")
}

// versionFiguresIn reads the plan's live figures from prom, of the requests served in cluster
// when it is set (one Prometheus for the whole mesh), else of every request prom holds.
func versionFiguresIn(ctx context.Context, prom *telemetry.Prometheus, plan *canary.Plan, cluster string) (map[string]canary.Figures, error) {
	scope := figureScope(plan)
	scope.Cluster = cluster
	byVersion, err := prom.VersionFigures(ctx, scope, "1m", time.Now())
	if err != nil {
		return nil, err
	}
	figures := map[string]canary.Figures{}
	for _, b := range plan.Backends {
		if version, err := plan.FigureVersion(b.Name); err == nil {
			if f, ok := byVersion[version]; ok {
				figures[b.Name] = f
			}
		}
	}
	return figures, nil
}

// figureScope is whose requests count for the plan's figures, and who reports them.
func figureScope(plan *canary.Plan) telemetry.VersionScope {
	services, waypoint := plan.FigureScope()
	scope := telemetry.VersionScope{Namespace: plan.Service.Namespace, Services: services, Reporter: "destination"}
	if waypoint {
		scope.Reporter = "waypoint"
	}
	return scope
}

func (o *CanaryOptions) print(ctx context.Context, plan *canary.Plan, written []change.Change) error {
	isStatus := o.Request.Percent == nil && !o.Request.Promote && !o.Request.Rollback
	if isStatus && (o.Output == output.JSON || o.Output == output.YAML) {
		// A status reports, as every other command's -o json does; the route is what
		// kubectl get prints.
		return output.PrintValue(o.streams.Out, o.Output, plan.Report(o.liveFigures(ctx, plan)))
	}
	if o.Output != "" {
		return o.printObject(plan, written, isStatus)
	}
	if isStatus {
		return canary.WriteStatus(o.streams.Out, plan, o.liveFigures(ctx, plan))
	}
	suffix := ""
	if plan.Changed {
		suffix = o.dryRun.Suffix()
	}
	_, err := fmt.Fprintln(o.streams.Out, plan.Summary()+suffix)
	return err
}

// printObject prints the route for -o: as written, or as it is when nothing changed.
func (o *CanaryOptions) printObject(plan *canary.Plan, written []change.Change, isStatus bool) error {
	if len(written) > 0 {
		return output.PrintChanges(o.streams.Out, o.Output, written, o.dryRun.Suffix())
	}
	if plan.Route == nil {
		fmt.Fprintf(o.streams.ErrOut, "%s: no VirtualService or HTTPRoute routes it\n", plan.Service)
		return nil
	}
	operation := "unchanged" + o.dryRun.Suffix()
	if isStatus {
		operation = ""
	}
	return output.Print(o.streams.Out, o.Output, output.Object{GVK: plan.Route.GroupVersionKind(), Object: plan.Route, Operation: operation})
}
