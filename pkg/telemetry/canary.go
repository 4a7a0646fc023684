package telemetry

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/canary"
)

// VersionFigures reads, per destination_version of a service, its requests over window from
// the destinations' reports: rate, error rate (5xx and code 0) and p99. Two queries.
func (p *Prometheus) VersionFigures(ctx context.Context, service, namespace, window string, at time.Time) (map[string]canary.Figures, error) {
	selector := fmt.Sprintf(`reporter="destination",destination_service_name=%q,destination_service_namespace=%q`, service, namespace)
	requests, err := p.Query(ctx, fmt.Sprintf("sum by (destination_version, response_code) (rate(istio_requests_total{%s}[%s]))", selector, window), at)
	if err != nil {
		return nil, err
	}
	p99, err := p.Query(ctx, fmt.Sprintf("histogram_quantile(0.99, sum by (destination_version, le) (rate(istio_request_duration_milliseconds_bucket{%s}[%s])))", selector, window), at)
	if err != nil {
		return nil, err
	}
	figures := map[string]canary.Figures{}
	errs := map[string]float64{}
	for _, s := range requests {
		version, code := string(s.Metric["destination_version"]), string(s.Metric["response_code"])
		f := figures[version]
		f.RPS += float64(s.Value)
		figures[version] = f
		if code == "0" || strings.HasPrefix(code, "5") {
			errs[version] += float64(s.Value)
		}
	}
	for version, f := range figures {
		if f.RPS > 0 {
			f.ErrorRate = errs[version] / f.RPS
		}
		figures[version] = f
	}
	for _, s := range p99 {
		v := float64(s.Value)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		version := string(s.Metric["destination_version"])
		f := figures[version]
		f.P99Ms, f.HasP99 = v, true
		figures[version] = f
	}
	return figures, nil
}
