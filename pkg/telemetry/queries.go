package telemetry

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
)

// EdgeLabels identify an edge in Istio's standard metrics: who called whom, through which
// service. Every query groups by them (and by reporter), across all namespaces at once.
var EdgeLabels = []string{
	"reporter",
	"source_workload", "source_workload_namespace", "source_app", "source_version",
	"destination_workload", "destination_workload_namespace", "destination_app", "destination_version",
	"destination_service", "request_protocol",
}

// Samples are the query results the graph is computed from.
type Samples struct {
	Requests model.Vector // rate by edge, response_code, response_flags, connection_security_policy
	Latency  map[float64]model.Vector
	TCPSent  model.Vector // rate by edge, connection_security_policy
	TCPRecv  model.Vector
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

// Queries are the PromQL queries for a window: seven, however many namespaces and workloads
// the mesh has, and whichever proxies report (sidecars, ztunnel, waypoints: by reporter).
func Queries(window string) map[string]string {
	q := map[string]string{
		"requests": fmt.Sprintf("sum by (%s) (rate(istio_requests_total[%s]))", by("response_code", "response_flags", "connection_security_policy"), window),
		"tcpSent":  fmt.Sprintf("sum by (%s) (rate(istio_tcp_sent_bytes_total[%s]))", by("connection_security_policy"), window),
		"tcpRecv":  fmt.Sprintf("sum by (%s) (rate(istio_tcp_received_bytes_total[%s]))", by("connection_security_policy"), window),
		"tcpOpen":  fmt.Sprintf("sum by (%s) (rate(istio_tcp_connections_opened_total[%s]))", by("connection_security_policy", "response_flags"), window),
	}
	for _, quantile := range Quantiles {
		q[fmt.Sprintf("p%g", quantile*100)] = fmt.Sprintf("histogram_quantile(%g, sum by (%s) (rate(istio_request_duration_milliseconds_bucket[%s])))", quantile, by("le"), window)
	}
	return q
}

// Fetch runs the queries in parallel, all evaluated at the same instant.
func (p *Prometheus) Fetch(ctx context.Context, window string, at time.Time) (*Samples, error) {
	queries := Queries(window)
	results := make(map[string]model.Vector, len(queries))
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	for name, query := range queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := p.Query(ctx, query, at)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			results[name] = v
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	s := &Samples{Requests: results["requests"], TCPSent: results["tcpSent"], TCPRecv: results["tcpRecv"], TCPOpened: results["tcpOpen"], Latency: map[float64]model.Vector{}, Queries: len(queries), Evaluated: at}
	for _, quantile := range Quantiles {
		s.Latency[quantile] = results[fmt.Sprintf("p%g", quantile*100)]
	}
	return s, nil
}
