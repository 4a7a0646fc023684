package telemetry

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/lockdown"
)

// ObservedCallers reads who called the workloads of namespace over window, from the reports
// that know the caller's identity and how it connected: the destination's (a sidecar, or
// ztunnel in ambient mode, whose plaintext shows as connection_security_policy "unknown")
// and, in ambient mode, the waypoint's, which name the original caller. HTTP and gRPC
// requests, and TCP connections: two queries, whatever the namespace's size. Only what the
// destination accepted counts: a request policy refused (403, gRPC PERMISSION_DENIED) or a
// connection ztunnel or Envoy's RBAC refused (response flag DENY, RBAC or UAEX, alone or
// among others) says the caller is denied today, not that it must stay allowed.
// refusedFlags matches the response flags of a request or connection that policy refused.
const refusedFlags = `(.*,)?(DENY|RBAC|UAEX)(,.*)?`

func (p *Prometheus) ObservedCallers(ctx context.Context, namespace, window string, at time.Time) ([]lockdown.Observation, error) {
	// reporter says how the destination is named: a sidecar by app and version, ztunnel and
	// waypoints by canonical service and revision (istio.TelemetryName).
	group := "reporter, destination_app, destination_version, source_principal, source_workload, source_workload_namespace, connection_security_policy, request_protocol"
	queries := []string{
		fmt.Sprintf(`sum by (%s) (rate(istio_requests_total{reporter=~"destination|waypoint",destination_workload_namespace=%q,response_code!="403",grpc_response_status!="7",response_flags!~%q}[%s]))`, group, namespace, refusedFlags, window),
		fmt.Sprintf(`sum by (%s) (rate(istio_tcp_connections_opened_total{reporter="destination",destination_workload_namespace=%q,response_flags!~%q}[%s]))`, group, namespace, refusedFlags, window),
	}
	// rate() over the window times the window is the count over it (what increase() gives).
	span, err := model.ParseDuration(window)
	if err != nil {
		return nil, fmt.Errorf("window %q is not a Prometheus duration", window)
	}
	seconds := time.Duration(span).Seconds()
	var out []lockdown.Observation
	for _, q := range queries {
		vector, err := p.Query(ctx, q, at)
		if err != nil {
			return nil, err
		}
		for _, s := range vector {
			if float64(s.Value) <= 0 {
				continue
			}
			l := func(name string) string { return string(s.Metric[model.LabelName(name)]) }
			protocol := l("request_protocol")
			if protocol == "" {
				protocol = "tcp"
			}
			principal := strings.TrimPrefix(l("source_principal"), "spiffe://")
			if principal == "unknown" {
				principal = ""
			}
			out = append(out, lockdown.Observation{
				Reporter:       l("reporter"),
				DestinationApp: l("destination_app"), DestinationVersion: l("destination_version"),
				SourcePrincipal: principal, SourceNamespace: l("source_workload_namespace"), SourceWorkload: l("source_workload"),
				MTLS: l("connection_security_policy") == "mutual_tls", Protocol: protocol, Rate: float64(s.Value),
				Requests: float64(s.Value) * seconds,
			})
		}
	}
	return out, nil
}
