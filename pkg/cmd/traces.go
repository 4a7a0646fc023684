package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/traces"
)

// TracesOptions show the slowest traces, or check where trace context is lost.
type TracesOptions struct {
	clusterOptions

	Service   string
	Window    string
	Slowest   int
	Limit     int
	Output    string
	Check     bool
	FailOn    string
	JaegerURL string

	window           time.Duration
	serviceNamespace string // from SERVICE.NAMESPACE
}

const tracesLong = `Show the slowest traces through SERVICE (or entering the namespace) in the window, from the
spans Istio's proxies send to Jaeger: each trace as a tree of its spans (service, kind,
operation, duration, status code, share of the trace's time), the critical path (the spans the
request waited on) marked with *, and the trace ID, to open in Jaeger.

--check judges each edge with traffic in the window (Prometheus's, as graph shows them; the
traces' own when Prometheus cannot be found): a callee's span hanging under its caller's
trace shows the caller forwards the trace headers; a caller that receives traced requests
while its calls start new traces drops them, and is named with what to forward. An edge with
fewer than 5 traces is unknown: sampling caught too little of it to judge.

Jaeger is --jaeger-url (its query service, with its base path), else $MESH_JAEGER_URL, else
Istio's addon in the cluster (service tracing in istio-system or --jaeger-namespace, port 80,
under /jaeger) reached through the API server's service proxy.`

const tracesExample = `  # The 5 slowest requests through reviews in the last 15 minutes
  kubectl mesh traces reviews -n default

  # The 10 slowest entering namespace shop in the last hour, for scripts
  kubectl mesh traces -n shop --window 1h --slowest 10 -o json

  # Which service drops the trace headers
  kubectl mesh traces -n default --check

  # In CI: fail when reviews or one of its callers drops the trace headers
  kubectl mesh traces reviews -n default --check --fail-on drops`

// tracesFormats are traces' -o values.
var tracesFormats = []string{"table", output.JSON, output.YAML}

// NewCmdTraces returns kubectl mesh traces.
func NewCmdTraces(getter mesh.ClientGetter, streams genericiooptions.IOStreams) *cobra.Command {
	o := &TracesOptions{clusterOptions: clusterOptions{getter: getter, streams: streams}}
	c := &cobra.Command{
		Use:     "traces [SERVICE]",
		Short:   "Show the slowest traces and their critical path, or check which hop loses trace context",
		Long:    tracesLong,
		Example: tracesExample,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Service = args[0]
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	f := c.Flags()
	windowVar(f, &o.Window, "15m", "How far back to look (30s, 15m, 1h).")
	f.IntVar(&o.Slowest, "slowest", 5, "How many traces to show, slowest first.")
	f.IntVar(&o.Limit, "limit", 500, "Traces to read from Jaeger per service (Jaeger returns the most recent).")
	f.StringVarP(&o.Output, "output", "o", "table", "One of: table, json, yaml.")
	f.BoolVar(&o.Check, "check", false, "Judge each edge (into or out of SERVICE, when given): does the caller forward the trace context?")
	f.StringVar(&o.FailOn, "fail-on", "none", "With --check: exit 1 when a hop drops the trace context, wholly or in part (drops), or never (none).")
	f.StringVar(&o.JaegerURL, "jaeger-url", "", "Jaeger's query service, base path included (default: $MESH_JAEGER_URL, else found in the cluster).")
	o.prom.addFlags(c, "Prometheus, for --check's edges.")
	o.addTelemetryNamespaceFlags(c, true)
	// SERVICE completes from the namespace's Services, whose names Istio's canonical
	// services usually are.
	c.ValidArgsFunction = func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completer{getter}.services(cmd, args, prefix)
	}
	completeFlag(c, "output", fixedValues(tracesFormats...))
	completeFlag(c, "fail-on", fixedValues("none", "drops"))
	return c
}

// Validate checks the flags without the cluster, Jaeger or Prometheus.
func (o *TracesOptions) Validate() error {
	if err := o.prom.validate(); err != nil {
		return err
	}
	window, err := model.ParseDuration(o.Window)
	if err != nil || window <= 0 {
		return fmt.Errorf("--window %q is not a duration: use one such as 30s, 15m or 1h", o.Window)
	}
	o.window = time.Duration(window)
	switch {
	case o.Slowest < 1:
		return fmt.Errorf("--slowest %d: show at least 1 trace", o.Slowest)
	case o.Limit < 1:
		return fmt.Errorf("--limit %d: read at least 1 trace per service", o.Limit)
	case !contains(tracesFormats, o.Output):
		return fmt.Errorf("unknown output format %q for -o: use one of %s", o.Output, strings.Join(tracesFormats, ", "))
	case o.FailOn != "none" && o.FailOn != "drops":
		return fmt.Errorf("--fail-on %q: use drops or none", o.FailOn)
	case o.FailOn == "drops" && !o.Check:
		return fmt.Errorf("--fail-on drops judges --check's verdicts: add --check")
	}
	if svc, ns, ok := strings.Cut(o.Service, "."); ok { // SERVICE.NAMESPACE, as Jaeger names it
		o.Service, o.serviceNamespace = svc, ns
	}
	return nil
}

