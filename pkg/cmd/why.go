package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/lockdown"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/why"
)

// WhyOptions explain one request: its route, mTLS and the policy that decides it.
type WhyOptions struct {
	clusterOptions

	Method, Path string
	Port         int
	Principal    string
	JWT          string
	Window       string
	Output       string

	args  []string
	query mesh.WhyQuery
}

const whyLong = `Say which rule decides a request, step by step, as Istio would take it: the caller's data
plane; the route that matches (VirtualService or HTTPRoute rule, by path and method) and the
versions it sends to with their weights; whether each version has ready endpoints (no subset
or no endpoints: the 503 Envoy gives, with its response flag); the waypoint that carries the
Service, if any; the mTLS each side uses; and authorization at every place it is enforced
(gateway, sidecar, ztunnel, waypoint), naming the policy and rule that decide. The last line
is the verdict: allowed, denied (403 or connection reset, and where), or not routable.

SOURCE is a workload (NAME as graph names it, deploy/NAME, pod/NAME, NAME.NAMESPACE) or
"outside" (a plaintext caller with no mesh identity); --principal stands for a mesh caller
the cluster does not hold. DESTINATION is a Service (NAME, svc/NAME, NAME.NAMESPACE) or a
workload. -n is the namespace of both unless a name says otherwise.

With Prometheus reachable it adds what this edge saw in --window, by response code and flag,
and says when that disagrees with the prediction. It only reads.

Several clusters (--contexts c1,c2): in a multi-primary mesh each istiod reads its own
cluster's config. The request is followed from the caller in each cluster that runs it, by
that cluster's routes, to the destination's pods in each cluster that runs them, decided by
that cluster's policies; each way is shown under a heading naming its clusters (those that go
the same way step for step, once), then whether the verdicts differ and which policy a cluster
lacks or holds otherwise. A cluster that does not answer is named, the others explained.
Not modelled: locality and failover weights, east-west gateways and network addresses,
ambient waypoints across clusters (the destination cluster's is taken), and what Prometheus
saw of the edge.`

const whyExample = `  # Why does productpage get 403 from reviews?
  kubectl mesh why productpage reviews -n bookinfo --method GET --path /reviews/0

  # A caller in another namespace, a Service by its full name
  kubectl mesh why deploy/curl.legacy svc/productpage.bookinfo --port 9080

  # A plaintext client outside the mesh
  kubectl mesh why outside svc/productpage -n bookinfo

  # Does each cluster of the mesh decide it alike?
  kubectl mesh why productpage reviews -n bookinfo --contexts east,west

  # For scripts
  kubectl mesh why productpage reviews -n bookinfo -o json`

var whyFormats = []string{"table", output.JSON, output.YAML}

