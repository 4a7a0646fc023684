// Package graph builds the service graph from Istio's standard metrics: one edge per (source
// workload, destination workload, protocol), each request counted once, with rates, errors,
// latency quantiles and the share of mTLS; and renders it as a table, JSON, YAML, DOT or
// Mermaid. Everything here is pure: samples in, edges out.
package graph

import (
	"math"
	"sort"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// Workload is one end of an edge.
type Workload struct {
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
	App       string `json:"app"`
	Version   string `json:"version"`
	// Service is the destination service's host (destinations only).
	Service string `json:"service,omitempty"`
}

// Name is "namespace/workload", or "unknown" for a caller without a sidecar.
func (w Workload) Name() string {
	if w.Workload == "unknown" || w.Workload == "" {
		if w.Service != "" && w.Service != "unknown" {
			return w.Service
		}
		return "unknown"
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
	// AuthorizationPolicy denial gives.
	ClientErrorRate float64  `json:"clientErrorRate"`
	DeniedRate      float64  `json:"deniedRate"`
	P50Ms           *float64 `json:"p50Ms"`
	P95Ms           *float64 `json:"p95Ms"`
	P99Ms           *float64 `json:"p99Ms"`
	// BytesPerSecond is sent plus received, for TCP edges.
	BytesPerSecond float64 `json:"bytesPerSecond"`
	// MTLS is the share of traffic the destination received over mutual TLS; null when no
	// destination proxy reported the edge (the destination has no sidecar, or nothing reached it).
	MTLS *float64 `json:"mtls"`
	// Reporter says whose reports the figures come from: destination, or source when the
	// destination never saw the traffic.
	Reporter string `json:"reporter"`
	// Warning names a contradiction between the telemetry and the destination's mTLS policy.
	Warning string `json:"warning,omitempty"`
}

// Graph is every edge with traffic in Window.
type Graph struct {
	Window string `json:"window"`
	Edges  []Edge `json:"edges"`
}

// noUpstream are Envoy response flags of requests that never reached a destination proxy
// (no healthy upstream, no route, no cluster, upstream connection failure or overflow): only
// the source reports them.
var noUpstream = map[string]bool{"UH": true, "NR": true, "NC": true, "UF": true, "UO": true, "URX": true}

type key struct {
	src, dst Workload
	protocol string
}

func keyOf(m model.Metric) key {
	l := func(name string) string { return string(m[model.LabelName(name)]) }
	return key{
		src:      Workload{Namespace: l("source_workload_namespace"), Workload: l("source_workload"), App: l("source_app"), Version: l("source_version")},
		dst:      Workload{Namespace: l("destination_workload_namespace"), Workload: l("destination_workload"), App: l("destination_app"), Version: l("destination_version"), Service: l("destination_service")},
		protocol: l("request_protocol"),
	}
}

// tally is what one reporter saw of an edge.
type tally struct {
	total, serverErrors, clientErrors, denied, mtls float64
	unreached                                       float64 // source only: never reached a destination
	unreachedErrors                                 float64
}

// Build computes the graph from samples. namespace, when set, keeps edges into or out of it.
func Build(s *telemetry.Samples, window, namespace string) *Graph {
	dest, src := map[key]*tally{}, map[key]*tally{}
	var order []key
	seen := map[key]bool{}
	note := func(k key) {
		if !seen[k] {
			seen[k] = true
			order = append(order, k)
		}
	}
	for _, sample := range s.Requests {
		v := float64(sample.Value)
		if math.IsNaN(v) || v == 0 {
			continue
		}
		k := keyOf(sample.Metric)
		note(k)
		byReporter := dest
		if sample.Metric["reporter"] == "source" {
			byReporter = src
		}
		t := byReporter[k]
		if t == nil {
			t = &tally{}
			byReporter[k] = t
		}
		code := string(sample.Metric["response_code"])
		t.total += v
		failed := code == "0" || strings.HasPrefix(code, "5")
		if failed {
			t.serverErrors += v
		}
		if strings.HasPrefix(code, "4") {
			t.clientErrors += v
		}
		if code == "403" {
			t.denied += v
		}
		if sample.Metric["connection_security_policy"] == "mutual_tls" {
			t.mtls += v
		}
		if noUpstream[string(sample.Metric["response_flags"])] || code == "0" {
			t.unreached += v
			if failed {
				t.unreachedErrors += v
			}
		}
	}
	tcp := tcpTallies(s, note)
	latency := indexLatency(s.Latency)

	g := &Graph{Window: window, Edges: []Edge{}}
	for _, k := range order {
		var e *Edge
		if k.protocol == "tcp" {
			e = tcp.edge(k)
		} else {
			e = requestEdge(k, dest[k], src[k])
		}
		if e == nil {
			continue
		}
		if namespace != "" && e.Source.Namespace != namespace && e.Destination.Namespace != namespace {
			continue
		}
		setLatency(e, k, latency)
		g.Edges = append(g.Edges, *e)
	}
	return g
}

// requestEdge counts each request once: the destination's report when it has one, plus what
// only the source saw (requests that never reached the destination).
func requestEdge(k key, d, s *tally) *Edge {
	e := &Edge{Source: k.src, Destination: k.dst, Protocol: k.protocol}
	var t tally
	switch {
	case d != nil && d.total > 0:
		t = *d
		e.Reporter = "destination"
		share := d.mtls / d.total
		e.MTLS = &share
		if s != nil {
			t.total += s.unreached
			t.serverErrors += s.unreachedErrors
		}
	case s != nil && s.total > 0:
		t = *s
		e.Reporter = "source"
	default:
		return nil
	}
	e.RPS = t.total
	e.ErrorRate = t.serverErrors / t.total
	e.ClientErrorRate = t.clientErrors / t.total
	e.DeniedRate = t.denied / t.total
	return e
}

type tcpTally struct{ bytes, mtls float64 }

type tcpEdges struct{ dest, src map[key]*tcpTally }

func tcpTallies(s *telemetry.Samples, note func(key)) tcpEdges {
	t := tcpEdges{dest: map[key]*tcpTally{}, src: map[key]*tcpTally{}}
	for _, vector := range []model.Vector{s.TCPSent, s.TCPRecv} {
		for _, sample := range vector {
			v := float64(sample.Value)
			if math.IsNaN(v) || v == 0 {
				continue
			}
			k := keyOf(sample.Metric)
			k.protocol = "tcp"
			note(k)
			byReporter := t.dest
			if sample.Metric["reporter"] == "source" {
				byReporter = t.src
			}
			tt := byReporter[k]
			if tt == nil {
				tt = &tcpTally{}
				byReporter[k] = tt
			}
			tt.bytes += v
			if sample.Metric["connection_security_policy"] == "mutual_tls" {
				tt.mtls += v
			}
		}
	}
	return t
}

func (t tcpEdges) edge(k key) *Edge {
	e := &Edge{Source: k.src, Destination: k.dst, Protocol: "tcp"}
	switch d, s := t.dest[k], t.src[k]; {
	case d != nil && d.bytes > 0:
		e.BytesPerSecond, e.Reporter = d.bytes, "destination"
		share := d.mtls / d.bytes
		e.MTLS = &share
	case s != nil && s.bytes > 0:
		e.BytesPerSecond, e.Reporter = s.bytes, "source"
	default:
		return nil
	}
	return e
}

// quantileKey finds one reporter's quantile of one edge.
type quantileKey struct {
	quantile float64
	reporter string
	edge     key
}

// indexLatency reads the quantile vectors once, so that looking an edge up costs O(1).
func indexLatency(latency map[float64]model.Vector) map[quantileKey]float64 {
	index := map[quantileKey]float64{}
	for quantile, vector := range latency {
		for _, sample := range vector {
			v := float64(sample.Value)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			index[quantileKey{quantile, string(sample.Metric["reporter"]), keyOf(sample.Metric)}] = v
		}
	}
	return index
}

// setLatency takes each quantile from the same reporter as the edge's counts.
func setLatency(e *Edge, k key, latency map[quantileKey]float64) {
	if e.Protocol == "tcp" {
		return
	}
	get := func(q float64) *float64 {
		if v, ok := latency[quantileKey{q, e.Reporter, k}]; ok {
			return &v
		}
		return nil
	}
	e.P50Ms, e.P95Ms, e.P99Ms = get(0.5), get(0.95), get(0.99)
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
