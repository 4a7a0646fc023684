package graph

import (
	"bytes"
	"math"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

type end struct{ ns, workload, app, version string }

var (
	ingress     = end{"istio-system", "istio-ingressgateway", "istio-ingressgateway", "unknown"}
	productpage = end{"default", "productpage-v1", "productpage", "v1"}
	reviews1    = end{"default", "reviews-v1", "reviews", "v1"}
	details     = end{"default", "details-v1", "details", "v1"}
	ratings     = end{"default", "ratings-v1", "ratings", "v1"}
	reviews2    = end{"default", "reviews-v2", "reviews", "v2"}
	mongodb     = end{"default", "mongodb-v1", "mongodb", "v1"}
	legacy      = end{"legacy", "sleep", "sleep", "unknown"}
	unknown     = end{"unknown", "unknown", "unknown", "unknown"}
)

func sample(reporter string, src, dst end, service, protocol string, extra map[string]string, value float64) *model.Sample {
	m := model.Metric{
		"reporter": model.LabelValue(reporter), "request_protocol": model.LabelValue(protocol),
		"source_workload_namespace": model.LabelValue(src.ns), "source_workload": model.LabelValue(src.workload),
		"source_app": model.LabelValue(src.app), "source_version": model.LabelValue(src.version),
		"destination_workload_namespace": model.LabelValue(dst.ns), "destination_workload": model.LabelValue(dst.workload),
		"destination_app": model.LabelValue(dst.app), "destination_version": model.LabelValue(dst.version),
		"destination_service": model.LabelValue(service + ".default.svc.cluster.local"),
	}
	for k, v := range extra {
		m[model.LabelName(k)] = model.LabelValue(v)
	}
	return &model.Sample{Metric: m, Value: model.SampleValue(value)}
}

func req(reporter string, src, dst end, service, code, flags, security string, value float64) *model.Sample {
	return sample(reporter, src, dst, service, "http", map[string]string{"response_code": code, "response_flags": flags, "connection_security_policy": security}, value)
}

// latency is a request duration histogram whose requests all took at most bound ms, spread
// evenly: its q-quantile is q*bound. A bound of 0 is a histogram without requests.
func latency(reporter string, src, dst end, service string, bound float64) *telemetry.Histogram {
	count := 10.0
	if bound == 0 {
		bound, count = 1, 0
	}
	return &telemetry.Histogram{
		Metric:  sample(reporter, src, dst, service, "http", nil, 0).Metric,
		Buckets: []telemetry.Bucket{{UpperBound: bound, Count: count}, {UpperBound: math.Inf(1), Count: count}},
	}
}

// meshSamples is a small mesh that has every case the graph must count right.
func meshSamples() *telemetry.Samples {
	s := &telemetry.Samples{}
	s.Requests = model.Vector{
		// Both proxies report the gateway's calls: counted once, from the destination.
		req("destination", ingress, productpage, "productpage", "200", "-", "mutual_tls", 10),
		req("source", ingress, productpage, "productpage", "200", "-", "unknown", 10),
		// A caller without a sidecar: only the destination reports, as unknown, in plaintext.
		req("destination", unknown, productpage, "productpage", "200", "-", "none", 2),
		// 503s from the app, and resets the destination never saw (source only): both errors.
		req("destination", productpage, reviews1, "reviews", "200", "-", "mutual_tls", 4),
		req("destination", productpage, reviews1, "reviews", "503", "-", "mutual_tls", 1),
		req("source", productpage, reviews1, "reviews", "200", "-", "unknown", 4),
		req("source", productpage, reviews1, "reviews", "503", "-", "unknown", 1),
		req("source", productpage, reviews1, "reviews", "0", "UF", "unknown", 0.3),
		// No healthy upstream: no destination workload, the source alone knows.
		req("source", productpage, unknown, "reviews", "503", "UH", "unknown", 0.5),
		// Partial mTLS and denials.
		req("destination", productpage, details, "details", "200", "-", "mutual_tls", 3),
		req("destination", productpage, details, "details", "200", "-", "none", 1),
		req("destination", productpage, details, "details", "403", "-", "mutual_tls", 1),
		req("source", productpage, details, "details", "200", "-", "unknown", 4),
		req("source", productpage, details, "details", "403", "-", "unknown", 1),
		// A destination without a sidecar: the source alone reports.
		req("source", reviews2, ratings, "ratings", "200", "-", "unknown", 2),
		// STRICT refusing a sidecar in another namespace that sends plaintext: reset, source only.
		req("source", legacy, productpage, "productpage", "0", "UF", "unknown", 0.25),
		// Series with no traffic in the window are not edges.
		req("destination", reviews2, details, "details", "200", "-", "mutual_tls", 0),
	}
	s.Durations = []*telemetry.Histogram{
		latency("destination", ingress, productpage, "productpage", 200), latency("source", ingress, productpage, "productpage", 220),
		latency("destination", productpage, reviews1, "reviews", 10),
		latency("source", reviews2, ratings, "ratings", 6),
		latency("destination", productpage, details, "details", 0),
		latency("destination", unknown, productpage, "productpage", 250),
	}
	tcp := func(reporter, security string, v float64) *model.Sample {
		return sample(reporter, ratings, mongodb, "mongodb", "tcp", map[string]string{"connection_security_policy": security}, v)
	}
	s.TCPSent = model.Vector{tcp("destination", "mutual_tls", 2000), tcp("source", "unknown", 300)}
	s.TCPRecv = model.Vector{tcp("destination", "mutual_tls", 300), tcp("source", "unknown", 2000)}
	return s
}

func find(t *testing.T, g *Graph, src, dst string) Edge {
	t.Helper()
	for _, e := range g.Edges {
		if e.Source.Name() == src && e.Destination.Name() == dst {
			return e
		}
	}
	t.Fatalf("no edge %s -> %s in %v", src, dst, g.Edges)
	return Edge{}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestBuildCountsEachRequestOnce(t *testing.T) {
	g := Build(meshSamples(), "5m", "")
	if len(g.Edges) != 8 {
		t.Errorf("%d edges, want 8: %v", len(g.Edges), g.Edges)
	}
	gw := find(t, g, "istio-system/istio-ingressgateway", "default/productpage-v1")
	if gw.RPS != 10 || gw.Reporter != "destination" || *gw.MTLS != 1 || *gw.P50Ms != 100 || *gw.P99Ms != 198 || *gw.P95Ms != 190 {
		t.Errorf("gateway edge: %+v", gw)
	}
	plain := find(t, g, "unknown", "default/productpage-v1")
	if plain.RPS != 2 || *plain.MTLS != 0 || *plain.P99Ms != 247.5 {
		t.Errorf("plaintext edge: %+v", plain)
	}
	rv := find(t, g, "default/productpage-v1", "default/reviews-v1")
	if !near(rv.RPS, 5.3) || !near(rv.ErrorRate, 1.3/5.3) || *rv.MTLS != 1 {
		t.Errorf("reviews edge: rps %v errors %v", rv.RPS, rv.ErrorRate)
	}
	uh := find(t, g, "default/productpage-v1", "reviews.default.svc.cluster.local")
	if uh.RPS != 0.5 || uh.ErrorRate != 1 || uh.MTLS != nil || uh.Reporter != "source" {
		t.Errorf("no-healthy-upstream edge: %+v", uh)
	}
	dt := find(t, g, "default/productpage-v1", "default/details-v1")
	if dt.RPS != 5 || !near(*dt.MTLS, 0.8) || !near(dt.DeniedRate, 0.2) || !near(dt.ClientErrorRate, 0.2) || dt.ErrorRate != 0 || dt.P50Ms != nil {
		t.Errorf("details edge: %+v", dt)
	}
	sidecarless := find(t, g, "default/reviews-v2", "default/ratings-v1")
	if sidecarless.RPS != 2 || sidecarless.MTLS != nil || sidecarless.Reporter != "source" || *sidecarless.P50Ms != 3 {
		t.Errorf("edge to a destination without sidecar: %+v", sidecarless)
	}
	refused := find(t, g, "legacy/sleep", "default/productpage-v1")
	if refused.RPS != 0.25 || refused.ErrorRate != 1 {
		t.Errorf("refused edge: %+v", refused)
	}
	db := find(t, g, "default/ratings-v1", "default/mongodb-v1")
	if db.Protocol != "tcp" || db.BytesPerSecond != 2300 || *db.MTLS != 1 || db.P99Ms != nil || db.RPS != 0 {
		t.Errorf("tcp edge: %+v", db)
	}
}

func TestBuildFiltersByNamespace(t *testing.T) {
	g := Build(meshSamples(), "5m", "legacy")
	if len(g.Edges) != 1 || g.Edges[0].Source.Name() != "legacy/sleep" {
		t.Errorf("edges touching legacy: %v", g.Edges)
	}
	if g := Build(meshSamples(), "5m", "istio-system"); len(g.Edges) != 1 {
		t.Errorf("edges touching istio-system: %v", g.Edges)
	}
}

func TestCheckMTLS(t *testing.T) {
	strict := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "default", "namespace": "default"},
		"spec":     map[string]any{"mtls": map[string]any{"mode": "STRICT"}},
	}}
	detailsOff := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "details-legacy", "namespace": "default"},
		"spec":     map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "details"}}, "mtls": map[string]any{"mode": "DISABLE"}},
	}}
	g := Build(meshSamples(), "5m", "")
	CheckMTLS(g, []*unstructured.Unstructured{strict, detailsOff}, "istio-system")
	if w := find(t, g, "unknown", "default/productpage-v1").Warning; w != "plaintext received (100%) where peerauthentication default/default sets STRICT" {
		t.Errorf("plaintext under STRICT: %q", w)
	}
	if w := find(t, g, "default/productpage-v1", "default/details-v1").Warning; w != "mTLS received (80%) where peerauthentication default/details-legacy sets DISABLE" {
		t.Errorf("mTLS under DISABLE: %q", w)
	}
	if w := find(t, g, "istio-system/istio-ingressgateway", "default/productpage-v1").Warning; w != "" {
		t.Errorf("all-mTLS edge under STRICT flagged: %q", w)
	}
}

