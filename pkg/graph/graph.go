// Package graph builds the service graph from Istio's standard metrics: one edge per (source
// workload, destination workload, protocol), each request counted once, with rates, errors,
// latency quantiles and the share of mTLS; and renders it as a table, JSON, YAML, DOT or
// Mermaid. Everything here is pure: samples in, edges out.
package graph

import (
	"sort"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// Workload is one end of an edge.
type Workload struct {
	// Cluster is the Istio cluster ID of the workload's cluster (source_cluster,
	// destination_cluster); empty when the graph is of one cluster.
	Cluster   string `json:"cluster,omitempty"`
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
	App       string `json:"app"`
	Version   string `json:"version"`
	// Service is the destination service's host (destinations only).
	Service string `json:"service,omitempty"`
}

// Name is "namespace/workload" ("cluster/namespace/workload" in a graph of several clusters),
// or "unknown" for a caller without a sidecar.
func (w Workload) Name() string {
	if w.Workload == "unknown" || w.Workload == "" {
		if w.Service != "" && w.Service != "unknown" {
			return w.Service
		}
		return "unknown"
	}
	if w.Cluster != "" && w.Cluster != "unknown" {
		return w.Cluster + "/" + w.Namespace + "/" + w.Workload
	}
	return w.Namespace + "/" + w.Workload
}

// Edge is the traffic from one workload to another over one protocol in the window.
type Edge struct {
	Source      Workload `json:"source"`
	Destination Workload `json:"destination"`
	Protocol    string   `json:"protocol"`
	// RPS is requests per second (0 for TCP).
	RPS float64 `json:"rps"`
	// ErrorRate is the share of requests answered 5xx or not answered at all (code 0).
	ErrorRate float64 `json:"errorRate"`
	// ClientErrorRate is the share answered 4xx; DeniedRate the share answered 403, which an
	// AuthorizationPolicy denial gives (for TCP, the share of connections ztunnel refused).
	ClientErrorRate float64  `json:"clientErrorRate"`
	DeniedRate      float64  `json:"deniedRate"`
	P50Ms           *float64 `json:"p50Ms"`
	P95Ms           *float64 `json:"p95Ms"`
	P99Ms           *float64 `json:"p99Ms"`
	// BytesPerSecond is sent plus received, and ConnectionsPerSecond the connections opened,
	// for TCP edges.
	BytesPerSecond       float64 `json:"bytesPerSecond"`
	ConnectionsPerSecond float64 `json:"connectionsPerSecond"`
	// MTLS is the share of traffic the destination received over mutual TLS; null when no
	// destination proxy reported the edge (the destination is outside the mesh, or nothing
	// reached it). Through a waypoint, the share of the waypoint's connections into the
	// destination; for a call only the caller's sidecar reported, the share of the
	// connections under it that the destination's ztunnel reported.
	MTLS *float64 `json:"mtls"`
	// Reporter says whose reports the figures come from: destination (a sidecar, or ztunnel
	// in ambient mode), waypoint, or source when the destination never saw the traffic.
	Reporter string `json:"reporter"`
	// Waypoint is the waypoint the calls went through (ambient mode), as namespace/workload;
	// its own hops (caller -> waypoint, waypoint -> destination) are folded into the edge.
	Waypoint string `json:"waypoint,omitempty"`
	// Warning names a contradiction between the telemetry and the destination's mTLS policy.
	Warning string `json:"warning,omitempty"`
	// SlowestTrace is the ID of the trace in which the hop took longest (graph --traces).
	SlowestTrace string `json:"slowestTrace,omitempty"`
	// CrossCluster marks a call from one cluster into another (through an east-west gateway
	// or a flat network): one edge, counted once, whichever cluster's Prometheus reported it.
	CrossCluster bool `json:"crossCluster,omitempty"`
}

// Graph is every edge with traffic in Window.
type Graph struct {
	// Scope is the namespace whose edges these are, or output.AllNamespaces.
	Scope  string `json:"scope"`
	Window string `json:"window"`
	// Clusters are the clusters read (--contexts), by cluster ID and kubeconfig context.
	Clusters []Cluster `json:"clusters,omitempty"`
	Edges    []Edge    `json:"edges"`
}

// Cluster is one cluster of the graph: the ID telemetry names it by, and the kubeconfig
// context it was read through ("" when its telemetry came in without being asked for).
type Cluster = istio.Cluster

// Build computes the graph from samples: HTTP and gRPC edges from the requests (each counted
// once), TCP edges from the bytes and connections, the hops of waypoints folded into the
// calls they carry. namespace, when set, keeps edges into or out of it.
func Build(s *telemetry.Samples, window, namespace string) *Graph {
	var order keyOrder
	requests := tallyRequests(s.Requests, order.note)
	tcp := tcpTallies(s, order.note)
	latency := indexLatency(s.Durations)
	waypoints := findWaypoints(requests, tcp)

	g := &Graph{Scope: output.Scope(namespace), Window: window, Edges: []Edge{}}
	for _, k := range order.keys {
		var e *Edge
		if k.protocol == "tcp" {
			if waypoints.folds(k) {
				continue
			}
			e = tcp.edge(k)
		} else {
			e = requests.edge(k)
			switch {
			case e != nil && e.Reporter == "waypoint":
				waypoints.annotate(e, k, tcp)
			case e != nil && e.Reporter == "source":
				waypoints.mTLSUnder(e)
			}
		}
		if e == nil {
			continue
		}
		if namespace != "" && e.Source.Namespace != namespace && e.Destination.Namespace != namespace {
			continue
		}
		setLatency(e, k, latency)
		e.CrossCluster = crossCluster(e.Source.Cluster, e.Destination.Cluster)
		g.Edges = append(g.Edges, *e)
	}
	return g
}

// keyOrder keeps the edges in the order the samples first name them.
type keyOrder struct {
	keys []key
	seen map[key]bool
}

func (o *keyOrder) note(k key) {
	if o.seen == nil {
		o.seen = map[key]bool{}
	}
	if !o.seen[k] {
		o.seen[k] = true
		o.keys = append(o.keys, k)
	}
}

type key struct {
	src, dst Workload
	protocol string
}

func keyOf(m model.Metric) key {
	l := func(name string) string { return string(m[model.LabelName(name)]) }
	return key{
		src:      Workload{Cluster: l("source_cluster"), Namespace: l("source_workload_namespace"), Workload: l("source_workload"), App: l("source_app"), Version: l("source_version")},
		dst:      Workload{Cluster: l("destination_cluster"), Namespace: l("destination_workload_namespace"), Workload: l("destination_workload"), App: l("destination_app"), Version: l("destination_version"), Service: l("destination_service")},
		protocol: l("request_protocol"),
	}
}

// SortKeys are the orders --sort accepts: "p99" (slowest first, the default), "rps" (busiest
// first) and "errors" (highest error rate first).
var SortKeys = []string{"p99", "rps", "errors"}

// Sort orders edges by one of SortKeys; ties by name.
func (g *Graph) Sort(by string) {
	value := func(e Edge) float64 {
		switch by {
		case "rps":
			return e.RPS + e.BytesPerSecond/1e6
		case "errors":
			return e.ErrorRate
		}
		if e.P99Ms == nil {
			return -1
		}
		return *e.P99Ms
	}
	sort.SliceStable(g.Edges, func(i, j int) bool {
		vi, vj := value(g.Edges[i]), value(g.Edges[j])
		if vi != vj {
			return vi > vj
		}
		return g.Edges[i].Source.Name()+">"+g.Edges[i].Destination.Name() < g.Edges[j].Source.Name()+">"+g.Edges[j].Destination.Name()
	})
}
