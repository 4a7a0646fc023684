package graph

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

var (
	ambGateway     = end{"amb", "bookinfo-gateway-istio", "bookinfo-gateway-istio", "unknown"}
	ambProductpage = end{"amb", "productpage-v1", "productpage", "v1"}
	ambReviews     = end{"amb", "reviews-v1", "reviews", "v1"}
	ambDetails     = end{"amb", "details-v1", "details", "v1"}
	ambWaypoint    = end{"amb", "waypoint", "waypoint", "unknown"}
)

// ambientSamples are what ztunnel and a waypoint report in namespace amb: productpage calls
// reviews through the waypoint (the waypoint reports the requests; ztunnel the two hops as
// TCP) and details directly (ztunnel alone, as TCP); a client outside the mesh sends
// productpage plaintext, which ztunnel reports with connection_security_policy unknown.
func ambientSamples() *telemetry.Samples {
	tcp := func(reporter string, src, dst end, service, security string, v float64) *model.Sample {
		return sample(reporter, src, dst, service, "tcp", map[string]string{"connection_security_policy": security}, v)
	}
	s := &telemetry.Samples{}
	s.Requests = model.Vector{
		// A gateway with its own proxy calls productpage: it reports the request, ztunnel the
		// connection under it.
		req("source", ambGateway, ambProductpage, "productpage", "200", "-", "unknown", 5),
		req("waypoint", ambProductpage, ambReviews, "reviews", "200", "-", "mutual_tls", 9),
		req("waypoint", ambProductpage, ambReviews, "reviews", "503", "-", "mutual_tls", 1),
	}
	s.Durations = []*telemetry.Histogram{latency("waypoint", ambProductpage, ambReviews, "reviews", 8)}
	for _, vector := range []*model.Vector{&s.TCPSent, &s.TCPRecv} {
		*vector = model.Vector{
			tcp("source", ambProductpage, ambWaypoint, "reviews", "unknown", 500),
			tcp("destination", ambProductpage, ambWaypoint, "reviews", "mutual_tls", 500),
			tcp("source", ambWaypoint, ambReviews, "reviews", "unknown", 600),
			tcp("destination", ambWaypoint, ambReviews, "reviews", "mutual_tls", 600),
			tcp("source", ambProductpage, ambDetails, "details", "unknown", 300),
			tcp("destination", ambProductpage, ambDetails, "details", "mutual_tls", 300),
			tcp("destination", unknown, ambProductpage, "productpage", "unknown", 100),
			tcp("destination", ambGateway, ambProductpage, "productpage", "mutual_tls", 400),
		}
	}
	s.TCPOpened = model.Vector{
		tcp("destination", ambProductpage, ambWaypoint, "reviews", "mutual_tls", 2),
		tcp("destination", ambWaypoint, ambReviews, "reviews", "mutual_tls", 2),
		tcp("destination", ambProductpage, ambDetails, "details", "mutual_tls", 3),
		tcp("source", ambProductpage, ambDetails, "details", "unknown", 3),
		// STRICT refuses the plaintext client: ztunnel reports its connections as DENY.
		sample("destination", unknown, ambProductpage, "productpage", "tcp", map[string]string{"connection_security_policy": "unknown", "response_flags": "DENY"}, 0.5),
	}
	return s
}

// Each call counted once, whoever reports it: the waypoint's HTTP edge with its hops folded in
// (mTLS from the hop into reviews), ztunnel's TCP edges once rather than once per reporter.
func TestBuildAmbient(t *testing.T) {
	g := Build(ambientSamples(), "5m", "")
	if len(g.Edges) != 4 {
		t.Fatalf("%d edges, want 4 (the waypoint's hops and the gateway's connections folded in): %+v", len(g.Edges), g.Edges)
	}
	ingress := find(t, g, "amb/bookinfo-gateway-istio", "amb/productpage-v1")
	if ingress.Protocol != "http" || ingress.Reporter != "source" || !near(ingress.RPS, 5) || ingress.MTLS == nil || *ingress.MTLS != 1 {
		t.Errorf("the gateway's calls, mTLS from ztunnel: %+v", ingress)
	}
	call := find(t, g, "amb/productpage-v1", "amb/reviews-v1")
	if call.Protocol != "http" || call.Reporter != "waypoint" || call.Waypoint != "amb/waypoint" || !near(call.RPS, 10) || !near(call.ErrorRate, 0.1) || call.MTLS == nil || *call.MTLS != 1 || call.P99Ms == nil {
		t.Errorf("call through the waypoint: %+v", call)
	}
	direct := find(t, g, "amb/productpage-v1", "amb/details-v1")
	if direct.Protocol != "tcp" || !near(direct.BytesPerSecond, 600) || !near(direct.ConnectionsPerSecond, 3) || direct.Reporter != "destination" || *direct.MTLS != 1 {
		t.Errorf("ztunnel's edge: %+v", direct)
	}
	plaintext := find(t, g, "unknown", "amb/productpage-v1")
	if plaintext.MTLS == nil || *plaintext.MTLS != 0 || plaintext.DeniedRate != 1 {
		t.Errorf("plaintext into ztunnel, refused: %+v", plaintext)
	}
	for _, format := range []string{"wide", "json"} {
		t.Run(format, func(t *testing.T) {
			var out bytes.Buffer
			g.Sort("rps")
			if err := Render(&out, g, format, Style{}); err != nil {
				t.Fatal(err)
			}
			golden.Compare(t, filepath.Join("testdata", "ambient-"+format+".golden"), out.String())
		})
	}
}