// NewCmdWhy returns kubectl mesh why.
func NewCmdWhy(getter mesh.ClientGetter, streams genericiooptions.IOStreams) *cobra.Command {
	o := &WhyOptions{clusterOptions: clusterOptions{getter: getter, streams: streams}}
	c := &cobra.Command{
		Use:     "why SOURCE DESTINATION",
		Short:   "Say which route, mTLS setting and policy rule decide a request, and the verdict",
		Long:    whyLong,
		Example: whyExample,
		RunE: func(c *cobra.Command, args []string) error {
			o.args = args
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	f := c.Flags()
	f.StringVar(&o.Method, "method", "GET", "HTTP method of the request.")
	f.StringVar(&o.Path, "path", "/", "HTTP path of the request.")
	f.IntVar(&o.Port, "port", 0, "Destination port (default: the Service's first port).")
	f.StringVar(&o.Principal, "principal", "", "Stand for a mesh caller the cluster does not hold: TRUSTDOMAIN/ns/NAMESPACE/sa/SERVICEACCOUNT (SOURCE then only names its namespace).")
	f.StringVar(&o.JWT, "jwt", "", "The request carries a valid JWT of ISSUER/SUBJECT (as requestPrincipals write it).")
	windowVar(f, &o.Window, "1h", "How far back to count what this edge saw (30m, 1h, 1d).")
	o.prom.addFlags(c, "Prometheus to read the edge's traffic from.")
	f.StringVarP(&o.Output, "output", "o", "table", "One of: table, json, yaml.")
	o.addTelemetryNamespaceFlags(c, false)
	o.addContextsFlag(c, "the request is explained along every path between them (the caller's routes from its cluster, the policies of the cluster whose pods serve it), and where the verdicts differ is said.")
	c.ValidArgsFunction = completer{getter}.whyEnds
	completeFlag(c, "output", fixedValues(whyFormats...))
	return c
}

// Validate checks arguments and flags without the cluster.
func (o *WhyOptions) Validate() error {
	if err := o.prom.validate(); err != nil {
		return err
	}
	if len(o.args) != 2 {
		return fmt.Errorf("give SOURCE and DESTINATION: kubectl mesh why SOURCE DESTINATION (got %d arguments)", len(o.args))
	}
	if err := o.validateContexts(); err != nil {
		return err
	}
	if !contains(whyFormats, o.Output) {
		return fmt.Errorf("unknown output format %q for -o: use one of %s", o.Output, strings.Join(whyFormats, ", "))
	}
	if _, err := model.ParseDuration(o.Window); err != nil {
		return fmt.Errorf("--window %q is not a duration: use a Prometheus duration such as 5m or 1h", o.Window)
	}
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("--port %d is out of range: give a port from 1 to 65535", o.Port)
	}
	if o.Principal != "" {
		if _, err := lockdown.ParsePrincipal(o.Principal, istio.DefaultMeshConfig()); err != nil {
			return fmt.Errorf("--principal: %v", err)
		}
	}
	if o.JWT != "" && !strings.Contains(o.JWT, "/") {
		return fmt.Errorf("--jwt %q: write ISSUER/SUBJECT, as requestPrincipals do", o.JWT)
	}
	if !strings.HasPrefix(o.Path, "/") {
		return fmt.Errorf("--path %q: a path starts with /", o.Path)
	}
	return nil
}

// Run resolves both ends, reads the cluster, explains and prints.
func (o *WhyOptions) Run(ctx context.Context) error {
	if o.multiCluster() {
		return o.runClusters(ctx)
	}
	if err := o.completeCluster(); err != nil {
		return err
	}
	if err := o.resolveArgs(); err != nil {
		return err
	}
	in, warnings, err := o.clients.ReadWhyInput(ctx, o.query)
	o.warn(warnings...)
	if err != nil {
		return err
	}
	in.Request = why.Request{Method: o.Method, Path: o.Path, Port: o.Port}
	if in.Request.Port == 0 && in.Service != nil && len(in.Service.Spec.Ports) > 0 {
		in.Request.Port = int(in.Service.Spec.Ports[0].Port)
	}
	report := why.Explain(in)
	report.Observed = o.observe(ctx, in, report)
	if o.Output != "table" {
		return output.PrintValue(o.streams.Out, o.Output, report)
	}
	return why.WriteText(o.streams.Out, report, in.Request)
}

// resolveArgs reads SOURCE and DESTINATION.
func (o *WhyOptions) resolveArgs() error {
	var src why.Ref
	switch {
	case o.args[0] == "outside":
		src = why.Ref{Outside: true, Namespace: o.namespace}
	default:
		ref, err := why.ParseRef(o.args[0], o.namespace)
		if err != nil {
			return fmt.Errorf("SOURCE %v", err)
		}
		src = ref
	}
	if o.Principal != "" {
		src.Principal = o.Principal
	}
	src.RequestPrincipal = o.JWT
	dst, err := why.ParseRef(o.args[1], o.namespace)
	if err != nil {
		return fmt.Errorf("DESTINATION %v", err)
	}
	o.query = mesh.WhyQuery{Source: src, Destination: dst}
	return nil
}

// observe adds what Prometheus saw of the edge, when it can be asked; nil otherwise (said).
func (o *WhyOptions) observe(ctx context.Context, in why.Input, r why.Report) *why.Observed {
	prom, err := o.locator("").Locate(ctx)
	if err != nil {
		o.warn(fmt.Sprintf("no telemetry (%v): what the edge really saw is not shown", err))
		return nil
	}
	counts, err := prom.EdgeResponses(ctx, edgeOf(in), o.Window, time.Now())
	if err != nil {
		o.warn(fmt.Sprintf("reading the edge's traffic: %v", err))
		return nil
	}
	return why.NewObserved(o.Window, counts, r.Verdict, r.Response)
}

// edgeOf names the request's edge as Istio's metrics label it: the caller by namespace and
// canonical service ("unknown" outside the mesh), the destination by Service or workload.
func edgeOf(in why.Input) telemetry.EdgeQuery {
	e := telemetry.EdgeQuery{SourceNamespace: in.Source.Namespace, SourceService: "unknown", DestinationNamespace: in.Namespace}
	if len(in.Source.Pods) > 0 && !in.Source.Outside {
		e.SourceService = why.CanonicalService(in.Source.Pods[0].Labels, in.Source.Name)
	}
	if in.Service != nil {
		e.DestinationService = in.Service.Name
	} else if len(in.WorkloadPods) > 0 {
		e.DestinationWorkload = why.WorkloadOf(&in.WorkloadPods[0])
	}
	return e
}
