package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/graph"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
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
	PrometheusURL string
	At            string

	at    time.Time
	style graph.Style
}

const graphLong = `Show the service graph from Istio's standard metrics in Prometheus: every edge (source
workload -> destination workload, per protocol) with traffic in the window, with requests per
second, error rate (5xx and no response; 4xx apart, 403 = denied by policy), p50/p99 latency
(p95 with -o wide) and the share of mTLS the destination received. TCP edges show bytes per
second. Each request is counted once: from the destination's report, plus what only the source
saw (requests that never reached a destination). Callers without a sidecar appear as unknown.
An edge whose telemetry contradicts the destination's PeerAuthentication is flagged with "!".

Prometheus is --prometheus-url, else $MESH_PROMETHEUS_URL, else found in the cluster (service
prometheus in istio-system, or a service labelled app.kubernetes.io/name=prometheus or
app=prometheus) and reached through the API server's service proxy: no port-forward needed.
Seven PromQL queries, run in parallel, cover every namespace at once.`

const graphExample = `  # Edges into or out of namespace default over the last 5 minutes, slowest first
  kubectl mesh graph -n default

  # The whole mesh, busiest first, with p95, bytes and reporters
  kubectl mesh graph -A --sort rps -o wide

  # Graphviz and Mermaid
  kubectl mesh graph -n default -o dot | dot -Tsvg > mesh.svg
  kubectl mesh graph -n default -o mermaid

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
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Every edge in the mesh (default: edges into or out of the namespace).")
	f.StringVar(&o.Window, "window", "5m", "How far back to look, as a Prometheus duration (30s, 5m, 1h).")
	f.StringVarP(&o.Output, "output", "o", "table", "One of: "+strings.Join(graph.Formats, ", ")+".")
	f.StringVar(&o.Sort, "sort", graph.SortKeys[0], "Order of the table: p99 (slowest first), rps (busiest first) or errors.")
	f.BoolVarP(&o.Watch, "watch", "w", false, "Redraw every --interval until interrupted.")
	f.DurationVar(&o.Interval, "interval", 5*time.Second, "How often --watch redraws.")
	f.StringVar(&o.PrometheusURL, "prometheus-url", "", "Prometheus to query (default: $MESH_PROMETHEUS_URL, else found in the cluster).")
	f.StringVar(&o.At, "time", "", "Evaluate at this instant (RFC 3339 or Unix seconds) instead of now.")
	c.ValidArgsFunction = cobra.NoFileCompletions
	completeFlag(c, "output", fixedValues(graph.Formats...))
	completeFlag(c, "sort", fixedValues(graph.SortKeys...))
	return c
}

// Validate checks the flags without the cluster or Prometheus.
func (o *GraphOptions) Validate() error {
	if _, err := model.ParseDuration(o.Window); err != nil {
		return fmt.Errorf("--window %q is not a duration: use a Prometheus duration such as 30s, 5m or 1h", o.Window)
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
	prom, policy, err := o.connect(ctx)
	if err != nil {
		return err
	}
	f, isFile := o.streams.Out.(*os.File)
	terminal := isFile && term.IsTerminal(int(f.Fd()))
	o.style = graph.Style{Symbols: terminal && os.Getenv("NO_COLOR") == ""}
	if !o.Watch {
		return o.draw(ctx, o.streams.Out, prom, policy)
	}
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	for {
		var frame bytes.Buffer
		if err := o.draw(ctx, &frame, prom, policy); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if terminal {
			fmt.Fprint(o.streams.Out, "\033[H\033[2J") // home and clear, as watch does
		}
		fmt.Fprintf(o.streams.Out, "Every %s: kubectl mesh graph, window %s, %s\n\n", o.Interval, o.Window, time.Now().Format("15:04:05"))
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

// meshPolicy is what edges are checked against: every PeerAuthentication, and the root
// namespace that makes some of them mesh-wide. Empty when there is no cluster to read.
type meshPolicy struct {
	peerAuthentications []*unstructured.Unstructured
	rootNamespace       string
}

// connect resolves the namespace, the Prometheus to query and the PeerAuthentications to
// check edges against. Without a cluster, a Prometheus given by flag or environment still
// draws the graph, without the policy check. Warnings go to stderr.
func (o *GraphOptions) connect(ctx context.Context) (*telemetry.Prometheus, meshPolicy, error) {
	locator := telemetry.Locator{FlagURL: o.PrometheusURL}
	promGiven := o.PrometheusURL != "" || os.Getenv(telemetry.EnvPrometheusURL) != ""
	var policy meshPolicy
	err := o.completeCluster()
	if err == nil {
		err = mesh.RequireIstio(o.clients.Discovery, mesh.PeerAuthentications)
		var notInstalled *mesh.ErrIstioNotInstalled
		if errors.As(err, &notInstalled) {
			return nil, policy, err
		}
	}
	if err != nil {
		if !promGiven {
			return nil, policy, err
		}
		o.warn(fmt.Sprintf("no cluster to read PeerAuthentications from (%v): mTLS policy checks skipped", mesh.Explain(err)))
		o.AllNamespaces = o.AllNamespaces || !o.namespaceExplicit
	} else {
		locator.Services, locator.RESTConfig = o.clients.Core, o.clients.Config
		policy = o.readPolicy(ctx)
	}
	prom, err := locator.Locate(ctx)
	return prom, policy, err
}

// readPolicy lists every PeerAuthentication and reads the mesh config, in parallel.
func (o *GraphOptions) readPolicy(ctx context.Context) meshPolicy {
	var (
		policy  meshPolicy
		listErr error
		problem string
		mc      istio.MeshConfig
		wg      sync.WaitGroup
	)
	wg.Go(func() { mc, problem = o.clients.MeshConfig(ctx) })
	policy.peerAuthentications, listErr = o.clients.ListIstio(ctx, mesh.PeerAuthentications, metav1.NamespaceAll)
	wg.Wait()
	policy.rootNamespace = mc.RootNamespace
	if problem != "" {
		o.warn(problem)
	}
	if listErr != nil {
		o.warn(fmt.Sprintf("cannot list PeerAuthentications (%v): mTLS policy checks skipped", mesh.Explain(listErr)))
	}
	return policy
}

func (o *GraphOptions) draw(ctx context.Context, w io.Writer, prom *telemetry.Prometheus, policy meshPolicy) error {
	at := o.at
	if at.IsZero() {
		at = time.Now()
	}
	samples, err := prom.Fetch(ctx, o.Window, at)
	if err != nil {
		return err
	}
	namespace := o.namespace
	if o.AllNamespaces {
		namespace = ""
	}
	g := graph.Build(samples, o.Window, namespace)
	if len(samples.Requests) == 0 && len(samples.TCPSent) == 0 {
		// No rate at all: a quiet window, or a Prometheus that never saw Istio's metrics.
		// One more query tells them apart.
		series, err := prom.Query(ctx, "count(istio_requests_total) or count(istio_tcp_sent_bytes_total)", at)
		if err != nil {
			return err
		}
		if len(series) == 0 {
			return fmt.Errorf("Prometheus at %s has no Istio metrics (istio_requests_total, istio_tcp_sent_bytes_total): is it scraping the sidecars (port 15090 or 15020)?", prom.Where)
		}
	}
	graph.CheckMTLS(g, policy.peerAuthentications, policy.rootNamespace)
	g.Sort(o.Sort)
	return graph.Render(w, g, o.Output, o.style)
}
