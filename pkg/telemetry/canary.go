package telemetry

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/canary"
)

// VersionScope says whose requests a canary's figures count: those for the service and its
// version Services in namespace (Gateway API routes send to the version Services, which
// Istio then reports as the destination service), as reporter saw them: the destination
// sidecar, or the waypoint in ambient mode.
type VersionScope struct {
	Namespace string
	Services  []string
	Reporter  string // "destination" or "waypoint"
	// Cluster, when set, counts only the requests served in that cluster (destination_cluster):
	// one Prometheus for the whole mesh then gives each cluster's figures.
	Cluster string
}

func (s VersionScope) selector() string {
	quoted := make([]string, len(s.Services))
	for i, name := range s.Services {
		quoted[i] = regexp.QuoteMeta(name)
	}
	reporter := s.Reporter
	if reporter == "" {
		reporter = "destination"
	}
	selector := fmt.Sprintf(`reporter=%q,destination_service_name=~%q,destination_service_namespace=%q`, reporter, strings.Join(quoted, "|"), s.Namespace)
	if s.Cluster != "" {
		selector += fmt.Sprintf(`,destination_cluster=%q`, s.Cluster)
	}
	return selector
}

// VersionQueries are the two PromQL queries VersionFigures runs: request rates by version
// and response code, and request duration buckets by version.
func VersionQueries(scope VersionScope, window string) (requests, durations string) {
	selector := scope.selector()
	return fmt.Sprintf("sum by (destination_version, response_code) (rate(istio_requests_total{%s}[%s]))", selector, window),
		fmt.Sprintf("sum by (destination_version, le) (rate(istio_request_duration_milliseconds_bucket{%s}[%s]))", selector, window)
}

// VersionFigures reads, per destination_version, the requests of scope over window: rate,
// count, error rate (5xx and code 0) and p99 (from the duration buckets). Two queries, at
// once.
func (p *Prometheus) VersionFigures(ctx context.Context, scope VersionScope, window string, at time.Time) (map[string]canary.Figures, error) {
	requestsQuery, durationsQuery := VersionQueries(scope, window)
	length, err := model.ParseDuration(window)
	if err != nil {
		return nil, fmt.Errorf("window %q: %v", window, err)
	}
	var (
		requests           model.Vector
		durations          histogramSet
		requestErr, p99Err error
		wg                 sync.WaitGroup
	)
	wg.Go(func() {
		requests, requestErr = p.Query(ctx, requestsQuery, at)
	})
	wg.Go(func() {
		p99Err = p.stream(ctx, durationsQuery, at, durations.add)
	})
	wg.Wait()
	if err := cmp.Or(requestErr, p99Err); err != nil {
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
		f.Requests = f.RPS * time.Duration(length).Seconds()
		figures[version] = f
	}
	for _, h := range durations.list {
		v := h.Quantiles(0.99)[0]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		version := string(h.Metric["destination_version"])
		f := figures[version]
		f.P99Ms, f.HasP99 = v, true
		figures[version] = f
	}
	return figures, nil
}