func TestRenderGolden(t *testing.T) {
	g := Build(meshSamples(), "5m", "")
	CheckMTLS(g, nil, "istio-system")
	g.Sort("p99")
	for _, format := range Formats {
		for _, style := range []Style{{}, {Symbols: true}} {
			if style.Symbols && format != "table" {
				continue
			}
			name := format
			if style.Symbols {
				name += "-terminal"
			}
			t.Run(name, func(t *testing.T) {
				var out bytes.Buffer
				if err := Render(&out, g, format, style); err != nil {
					t.Fatal(err)
				}
				golden.Compare(t, filepath.Join("testdata", name+".golden"), out.String())
			})
		}
	}
}

func TestSort(t *testing.T) {
	g := Build(meshSamples(), "5m", "")
	g.Sort("rps")
	if first := g.Edges[0]; first.RPS != 10 {
		t.Errorf("--sort rps: first edge %v", first)
	}
	g.Sort("errors")
	if first := g.Edges[0]; first.ErrorRate != 1 {
		t.Errorf("--sort errors: first edge %v", first)
	}
	g.Sort("p99")
	if first := g.Edges[0]; first.P99Ms == nil || *first.P99Ms != 247.5 {
		t.Errorf("--sort p99: first edge %v", first)
	}
}

// Planning cost over a synthetic mesh of 1,000 workloads, each calling five others, both
// reporters, a duration histogram each: the PromQL side is always five queries.
func BenchmarkBuild1000Workloads(b *testing.B) {
	s := &telemetry.Samples{}
	for i := range 1000 {
		src := end{"ns" + string(rune('a'+i%20)), "w" + itoa(i), "w" + itoa(i), "v1"}
		for j := 1; j <= 5; j++ {
			dst := end{"ns" + string(rune('a'+(i+j)%20)), "w" + itoa((i+j)%1000), "w" + itoa((i+j)%1000), "v1"}
			for _, reporter := range []string{"source", "destination"} {
				s.Requests = append(s.Requests, req(reporter, src, dst, "svc", "200", "-", "mutual_tls", 1), req(reporter, src, dst, "svc", "503", "-", "mutual_tls", 0.1))
				s.Durations = append(s.Durations, latency(reporter, src, dst, "svc", 10))
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		g := Build(s, "5m", "")
		g.Sort("p99")
	}
	b.ReportMetric(float64(len(telemetry.Queries("5m", telemetry.Scope{}))), "queries")
	b.ReportMetric(float64(len(s.Requests)+2*len(s.Durations)), "samples")
}

func itoa(i int) string {
	return string([]byte{byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)})
}
