package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// A generated mesh: in each namespace genI, bookinfo's shape (five workloads), four edges:
// three HTTP calls (one of them failing 2% of the time) and one TCP connection, each reported
// by both of its sidecars, as Istio's standard metrics with every label Istio sets and the
// labels a kubernetes-pods scrape adds.

// Istio's default bucket bounds for istio_request_duration_milliseconds.
var durationBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

type workload struct{ name, app, version string }

var workloads = []workload{
	{"productpage-v1", "productpage", "v1"},
	{"details-v1", "details", "v1"},
	{"reviews-v1", "reviews", "v1"},
	{"reviews-v2", "reviews", "v2"},
	{"ratings-v1", "ratings", "v1"},
}

type edge struct {
	src, dst  int // indexes into workloads
	service   string
	protocol  string  // http or tcp
	rps       float64 // requests (http) or connections (tcp) per second
	errorRate float64 // share answered 503
	medianMs  float64
}

func edgesOf(i int) []edge {
	scale := 1 + float64(i%7)/2 // namespaces differ, deterministically
	return []edge{
		{src: 0, dst: 1, service: "details", protocol: "http", rps: 8 * scale, medianMs: 3},
		{src: 0, dst: 2, service: "reviews", protocol: "http", rps: 4 * scale, medianMs: 9},
		{src: 0, dst: 3, service: "reviews", protocol: "http", rps: 4 * scale, errorRate: 0.02, medianMs: 35},
		{src: 3, dst: 4, service: "ratings", protocol: "tcp", rps: 0.5 * scale},
	}
}

// series is one time series: its labels, and its value as a function of seconds since the
// start of the data.
type series struct {
	labels string
	value  func(elapsed float64) float64
}

// mesh holds every series of the generated mesh, by metric family.
type mesh struct {
	cluster  string // source_cluster and destination_cluster of every series
	families []family
	series   int
}

type family struct {
	name, kind string // "istio_requests", "counter"
	series     []series
}

// generate builds the mesh's telemetry as the proxies of cluster (the cluster ID their
// istiod runs with) report it.
func generate(namespaces int, cluster string) *mesh {
	m := &mesh{cluster: cluster, families: []family{
		{name: "istio_requests", kind: "counter"},
		{name: "istio_request_duration_milliseconds", kind: "histogram"},
		{name: "istio_tcp_sent_bytes", kind: "counter"},
		{name: "istio_tcp_received_bytes", kind: "counter"},
		{name: "istio_tcp_connections_opened", kind: "counter"},
		{name: "istio_tcp_connections_closed", kind: "counter"},
	}}
	for i := 1; i <= namespaces; i++ {
		ns := fmt.Sprintf("gen%d", i)
		for _, e := range edgesOf(i) {
			for _, reporter := range []string{"source", "destination"} {
				m.addEdge(ns, i, e, reporter)
			}
		}
	}
	for _, f := range m.families {
		m.series += len(f.series)
	}
	return m
}

// counter grows at rate per second from a non-zero start, as a long-running proxy's does.
func counter(rate float64) func(float64) float64 {
	return func(elapsed float64) float64 { return rate * (3600 + elapsed) }
}

