package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/graph"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// GraphOptions draw the service graph from Istio's telemetry.
type GraphOptions struct {
	clusterOptions

	AllNamespaces bool
	Window        string
	Output        string
	Sort          string
	Watch         bool
	Interval      time.Duration
	At            string
	Traces        bool
	JaegerURL     string

	at     time.Time
	style  graph.Style
	jaeger *telemetry.Jaeger
	// dataCoversWindow: Prometheus's data is known to reach back over the window, or the
	// note that it does not was given.
	dataCoversWindow bool
}

const graphLong = `Show the service graph from Istio's standard metrics in Prometheus: every edge (source
workload -> destination workload, per protocol) with traffic in the window, with requests per
second, error rate (5xx and no response; 4xx apart, 403 = denied by policy), p50/p99 latency
(p95 with -o wide) and the share of mTLS the destination received. TCP edges show bytes per
second. Each request is counted once: from the destination's report, plus what only the source
saw (requests that never reached a destination). Callers without a sidecar appear as unknown.
An edge whose telemetry contradicts the destination's PeerAuthentication is flagged with "!".
With --traces, each edge also gets the ID of the slowest trace seen on it, from Jaeger (as
kubectl mesh traces finds it).

Prometheus is --prometheus-url, else $MESH_PROMETHEUS_URL, else found in istio-system (or the
namespace --prometheus-namespace names, and no other: service prometheus, or a service labelled
app.kubernetes.io/name=prometheus or app=prometheus) and reached through the API server's service
proxy: no port-forward needed. Which Service that is goes to stderr.
Five PromQL queries, run in parallel: with -n, over the series with the namespace on either
side, so that one namespace of a large mesh costs what the namespace costs (and, only when its
calls go through a waypoint in another namespace, a second round for that waypoint's hops);
with -A, over the whole mesh. Quantiles are computed from the bucket rates, as
histogram_quantile computes them.

With --contexts, one graph of several clusters: edges keyed by cluster (source_cluster,
destination_cluster), clusters named by the cluster ID their istiod runs with. A call between
clusters is one edge, counted once, whether Prometheus is one per cluster (each holding its
own proxies' reports) or one for the whole mesh. A cluster that does not answer is named on
stderr and the graph is drawn from the others. Prometheus given per cluster
(--prometheus-url c1=URL1 --prometheus-url c2=URL2) without --contexts: every one is read,
without the mTLS policy check, which needs the clusters.`

const graphExample = `  # Edges into or out of namespace default over the last 5 minutes, slowest first
  kubectl mesh graph -n default

  # The whole mesh, busiest first, with p95, bytes and reporters
  kubectl mesh graph -A --sort rps -o wide

  # Graphviz and Mermaid
  kubectl mesh graph -n default -o dot | dot -Tsvg > mesh.svg
  kubectl mesh graph -n default -o mermaid

  # Two clusters, each with its own Prometheus found in it, or one global Prometheus
  kubectl mesh graph -A --contexts east,west
  kubectl mesh graph -A --contexts east,west --prometheus-url http://prometheus-global:9090

  # Live, redrawn every 5 seconds
  kubectl mesh graph -n default --window 1m --watch`

