package telemetry

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/why"
)

// EdgeQuery selects one edge of the mesh in Istio's standard metrics: the caller (its
// namespace and canonical service; "unknown" for a caller outside the mesh) and the
// destination (a Service, or a workload).
type EdgeQuery struct {
	SourceNamespace, SourceService string
	DestinationNamespace           string
	DestinationService             string // or
	DestinationWorkload            string
}

// EdgeResponses counts the requests of one edge over window by response code and flags, in
// one query: from the caller's report when its sidecar made one (it sees what never reached
// the destination), else the waypoint's, else the destination's.
func (p *Prometheus) EdgeResponses(ctx context.Context, e EdgeQuery, window string, at time.Time) ([]why.ResponseCount, error) {
	selector := fmt.Sprintf(`destination_service_namespace=%q,destination_service_name=%q`, e.DestinationNamespace, e.DestinationService)
	if e.DestinationService == "" {
		selector = fmt.Sprintf(`destination_workload_namespace=%q,destination_workload=%q`, e.DestinationNamespace, e.DestinationWorkload)
	}
	if e.SourceService == "unknown" {
		selector += `,source_workload="unknown"`
	} else {
		selector += fmt.Sprintf(`,source_workload_namespace=%q,source_canonical_service=%q`, e.SourceNamespace, e.SourceService)
	}
	q := fmt.Sprintf(`sum by (reporter, response_code, response_flags) (increase(istio_requests_total{%s}[%s]))`, selector, window)
	vector, err := p.Query(ctx, q, at)
	if err != nil {
		return nil, err
	}
	byReporter := map[string][]why.ResponseCount{}
	for _, s := range vector {
		if float64(s.Value) <= 0 {
			continue
		}
		reporter := string(s.Metric[model.LabelName("reporter")])
		byReporter[reporter] = append(byReporter[reporter], why.ResponseCount{
			Code: string(s.Metric["response_code"]), Flags: string(s.Metric["response_flags"]), Requests: float64(s.Value),
		})
	}
	for _, reporter := range []string{"source", "waypoint", "destination"} {
		if counts := byReporter[reporter]; len(counts) > 0 {
			return counts, nil
		}
	}
	return nil, nil
}
