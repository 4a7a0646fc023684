package telemetry

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/whatif"
)

// edgeLabels name an edge as the proxy that enforced policy for it saw it, and how it connected;
// the cluster IDs keep apart the same edge in two clusters of a mesh, decided by each one's
// policies.
const edgeLabels = "reporter, source_workload, source_workload_namespace, source_principal, source_cluster, destination_workload, destination_workload_namespace, destination_app, destination_version, destination_service_name, destination_service_namespace, destination_cluster, connection_security_policy, request_protocol, response_flags"

// refused matches the response flags of what policy refused, as refusedFlags does in PromQL.
var refused = regexp.MustCompile("^(?:" + refusedFlags + ")$")

// ObservedEdges reads every edge into namespaces (nil: every namespace) over window, with its
// requests (TCP: connections) counted and those policy refused among them: unlike
// ObservedCallers, refused traffic is kept, since a change may let it in. Edges come from the
// reports that know the caller: the destination's (sidecar, or ztunnel) and the waypoint's
// (which name the original caller; a request the waypoint refused names no destination
// workload, so its Service's namespace is matched). Two queries, run at once, whatever the
// mesh's size.
func (p *Prometheus) ObservedEdges(ctx context.Context, namespaces []string, window string, at time.Time) ([]whatif.Observation, error) {
	workloadNS, serviceNS := namespaceMatcher("destination_workload_namespace", namespaces), namespaceMatcher("destination_service_namespace", namespaces)
	requests := func(reporter, namespace string) string {
		return fmt.Sprintf(`sum by (%s, response_code, grpc_response_status) (increase(istio_requests_total{reporter=%q%s}[%s]))`, edgeLabels, reporter, namespace, window)
	}
	queries := []string{
		requests(whatif.ReporterDestination, workloadNS) + " or " + requests(whatif.ReporterWaypoint, serviceNS),
		fmt.Sprintf(`sum by (%s) (increase(istio_tcp_connections_opened_total{reporter=%q%s}[%s]))`, edgeLabels, whatif.ReporterDestination, workloadNS, window),
	}
	vectors := make([]model.Vector, len(queries))
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Go(func() { vectors[i], errs[i] = p.Query(ctx, q, at) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return edgesOf(slices.Concat(vectors...)), nil
}

// namespaceMatcher is the label matcher for namespaces, "" for all of them.
func namespaceMatcher(label string, namespaces []string) string {
	switch len(namespaces) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(",%s=%q", label, namespaces[0])
	}
	quoted := make([]string, len(namespaces))
	for i, ns := range namespaces {
		quoted[i] = regexp.QuoteMeta(ns)
	}
	return fmt.Sprintf(",%s=~%q", label, strings.Join(quoted, "|"))
}

// edgesOf sums the samples of each edge (a series per response code and flag) into one
// observation, counting what policy refused.
func edgesOf(samples model.Vector) []whatif.Observation {
	index := map[whatif.Observation]int{}
	var out []whatif.Observation
	for _, s := range samples {
		if float64(s.Value) <= 0 {
			continue
		}
		l := func(name string) string { return known(string(s.Metric[model.LabelName(name)])) }
		o := whatif.Observation{
			Reporter: l("reporter"),
			Source: whatif.Source{Workload: l("source_workload"), Namespace: l("source_workload_namespace"),
				Principal: strings.TrimPrefix(l("source_principal"), "spiffe://"), Cluster: l("source_cluster")},
			Destination: whatif.Destination{Workload: l("destination_workload"), Namespace: l("destination_workload_namespace"),
				App: l("destination_app"), Version: string(s.Metric["destination_version"]), Service: l("destination_service_name"), Cluster: l("destination_cluster")},
			MTLS:     l("connection_security_policy") == "mutual_tls",
			Protocol: l("request_protocol"),
		}
		if o.Protocol == "" {
			o.Protocol = "tcp"
		}
		if service := l("destination_service_namespace"); o.Destination.Namespace == "" {
			o.Destination.Namespace = service
		} else if service != o.Destination.Namespace {
			o.Destination.Service = "" // a Service of another namespace: not the pod's
		}
		i, seen := index[o]
		if !seen {
			i = len(out)
			index[o] = i
			out = append(out, o)
		}
		out[i].Requests += float64(s.Value)
		if l("response_code") == "403" || l("grpc_response_status") == "7" || refused.MatchString(l("response_flags")) {
			out[i].Refused += float64(s.Value)
		}
	}
	return out
}

// known is a label's value, "" for Istio's "unknown".
func known(v string) string {
	if v == "unknown" {
		return ""
	}
	return v
}