func (m *mesh) addEdge(ns string, i int, e edge, reporter string) {
	src, dst := workloads[e.src], workloads[e.dst]
	scrapeOf := dst
	if reporter == "source" {
		scrapeOf = src
	}
	base := fmt.Sprintf(`job="kubernetes-pods",namespace=%q,pod="%s-6d8f9c7b5-%05d",instance="10.%d.%d.%d:15020",reporter=%q,`+
		`source_workload=%q,source_workload_namespace=%q,source_principal="spiffe://cluster.local/ns/%s/sa/bookinfo-%s",source_app=%q,source_version=%q,source_cluster=%q,source_canonical_service=%q,source_canonical_revision=%q,`+
		`destination_workload=%q,destination_workload_namespace=%q,destination_principal="spiffe://cluster.local/ns/%s/sa/bookinfo-%s",destination_app=%q,destination_version=%q,destination_service="%s.%s.svc.cluster.local",destination_service_name=%q,destination_service_namespace=%q,destination_cluster=%q,destination_canonical_service=%q,destination_canonical_revision=%q,`+
		`connection_security_policy=%q`,
		ns, scrapeOf.name, i, i/250, i%250, e.dst*2+len(reporter)%2, reporter,
		src.name, ns, ns, src.app, src.app, src.version, m.cluster, src.app, src.version,
		dst.name, ns, ns, dst.app, dst.app, dst.version, e.service, ns, e.service, ns, m.cluster, dst.app, dst.version,
		map[bool]string{true: "mutual_tls", false: "unknown"}[reporter == "destination"])
	if e.protocol == "tcp" {
		m.families[2].series = append(m.families[2].series, series{base + `,request_protocol="tcp",response_flags="-"`, counter(e.rps * 420)})
		m.families[3].series = append(m.families[3].series, series{base + `,request_protocol="tcp",response_flags="-"`, counter(e.rps * 1800)})
		m.families[4].series = append(m.families[4].series, series{base + `,request_protocol="tcp",response_flags="-"`, counter(e.rps)})
		m.families[5].series = append(m.families[5].series, series{base + `,request_protocol="tcp",response_flags="-"`, counter(e.rps)})
		return
	}
	median := e.medianMs
	if reporter == "source" {
		median++ // the client's sidecar also counts its own hop
	}
	for _, outcome := range []struct {
		code, flags string
		share       float64
		medianMs    float64
	}{{"200", "-", 1 - e.errorRate, median}, {"503", "-", e.errorRate, 1}} {
		if outcome.share == 0 {
			continue
		}
		labels := fmt.Sprintf(`%s,request_protocol="http",response_code=%q,grpc_response_status="",response_flags=%q`, base, outcome.code, outcome.flags)
		rate := e.rps * outcome.share
		m.families[0].series = append(m.families[0].series, series{labels, counter(rate)})
		for _, le := range durationBuckets {
			// Exponentially distributed latencies with the outcome's median.
			below := 1 - math.Exp(-le*math.Ln2/outcome.medianMs)
			m.families[1].series = append(m.families[1].series, series{fmt.Sprintf(`%s,le="%g"`, labels, le), counter(rate * below)})
		}
		m.families[1].series = append(m.families[1].series,
			series{labels + `,le="+Inf"`, counter(rate)},
			series{"count:" + labels, counter(rate)},
			series{"sum:" + labels, counter(rate * outcome.medianMs / math.Ln2)})
	}
}

// writeOpenMetrics writes every series at each scrape from start to end, family by family
// as OpenMetrics requires, each series' samples in time order as promtool requires.
func (m *mesh) writeOpenMetrics(out io.Writer, start, end time.Time, scrape time.Duration) error {
	w := bufio.NewWriterSize(out, 1<<20)
	for _, f := range m.families {
		fmt.Fprintf(w, "# TYPE %s %s\n", f.name, f.kind)
		for t := start; !t.After(end); t = t.Add(scrape) {
			elapsed := t.Sub(start).Seconds()
			stamp := fmt.Sprintf("%.3f", float64(t.UnixMilli())/1000)
			for _, s := range f.series {
				name, labels := f.name+"_total", s.labels
				if f.kind == "histogram" {
					name = f.name + "_bucket"
					if rest, ok := strings.CutPrefix(labels, "sum:"); ok {
						name, labels = f.name+"_sum", rest
					} else if rest, ok := strings.CutPrefix(labels, "count:"); ok {
						name, labels = f.name+"_count", rest
					}
				}
				fmt.Fprintf(w, "%s{%s} %g %s\n", name, labels, s.value(elapsed), stamp)
			}
		}
	}
	fmt.Fprintln(w, "# EOF")
	return w.Flush()
}
