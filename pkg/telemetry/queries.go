package telemetry

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
)

// EdgeLabels identify an edge in Istio's standard metrics: who called whom, through which
// service, as which reporter saw it. Every query groups by them.
var EdgeLabels = []string{
	"reporter",
	"source_workload", "source_workload_namespace", "source_app", "source_version", "source_cluster",
	"destination_workload", "destination_workload_namespace", "destination_app", "destination_version", "destination_cluster",
	"destination_service", "request_protocol",
}

// Samples are the query results the graph is computed from.
type Samples struct {
	Requests model.Vector // rate by edge, response_code, response_flags, connection_security_policy
	// Durations are the request duration histograms (istio_request_duration_milliseconds) by
	// edge, their buckets as rates: the graph's quantiles are computed from them.
	Durations []*Histogram
	TCPSent   model.Vector // rate by edge, connection_security_policy
	TCPRecv   model.Vector
	// TCPOpened is connections opened per second by edge, connection_security_policy and
	// response_flags (DENY: refused by policy): what ztunnel reports of every connection,
	// HTTP or not, in ambient mode.
	TCPOpened model.Vector
	Queries   int
	Evaluated time.Time
}

// Quantiles the graph reports.
var Quantiles = []float64{0.5, 0.95, 0.99}

func by(extra ...string) string {
	return strings.Join(append(append([]string{}, EdgeLabels...), extra...), ", ")
}

// Scope says which series a query reads: every series (the zero Scope), the series with
// Namespace on either side of the edge, or those a Selector picks.
type Scope struct {
	Namespace string
	// Selector is a PromQL label matcher list ("a=\"b\",c=~\"d\"") for series outside the
	// namespace that the graph of the namespace needs (the hops of a waypoint elsewhere).
	Selector string
}

// rate is the per-second rate of metric over window, of the scope's series only: Prometheus
// then reads a namespace's series, not the whole mesh's, and the sum stays exact because a
// series with the namespace on both sides is the same series on both sides of the "or".
func (s Scope) rate(metric, window string) string {
	switch {
	case s.Selector != "":
		return fmt.Sprintf("rate(%s{%s}[%s])", metric, s.Selector, window)
	case s.Namespace != "":
		return fmt.Sprintf("rate(%s{destination_workload_namespace=%q}[%s]) or rate(%s{source_workload_namespace=%q}[%s])",
			metric, s.Namespace, window, metric, s.Namespace, window)
	}
	return fmt.Sprintf("rate(%s[%s])", metric, window)
}

// The queries, by name.
const (
	QueryRequests  = "requests"
	QueryDurations = "durations"
	QueryTCPSent   = "tcpSent"
	QueryTCPRecv   = "tcpRecv"
	QueryTCPOpened = "tcpOpen"
)

// Queries are the PromQL queries for a window: five, however large the mesh or the scope,
// and whichever proxies report (sidecars, ztunnel, waypoints: told apart by reporter). The
// latency quantiles come from one query of the buckets, not one query per quantile.
func Queries(window string, scope Scope) map[string]string {
	return map[string]string{
		QueryRequests:  fmt.Sprintf("sum by (%s) (%s)", by("response_code", "response_flags", "connection_security_policy"), scope.rate("istio_requests_total", window)),
		QueryDurations: fmt.Sprintf("sum by (%s) (%s)", by("le"), scope.rate("istio_request_duration_milliseconds_bucket", window)),
		QueryTCPSent:   fmt.Sprintf("sum by (%s) (%s)", by("connection_security_policy"), scope.rate("istio_tcp_sent_bytes_total", window)),
		QueryTCPRecv:   fmt.Sprintf("sum by (%s) (%s)", by("connection_security_policy"), scope.rate("istio_tcp_received_bytes_total", window)),
		QueryTCPOpened: fmt.Sprintf("sum by (%s) (%s)", by("connection_security_policy", "response_flags"), scope.rate("istio_tcp_connections_opened_total", window)),
	}
}

// Part is some of the queries (all when Queries is empty) over one scope.
type Part struct {
	Scope   Scope
	Queries []string
}

// Fetch runs every query of scope in parallel, all evaluated at the same instant, decoding
// each answer as it arrives.
func (p *Prometheus) Fetch(ctx context.Context, window string, scope Scope, at time.Time) (*Samples, error) {
	return p.FetchParts(ctx, window, at, []Part{{Scope: scope}})
}

// FetchParts runs the queries of every part in parallel, evaluated at the same instant; the
// parts' scopes must not overlap, or a series would count twice.
func (p *Prometheus) FetchParts(ctx context.Context, window string, at time.Time, parts []Part) (*Samples, error) {
	type job struct{ name, query string }
	var jobs []job
	for _, part := range parts {
		queries := Queries(window, part.Scope)
		names := part.Queries
		if len(names) == 0 {
			names = slices.Sorted(maps.Keys(queries))
		}
		for _, name := range names {
			jobs = append(jobs, job{name, queries[name]})
		}
	}
	s := &Samples{Queries: len(jobs), Evaluated: at}
	vectors := map[string]*model.Vector{QueryRequests: &s.Requests, QueryTCPSent: &s.TCPSent, QueryTCPRecv: &s.TCPRecv, QueryTCPOpened: &s.TCPOpened}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, j := range jobs {
		wg.Go(func() {
			var (
				vector model.Vector
				err    error
			)
			if j.name == QueryDurations {
				var histograms histogramSet // one per answer: add is not safe for concurrent use
				err = p.stream(ctx, j.query, at, histograms.add)
				mu.Lock()
				s.Durations = append(s.Durations, histograms.list...)
				mu.Unlock()
			} else {
				vector, err = p.Query(ctx, j.query, at)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if v := vectors[j.name]; v != nil {
				*v = append(*v, vector...)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return s, nil
}

// Add appends other's series to s: the answers over another scope, disjoint from s's.
func (s *Samples) Add(other *Samples) {
	s.Requests = append(s.Requests, other.Requests...)
	s.Durations = append(s.Durations, other.Durations...)
	s.TCPSent = append(s.TCPSent, other.TCPSent...)
	s.TCPRecv = append(s.TCPRecv, other.TCPRecv...)
	s.TCPOpened = append(s.TCPOpened, other.TCPOpened...)
	s.Queries += other.Queries
}
