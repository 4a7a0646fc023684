package cmd

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeJaeger answers Jaeger's API: the service names given, and for every trace query the
// traces recorded from the sandbox (pkg/telemetry/testdata); it counts the queries.
func fakeJaeger(t *testing.T, services ...string) (string, *atomic.Int32) {
	t.Helper()
	recorded, err := os.ReadFile("../telemetry/testdata/jaeger-traces.json")
	if err != nil {
		t.Fatal(err)
	}
	var queries atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/jaeger/api/services":
			data, _ := json.Marshal(map[string]any{"data": services})
			w.Write(data)
		case "/jaeger/api/traces":
			w.Write(recorded)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/jaeger", &queries
}

// Jaeger is asked for its services once, then once per service of the subject, in parallel.
func TestTracesQueries(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		queries int32
	}{
		{[]string{"traces", "reviews", "-n", "bookinfo-gateway-api"}, 2},
		{[]string{"traces", "reviews.bookinfo-gateway-api"}, 2},
		{[]string{"traces", "-n", "bookinfo-gateway-api"}, 1 + 3},
		{[]string{"traces", "-n", "bookinfo-gateway-api", "--check"}, 1 + 3},
	} {
		url, queries := fakeJaeger(t, "reviews.bookinfo-gateway-api", "productpage.bookinfo-gateway-api", "details.bookinfo-gateway-api", "reviews.default", "jaeger")
		stdout, stderr, code := run(nil, append(tt.args, "--jaeger-url", url)...)
		if code != 0 {
			t.Errorf("%v: exit %d\n%s", tt.args, code, stderr)
			continue
		}
		if got := queries.Load(); got != tt.queries {
			t.Errorf("%v: %d queries to Jaeger, want %d", tt.args, got, tt.queries)
		}
		if !strings.Contains(stdout, "bookinfo-gateway-api/productpage") {
			t.Errorf("%v:\n%s", tt.args, stdout)
		}
	}
}

func TestTracesSubjectNotInJaeger(t *testing.T) {
	url, _ := fakeJaeger(t, "reviews.default", "ratings.default")
	_, stderr, code := run(nil, "traces", "checkout", "-n", "shop", "--jaeger-url", url)
	if want := "error: Jaeger at --jaeger-url " + url + " has no traces of service checkout.shop (it has: reviews.default, ratings.default)\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q, want %q", code, stderr, want)
	}
	url, _ = fakeJaeger(t)
	_, stderr, code = run(nil, "traces", "--jaeger-url", url)
	if code != 1 || !strings.Contains(stderr, "holds no traces at all") {
		t.Errorf("empty Jaeger: exit %d, stderr %q", code, stderr)
	}
}

func TestTracesFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"traces", "--window", "0s"}, `error: --window "0s" is not a duration`},
		{[]string{"traces", "--slowest", "-1"}, "error: --slowest -1: show at least 1 trace"},
		{[]string{"traces", "--limit", "0"}, "error: --limit 0: read at least 1 trace per service"},
		{[]string{"traces", "-o", "xml"}, `error: unknown output format "xml" for -o: use one of table, json, yaml`},
		{[]string{"traces", "--check", "--fail-on", "unknown"}, `error: --fail-on "unknown": use drops or none`},
		{[]string{"traces", "--fail-on", "drops"}, "error: --fail-on drops judges --check's verdicts: add --check"},
		{[]string{"traces", "--jaeger-url", "localhost:16686"}, "error: --jaeger-url localhost:16686: not an http:// or https:// URL"},
	} {
		_, stderr, code := run(nil, tt.args...)
		if code != 1 || !strings.HasPrefix(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, stderr, tt.want)
		}
	}
}
