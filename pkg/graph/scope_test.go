package graph

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// crossNamespaceSamples: shop/frontend calls stock/api through a shared waypoint in
// namespace mesh, and web/proxy calls stock/api through it too; a sidecar mesh of its own
// (other/a -> other/b) shares the Prometheus.
func crossNamespaceSamples() *telemetry.Samples {
	frontend := end{"shop", "frontend", "frontend", "v1"}
	proxy := end{"web", "proxy", "proxy", "v1"}
	api := end{"stock", "api", "api", "v1"}
	waypoint := end{"mesh", "waypoint", "waypoint", "unknown"}
	a, b := end{"other", "a", "a", "v1"}, end{"other", "b", "b", "v1"}
	tcp := func(reporter string, src, dst end, security string, v float64) *model.Sample {
		return sample(reporter, src, dst, "api", "tcp", map[string]string{"connection_security_policy": security}, v)
	}
	s := &telemetry.Samples{
		Requests: model.Vector{
			req("waypoint", frontend, api, "api", "200", "-", "mutual_tls", 4),
			req("waypoint", proxy, api, "api", "200", "-", "mutual_tls", 2),
			req("destination", a, b, "b", "200", "-", "mutual_tls", 1),
		},
		Durations: []*telemetry.Histogram{latency("waypoint", frontend, api, "api", 40), latency("waypoint", proxy, api, "api", 20), latency("destination", a, b, "b", 5)},
	}
	for _, vector := range []*model.Vector{&s.TCPSent, &s.TCPRecv} {
		*vector = model.Vector{
			tcp("destination", frontend, waypoint, "mutual_tls", 100),
			tcp("destination", proxy, waypoint, "mutual_tls", 50),
			tcp("destination", waypoint, api, "mutual_tls", 150),
		}
	}
	s.TCPOpened = model.Vector{tcp("destination", frontend, waypoint, "mutual_tls", 1), tcp("destination", waypoint, api, "mutual_tls", 1)}
	return s
}

// The graph of a namespace, from the series with the namespace on either side plus what
// OutsideScope asks for, is the graph of the whole mesh cut to the namespace.
func TestOutsideScopeCompletesANamespacesGraph(t *testing.T) {
	full := crossNamespaceSamples()
	for _, namespace := range []string{"shop", "mesh", "stock", "other"} {
		t.Run(namespace, func(t *testing.T) {
			want := Build(full, "5m", namespace)
			scoped := pick(full, telemetry.Scope{Namespace: namespace}, nil)
			parts := OutsideScope(scoped, namespace)
			for _, part := range parts {
				scoped.Add(pick(full, part.Scope, part.Queries))
			}
			got := Build(scoped, "5m", namespace)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("scoped graph\n%+v\nwant\n%+v\n(further parts: %+v)", got.Edges, want.Edges, parts)
			}
		})
	}
	if parts := OutsideScope(pick(full, telemetry.Scope{Namespace: "other"}, nil), "other"); len(parts) != 0 {
		t.Errorf("a namespace without waypoints elsewhere needs no further query: %+v", parts)
	}
	if parts := OutsideScope(pick(full, telemetry.Scope{Namespace: "shop"}, nil), "shop"); len(parts) != 1 || parts[0].Queries[0] != telemetry.QueryTCPSent {
		t.Errorf("shop needs the waypoint's hop into stock/api: %+v", parts)
	}
}

// pick is what Prometheus answers a query of scope: the samples it selects, of the named
// queries (all when none is named).
func pick(s *telemetry.Samples, scope telemetry.Scope, queries []string) *telemetry.Samples {
	wanted := func(name string) bool {
		return len(queries) == 0 || strings.Contains(strings.Join(queries, ","), name)
	}
	selects := func(m model.Metric) bool {
		if scope.Selector != "" {
			return matches(m, scope.Selector)
		}
		return scope.Namespace == "" || string(m["source_workload_namespace"]) == scope.Namespace || string(m["destination_workload_namespace"]) == scope.Namespace
	}
	vector := func(name string, in model.Vector) model.Vector {
		var out model.Vector
		for _, sample := range in {
			if wanted(name) && selects(sample.Metric) {
				out = append(out, sample)
			}
		}
		return out
	}
	out := &telemetry.Samples{
		Requests: vector(telemetry.QueryRequests, s.Requests), TCPSent: vector(telemetry.QueryTCPSent, s.TCPSent),
		TCPRecv: vector(telemetry.QueryTCPRecv, s.TCPRecv), TCPOpened: vector(telemetry.QueryTCPOpened, s.TCPOpened),
	}
	for _, h := range s.Durations {
		if wanted(telemetry.QueryDurations) && selects(h.Metric) {
			out.Durations = append(out.Durations, h)
		}
	}
	return out
}

// matches evaluates a PromQL matcher list of = and =~ matchers, as OutsideScope writes them.
func matches(m model.Metric, selector string) bool {
	for _, matcher := range strings.Split(selector, ",") {
		name, value, regex := strings.Cut(matcher, "=~")
		if !regex {
			name, value, _ = strings.Cut(matcher, "=")
		}
		value, err := strconv.Unquote(value)
		if err != nil {
			panic(err)
		}
		if !regex {
			value = regexp.QuoteMeta(value)
		}
		if !regexp.MustCompile("^(?:" + value + ")$").MatchString(string(m[model.LabelName(name)])) {
			return false
		}
	}
	return true
}