// NewCmdGraph returns `kubectl mesh graph`.
func NewCmdGraph(getter mesh.ClientGetter, streams genericiooptions.IOStreams) *cobra.Command {
	o := &GraphOptions{clusterOptions: clusterOptions{getter: getter, streams: streams}}
	c := &cobra.Command{
		Use:     "graph",
		Short:   "Show the service graph: rps, errors, p50/p99 latency and mTLS per edge",
		Long:    graphLong,
		Example: graphExample,
		Args:    namespaceNoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Every edge in the mesh (default: edges into or out of the namespace).")
	windowVar(f, &o.Window, "5m", "How far back to look (30s, 5m, 1h).")
	f.StringVarP(&o.Output, "output", "o", "table", "One of: "+strings.Join(graph.Formats, ", ")+".")
	f.StringVar(&o.Sort, "sort", graph.SortKeys[0], "Order of the table: p99 (slowest first), rps (busiest first) or errors.")
	f.BoolVarP(&o.Watch, "watch", "w", false, "Redraw every --interval until interrupted.")
	durationVar(f, &o.Interval, "interval", 5*time.Second, "How often --watch redraws.")
	o.prom.addFlags(c, "Prometheus to query.")
	f.StringVar(&o.At, "time", "", "Evaluate at this instant (RFC 3339 or Unix seconds) instead of now.")
	f.BoolVar(&o.Traces, "traces", false, "Add per edge the slowest trace seen on it in the window, from Jaeger (-o wide, JSON slowestTrace).")
	f.StringVar(&o.JaegerURL, "jaeger-url", "", "Jaeger for --traces (default: $MESH_JAEGER_URL, else found in the cluster).")
	o.addTelemetryNamespaceFlags(c, true)
	o.addContextsFlag(c, "one graph of every cluster's traffic, edges keyed by cluster, a call between clusters counted once.")
	c.ValidArgsFunction = cobra.NoFileCompletions
	completeFlag(c, "output", fixedValues(graph.Formats...))
	completeFlag(c, "sort", fixedValues(graph.SortKeys...))
	return c
}

// Validate checks the flags without the cluster or Prometheus.
func (o *GraphOptions) Validate() error {
	if err := o.prom.validate(); err != nil {
		return err
	}
	if _, err := model.ParseDuration(o.Window); err != nil {
		return fmt.Errorf("--window %q is not a duration: use a Prometheus duration such as 30s, 5m or 1h", o.Window)
	}
	if err := o.validateContexts(); err != nil {
		return err
	}
	if o.multiCluster() && o.Traces {
		return fmt.Errorf("--traces reads one cluster's Jaeger: drop --traces, or graph one cluster with --context")
	}
	if !contains(graph.Formats, o.Output) {
		return fmt.Errorf("unknown output format %q for -o: use one of %s", o.Output, strings.Join(graph.Formats, ", "))
	}
	if !contains(graph.SortKeys, o.Sort) {
		return fmt.Errorf("--sort %q: use one of %s", o.Sort, strings.Join(graph.SortKeys, ", "))
	}
	if o.Watch && o.Interval < time.Second {
		return fmt.Errorf("--interval %s is too short: at least 1s", o.Interval)
	}
	if o.At != "" {
		if o.Watch {
			return fmt.Errorf("--time and --watch contradict each other: give one")
		}
		at, err := parseTime(o.At)
		if err != nil {
			return err
		}
		o.at = at
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(secs*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("--time %q: use RFC 3339 (2026-11-26T09:00:00Z) or Unix seconds", s)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Run finds Prometheus, then draws once, or again every --interval with --watch.
func (o *GraphOptions) Run(ctx context.Context) error {
	var draw func(context.Context, io.Writer) error
	if o.multiCluster() || o.prom.perCluster() {
		connect := o.connectClusters
		if !o.multiCluster() {
			connect = o.connectEntries
		}
		src, err := connect(ctx)
		if err != nil {
			return err
		}
		draw = func(ctx context.Context, w io.Writer) error { return o.drawClusters(ctx, w, src) }
	} else {
		prom, policy, err := o.connect(ctx)
		if err != nil {
			return err
		}
		if o.Watch {
			if _, err := policy(); err != nil {
				return err // no Istio, or no such namespace: no later frame would show anything else
			}
		}
		draw = func(ctx context.Context, w io.Writer) error { return o.draw(ctx, w, prom, policy) }
	}
	f, isFile := o.streams.Out.(*os.File)
	terminal := isFile && term.IsTerminal(int(f.Fd()))
	o.style = graph.Style{Symbols: terminal && os.Getenv("NO_COLOR") == ""}
	if !o.Watch {
		return draw(ctx, o.streams.Out)
	}
	return o.watch(ctx, terminal, draw)
}

// watch draws a frame every --interval until interrupted; a failed frame says why and the
// next one tries again.
func (o *GraphOptions) watch(ctx context.Context, terminal bool, draw func(context.Context, io.Writer) error) error {
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	for first := true; ; first = false {
		var frame bytes.Buffer
		if err := draw(ctx, &frame); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// A failed poll is this frame's news, not the end: the next one tries again.
			frame.Reset()
			fmt.Fprintf(&frame, "error: %v\n(trying again in %s)\n", mesh.Explain(err), o.Interval)
		}
		switch {
		case terminal:
			fmt.Fprint(o.streams.Out, "\033[H\033[2J") // home and clear, as watch does
		case !first:
			fmt.Fprintln(o.streams.Out) // in a file or a pipe, a blank line ends each frame
		}
		fmt.Fprintf(o.streams.Out, "Every %s: %s, %s\n\n", o.Interval, o.commandLine(), time.Now().Format("15:04:05"))
		if _, err := o.streams.Out.Write(frame.Bytes()); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// commandLine is the command a --watch frame shows, with what decides what it shows: the
// scope, the window, and the sort and format when they are not the defaults.
func (o *GraphOptions) commandLine() string {
	line := "kubectl mesh graph -n " + o.namespace
	if o.AllNamespaces {
		line = "kubectl mesh graph -A"
	}
	if o.multiCluster() {
		line += " --contexts " + strings.Join(o.contexts, ",")
	}
	line += " --window " + o.Window
	if o.Sort != graph.SortKeys[0] {
		line += " --sort " + o.Sort
	}
	if o.Output != "table" {
		line += " -o " + o.Output
	}
	return line
}

// noteYoungData says, once, when Prometheus's Istio metrics begin inside the window: rate()
// averages over the whole window what only its last part saw, so every figure reads low (0.95
// rps where the traffic is 4). One small request, until the data covers a window.
func (o *GraphOptions) noteYoungData(ctx context.Context, prom *telemetry.Prometheus, at time.Time) {
	if o.dataCoversWindow {
		return
	}
	window, _ := model.ParseDuration(o.Window)
	start := at.Add(-time.Duration(window))
	found, err := prom.HasIstioMetrics(ctx, start.Add(-time.Minute), start.Add(30*time.Second))
	if err != nil {
		return // the figures stand as they are; the next draw asks again
	}
	o.dataCoversWindow = true // so far as this note goes: said once
	if !found {
		fmt.Fprintf(o.streams.ErrOut, "note: Prometheus's Istio metrics begin less than %s ago: the rates are averaged over all of --window %s and read low; pass a shorter --window\n", o.Window, o.Window)
	}
}

// fetch reads the samples of namespace's edges (all edges when it is empty): the series with
// the namespace on either side, then, in ambient meshes only, the hops of waypoints elsewhere
// that its calls went through.
func (o *GraphOptions) fetch(ctx context.Context, prom *telemetry.Prometheus, namespace string, at time.Time) (*telemetry.Samples, error) {
	samples, err := prom.Fetch(ctx, o.Window, telemetry.Scope{Namespace: namespace}, at)
	if err != nil || namespace == "" {
		return samples, err
	}
	if parts := graph.OutsideScope(samples, namespace); len(parts) > 0 {
		more, err := prom.FetchParts(ctx, o.Window, at, parts)
		if err != nil {
			return nil, err
		}
		samples.Add(more)
	}
	return samples, nil
}

// frame is what a frame shows: the instant (--time, else now) and the namespace ("" with -A).
func (o *GraphOptions) frame() (time.Time, string) {
	at := o.at
	if at.IsZero() {
		at = time.Now()
	}
	if o.AllNamespaces {
		return at, ""
	}
	return at, o.namespace
}

func (o *GraphOptions) draw(ctx context.Context, w io.Writer, prom *telemetry.Prometheus, policyOf func() (meshPolicy, error)) error {
	at, namespace := o.frame()
	samples, err := o.fetch(ctx, prom, namespace, at)
	policy, istioErr := policyOf()
	if istioErr != nil {
		return istioErr
	}
	if err != nil {
		return err
	}
	g := graph.Build(samples, o.Window, namespace)
	if len(samples.Requests) == 0 && len(samples.TCPSent) == 0 && len(samples.TCPOpened) == 0 {
		// No rate at all: a quiet window, or a Prometheus that never saw Istio's metrics.
		window, _ := model.ParseDuration(o.Window)
		found, err := prom.HasIstioMetrics(ctx, at.Add(-time.Duration(window)), at)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("Prometheus at %s has no Istio metrics (istio_requests_total, istio_tcp_sent_bytes_total): is it scraping the sidecars (port 15090 or 15020)?", prom.Where)
		}
	}
	if len(g.Edges) > 0 {
		o.noteYoungData(ctx, prom, at)
	}
	if len(g.ClusterIDs()) <= 1 {
		g.DropClusters() // one cluster: naming it says nothing
	} else {
		g.AddClusters(nil) // a Prometheus holding several clusters: edges keyed by cluster
	}
	graph.CheckMTLS(g, policy.peerAuthentications, policy.rootNamespace)
	if o.Traces {
		if err := o.attachTraces(ctx, g, at); err != nil {
			return err
		}
	}
	g.Sort(o.Sort)
	return graph.Render(w, g, o.Output, o.style)
}
