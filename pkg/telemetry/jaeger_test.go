package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/traces"
)

// jaegerServing answers Jaeger's API from testdata/jaeger-traces.json, recorded from the
// sandbox's Jaeger: a trace through the gateway, productpage, details and reviews of
// bookinfo-gateway-api, and a trace reviews' proxy started for its call to ratings.
func jaegerServing(t *testing.T) (*Jaeger, *[]string) {
	t.Helper()
	recorded, err := os.ReadFile("testdata/jaeger-traces.json")
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path+"?"+r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/jaeger/api/services":
			fmt.Fprint(w, `{"data":["ratings.default","reviews.default"],"total":2}`)
		case "/jaeger/api/traces":
			w.Write(recorded)
		default:
			w.Header().Set("Content-Type", "text/html")
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	j, err := JaegerLocator{FlagURL: srv.URL + "/jaeger/"}.Locate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return j, &asked
}

func TestJaegerTracesReadIstioSpans(t *testing.T) {
	j, asked := jaegerServing(t)
	from := time.Unix(1000, 0)
	all, err := j.Traces(context.Background(), "reviews.default", from, from.Add(time.Minute), 20)
	if err != nil {
		t.Fatal(err)
	}
	if want := "/jaeger/api/traces?end=1060000000&limit=20&service=reviews.default&start=1000000000"; (*asked)[0] != want {
		t.Errorf("asked %s, want %s", (*asked)[0], want)
	}
	if len(all) != 2 || len(all[0].Spans) != 6 || len(all[1].Spans) != 2 {
		t.Fatalf("decoded %d traces", len(all))
	}
	var got []string
	for _, s := range all[0].Spans {
		got = append(got, fmt.Sprintf("%s %s %s calls=%s parent=%s code=%d", s.Workload, s.Kind, s.ID, s.Calls, s.ParentID, s.StatusCode))
	}
	// Workloads with their istio.canonical_revision (the gateway's spans carry none).
	want := []string{
		"bookinfo-gateway-api/reviews@v1 server f1b5a0cce9ea5960 calls= parent=b2c5571bb154a645 code=200",
		"istio-system/istio-ingressgateway client 869ff739ae648018 calls=bookinfo-gateway-api/productpage parent= code=200",
		"bookinfo-gateway-api/productpage@v1 client 3d8b42a29b8e0d11 calls=bookinfo-gateway-api/details parent=7e042b967beae121 code=200",
		"bookinfo-gateway-api/productpage@v1 client b2c5571bb154a645 calls=bookinfo-gateway-api/reviews-v1 parent=7e042b967beae121 code=200",
		"bookinfo-gateway-api/productpage@v1 server 7e042b967beae121 calls= parent=869ff739ae648018 code=200",
		"bookinfo-gateway-api/details@v1 server 4919de33d6199df2 calls= parent=3d8b42a29b8e0d11 code=200",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("spans:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if root, _ := all[0].Root(); root.ID != "869ff739ae648018" || all[0].Duration() != 18964*time.Microsecond {
		t.Errorf("root %s, duration %v", root.ID, all[0].Duration())
	}
	// The second trace is the lost hop: reviews' client span is its root.
	if root, _ := all[1].Root(); root.Kind != traces.Client || root.Workload.Service != "reviews" || root.Workload.Revision == "" {
		t.Errorf("second trace's root %+v", root)
	}
}

func TestJaegerErrors(t *testing.T) {
	j, _ := jaegerServing(t)
	j.url += "/wrong-base"
	_, err := j.Services(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not its API's JSON") || !strings.Contains(err.Error(), "base path") {
		t.Errorf("wrong base path: %v", err)
	}
	gone, err := JaegerLocator{FlagURL: "http://127.0.0.1:1/jaeger"}.Locate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gone.Services(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "cannot reach Jaeger at --jaeger-url http://127.0.0.1:1/jaeger") {
		t.Errorf("unreachable: %v", err)
	}
	if _, err := (JaegerLocator{FlagURL: "localhost:16686"}).Locate(context.Background()); err == nil || !strings.Contains(err.Error(), "not an http:// or https:// URL") {
		t.Errorf("bad URL: %v", err)
	}
	t.Setenv(EnvJaegerURL, "")
	if _, err := (JaegerLocator{}).Locate(context.Background()); err == nil || !strings.Contains(err.Error(), "pass --jaeger-url") {
		t.Errorf("nowhere to look: %v", err)
	}
}

func TestCalledService(t *testing.T) {
	for _, tt := range []struct{ cluster, operation, want string }{
		{"outbound|9080|v1|reviews.default.svc.cluster.local", "", "default/reviews"},
		{"", "ratings.shop.svc.cluster.local:9080/*", "shop/ratings"},
		{"outbound|443||api.example.com", "api.example.com:443/*", ""},
		{"inbound|9080||", "", ""},
		{"PassthroughCluster", "", ""},
	} {
		if got := calledService(tt.cluster, tt.operation); got.String() != tt.want {
			t.Errorf("calledService(%q, %q) = %q, want %q", tt.cluster, tt.operation, got, tt.want)
		}
	}
}

// Jaeger's answers of any shape (spans referring to missing parents or to themselves, cycles,
// odd tags) make traces, trees, critical paths and verdicts, never a panic or a hang.
func FuzzJaegerTraces(f *testing.F) {
	recorded, err := os.ReadFile("testdata/jaeger-traces.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(recorded)
	f.Add([]byte(`{"data":[{"traceID":"t","spans":[{"spanID":"a","references":[{"refType":"CHILD_OF","spanID":"a"}],"duration":5},{"spanID":"b","references":[{"spanID":"a"}],"startTime":-9,"duration":-3,"tags":[{"key":"span.kind","value":"client"},{"key":"upstream_cluster","value":"outbound|1||x.y.svc.z"}]}]}]}`))
	f.Add([]byte(`{"data":[{"traceID":"t","spans":[{"spanID":"a","references":[{"spanID":"b"}]},{"spanID":"b","references":[{"spanID":"a"}]}],"processes":{"p":{"serviceName":7}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var answer struct {
			Data []jaegerTrace `json:"data"`
		}
		if json.Unmarshal(data, &answer) != nil {
			return
		}
		var all []traces.Trace
		for _, jt := range answer.Data {
			tr := jt.trace()
			_ = traces.NewTraceReport(tr, "")
			all = append(all, tr)
		}
		_ = traces.Check(traces.EdgesOf(all), all)
		_ = traces.SlowestPerEdge(all)
	})
}