// Run finds Jaeger, reads the window's traces and prints the slowest, or the --check.
func (o *TracesOptions) Run(ctx context.Context) error {
	jaeger, err := o.connect(ctx)
	if err != nil {
		return err
	}
	to := time.Now()
	from := to.Add(-o.window)
	known, err := jaeger.Services(ctx)
	if err != nil {
		return err
	}
	if len(known) == 0 {
		return fmt.Errorf("Jaeger at %s holds no traces at all: is tracing on in the mesh (meshConfig.enableTracing, a Telemetry resource) and sending to this Jaeger?", jaeger.Where)
	}
	if o.Check {
		return o.check(ctx, jaeger, known, from, to)
	}
	return o.slowest(ctx, jaeger, known, from, to)
}

// connect resolves the namespace and finds Jaeger. Without a cluster, a Jaeger given by flag
// or environment still answers, across namespaces unless -n says one.
func (o *TracesOptions) connect(ctx context.Context) (*telemetry.Jaeger, error) {
	given := o.JaegerURL != "" || os.Getenv(telemetry.EnvJaegerURL) != ""
	var widened string // said, not silent: the scope is wider than the user may think
	if err := o.completeCluster(); err != nil {
		if !given {
			return nil, err
		}
		o.clients = nil // no cluster to search either
		if !o.namespaceExplicit && o.serviceNamespace == "" {
			o.namespace = ""
			widened = fmt.Sprintf("no cluster to take the namespace from (%v): looking in every namespace; pass -n NAMESPACE to narrow it", mesh.Explain(err))
		}
	}
	if o.serviceNamespace != "" {
		o.namespace, o.namespaceExplicit = o.serviceNamespace, true
	}
	if o.clients != nil && o.namespace != "" {
		// Jaeger has no traces of a namespace that does not exist: say that, not "no traces".
		// Only the API server's "not found" counts: Jaeger may answer when the cluster does not.
		var missing *mesh.NamespaceNotFoundError
		if err := o.clients.CheckNamespace(ctx, o.namespace); errors.As(err, &missing) {
			return nil, err
		}
	}
	jaeger, err := o.jaegerLocator(o.JaegerURL).Locate(ctx)
	if err == nil && widened != "" {
		o.warn(widened)
	}
	return jaeger, err
}

// slowest prints the --slowest traces through the service, or with a span in the namespace.
func (o *TracesOptions) slowest(ctx context.Context, jaeger *telemetry.Jaeger, known []string, from, to time.Time) error {
	services := traces.ServicesToQuery(known, o.Service, o.namespace)
	what := o.subject()
	if len(services) == 0 {
		return fmt.Errorf("Jaeger at %s has no traces of %s (it has: %s)", jaeger.Where, what, output.Abbreviate(known, 12))
	}
	all, err := jaeger.TracesOf(ctx, services, from, to, o.Limit)
	if err != nil {
		return err
	}
	who := traces.Workload{Service: o.Service, Namespace: o.namespace}
	picked := traces.Slowest(all, o.Slowest, func(t traces.Trace) bool {
		if o.Service == "" {
			return touchesNamespace(t, o.namespace)
		}
		return t.Has(who, traces.Other)
	})
	if len(picked) == 0 {
		return fmt.Errorf("no traces of %s in the last %s in Jaeger at %s: no traffic, or none sampled (Istio samples 1%% of requests by default)", what, o.Window, jaeger.Where)
	}
	report := traces.Report{Window: o.Window, Service: o.Service, Namespace: o.namespace}
	for _, t := range picked {
		report.Traces = append(report.Traces, traces.NewTraceReport(t, jaeger.TraceURL(t.ID)))
	}
	if o.Output != "table" {
		return output.PrintValue(o.streams.Out, o.Output, report)
	}
	return traces.WriteTraces(o.streams.Out, report)
}

// touchesNamespace tells whether a span of t was reported in namespace ("": any).
func touchesNamespace(t traces.Trace, namespace string) bool {
	for _, s := range t.Spans {
		if namespace == "" || s.Workload.Namespace == namespace {
			return true
		}
	}
	return false
}

// subject names what the traces are of, for messages.
func (o *TracesOptions) subject() string {
	switch {
	case o.Service != "" && o.namespace != "":
		return "service " + o.Service + "." + o.namespace
	case o.Service != "":
		return "service " + o.Service
	case o.namespace != "":
		return "namespace " + o.namespace
	}
	return "any service"
}
