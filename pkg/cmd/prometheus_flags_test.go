package cmd

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// parsedPrometheusFlags parses args as a command's flags would be, then validates them.
func parsedPrometheusFlags(t *testing.T, args ...string) (*prometheusFlags, error) {
	t.Helper()
	var p prometheusFlags
	c := &cobra.Command{Use: "x"}
	p.addFlags(c, "Prometheus.")
	if err := c.Flags().Parse(args); err != nil {
		t.Fatal(err)
	}
	return &p, p.validate()
}

func TestPrometheusURLsOnePerMeshOrPerCluster(t *testing.T) {
	t.Setenv("MESH_PROMETHEUS_URL", "")
	tests := []struct {
		args      []string
		env       string
		global    string
		byCluster map[string]string
		err       string
	}{
		{args: []string{"--prometheus-url", "http://thanos:9090"}, global: "http://thanos:9090"},
		{args: []string{"--prometheus-url", "http://prom/?a=b"}, global: "http://prom/?a=b"},
		{args: []string{"--prometheus-url", "east=http://e:9090", "--prometheus-url", "arn:aws:eks:eu-west-1:1:cluster/west=https://w"},
			byCluster: map[string]string{"east": "http://e:9090", "arn:aws:eks:eu-west-1:1:cluster/west": "https://w"}},
		{env: "east=http://e:9090, west=http://w:9090", byCluster: map[string]string{"east": "http://e:9090", "west": "http://w:9090"}},
		{env: "http://global:9090", global: "http://global:9090"},
		{args: []string{"--prometheus-url", "http://flag"}, env: "east=http://e", global: "http://flag"}, // the flag wins
		{args: []string{"--prometheus-url", "http://a", "--prometheus-url", "east=http://e"}, err: "--prometheus-url: mixes one URL for the whole mesh with CLUSTER=URL entries"},
		{args: []string{"--prometheus-url", "http://a", "--prometheus-url", "http://b"}, err: "--prometheus-url: more than one URL without a cluster"},
		{args: []string{"--prometheus-url", "east=http://a", "--prometheus-url", "east=http://b"}, err: "--prometheus-url: cluster east is given twice"},
		{args: []string{"--prometheus-url", "=http://admin:pw@a"}, err: `--prometheus-url "=http://REDACTED@a": no cluster before '='`},
		{args: []string{"--prometheus-url", "east="}, err: `--prometheus-url "east": no URL after '='`},
		{args: []string{"--prometheus-url", ""}, err: "--prometheus-url: an empty entry"},
		{env: "east=http://e,,west=http://w", err: "$MESH_PROMETHEUS_URL: an empty entry"},
		{env: "http://a,east=http://e", err: "$MESH_PROMETHEUS_URL: mixes one URL"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+" env "+tt.env, func(t *testing.T) {
			t.Setenv("MESH_PROMETHEUS_URL", tt.env)
			p, err := parsedPrometheusFlags(t, tt.args...)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.global != tt.global || !maps.Equal(p.byCluster, tt.byCluster) || p.given() != true || p.perCluster() != (len(tt.byCluster) > 0) {
				t.Errorf("global %q, per cluster %v", p.global, p.byCluster)
			}
		})
	}
}

func TestPrometheusURLForACluster(t *testing.T) {
	t.Setenv("MESH_PROMETHEUS_URL", "")
	p, err := parsedPrometheusFlags(t, "--prometheus-url", "cluster-east=http://by-id", "--prometheus-url", "west=http://by-context")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id, context, want string
		ok                bool
	}{
		{"cluster-east", "east", "http://by-id", true},
		{"cluster-west", "west", "http://by-context", true},
		{"cluster-north", "north", "", false}, // found in that cluster
	} {
		if url, ok := p.urlFor(tc.id, tc.context); url != tc.want || ok != tc.ok {
			t.Errorf("urlFor(%s, %s) = %q %v, want %q %v", tc.id, tc.context, url, ok, tc.want, tc.ok)
		}
	}
	if url, err := p.single("west"); err != nil || url != "http://by-context" {
		t.Errorf("single(west) = %q, %v", url, err)
	}
	_, err = p.single("north")
	if want := `--prometheus-url names Prometheus for clusters cluster-east, west, not for the current context "north": add north=URL, or give one URL`; err == nil || err.Error() != want {
		t.Errorf("single(north): %v\nwant %s", err, want)
	}
	global, _ := parsedPrometheusFlags(t, "--prometheus-url", "http://thanos")
	if url, ok := global.urlFor("cluster-east", "east"); url != "http://thanos" || !ok {
		t.Errorf("global: %q %v", url, ok)
	}
	none, _ := parsedPrometheusFlags(t)
	if _, ok := none.urlFor("cluster-east", "east"); ok || none.given() {
		t.Error("no URL given, yet one is")
	}
}

func TestPrometheusHeadersTokenAndTLSFlags(t *testing.T) {
	for _, v := range []string{"MESH_PROMETHEUS_URL", envPrometheusHeaders, envPrometheusTokenFile, envPrometheusCA, envPrometheusInsecure} {
		t.Setenv(v, "")
	}
	p, err := parsedPrometheusFlags(t, "--prometheus-header", "X-Scope-OrgID: team-a", "--prometheus-header", "x-extra:  one: two ", "--prometheus-token-file", "/flag/token")
	if err != nil {
		t.Fatal(err)
	}
	if h := p.options.Headers; h.Get("X-Scope-OrgID") != "team-a" || h.Get("X-Extra") != "one: two" || p.options.TokenFile != "/flag/token" {
		t.Errorf("options %+v", p.options)
	}
	t.Setenv(envPrometheusHeaders, "X-Scope-OrgID: team-b;X-A: 1\nX-B: 2\n")
	t.Setenv(envPrometheusTokenFile, "/env/token")
	t.Setenv(envPrometheusCA, "/env/ca.pem")
	p, err = parsedPrometheusFlags(t)
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{"X-Scope-Orgid": {"team-b"}, "X-A": {"1"}, "X-B": {"2"}}
	if !maps.EqualFunc(p.options.Headers, want, func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }) || p.options.TokenFile != "/env/token" || p.options.CAFile != "/env/ca.pem" {
		t.Errorf("from the environment: %+v", p.options)
	}
	p, _ = parsedPrometheusFlags(t, "--prometheus-header", "X-C: 3", "--prometheus-ca", "/flag/ca.pem")
	if p.options.Headers.Get("X-Scope-OrgID") != "" || p.options.CAFile != "/flag/ca.pem" {
		t.Errorf("flags do not win over the environment: %+v", p.options)
	}
	t.Setenv(envPrometheusCA, "")
	t.Setenv(envPrometheusInsecure, "true")
	if p, err := parsedPrometheusFlags(t); err != nil || !p.options.InsecureSkipTLSVerify {
		t.Errorf("$%s=true: %+v %v", envPrometheusInsecure, p.options, err)
	}
	for _, tc := range []struct {
		args []string
		env  string
		err  string
	}{
		{[]string{"--prometheus-header", "Bearer s3cret"}, "true", `--prometheus-header: "Bearer..." is not 'Name: value'`},
		{[]string{"--prometheus-header", ": value"}, "true", `--prometheus-header: "..." is not 'Name: value'`},
		{[]string{"--prometheus-header", "s3cretAloneAsAHeader"}, "true", `--prometheus-header: a value of 20 characters is not 'Name: value'`},
		{[]string{"--prometheus-header", "X Y: z"}, "true", `--prometheus-header: "X Y" is not a header name`},
		{nil, "yes please", `$MESH_PROMETHEUS_INSECURE_SKIP_TLS_VERIFY="yes please": give true or false`},
		{[]string{"--prometheus-ca", "/ca.pem"}, "true", "--prometheus-ca and --prometheus-insecure-skip-tls-verify contradict each other"},
	} {
		t.Setenv(envPrometheusInsecure, tc.env)
		_, err := parsedPrometheusFlags(t, tc.args...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.err) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.err)
		}
	}
}

// Every command that reads Prometheus takes the shared flags, and refuses a bad one before
// it asks anything.
func TestCommandsTakeThePrometheusFlags(t *testing.T) {
	for _, args := range [][]string{
		{"graph", "-n", "shop"},
		{"lockdown", "shop"},
		{"canary", "reviews"},
		{"traces", "reviews", "--check"},
		{"what-if", "--delete", "ap/x"},
		{"why", "a", "b"},
	} {
		_, stderr, code := run(nil, append(args, "--prometheus-url", "http://x", "--prometheus-header", "nocolon")...)
		if code != 1 || !strings.Contains(stderr, `--prometheus-header: a value of 7 characters is not 'Name: value'`) {
			t.Errorf("%s: exit %d, %s", args[0], code, stderr)
		}
	}
}

// Per-cluster URLs given to a command that reads one cluster: the current context's entry
// or a clear error, not a search of the cluster.
func TestSingleClusterCommandWithPerClusterURLs(t *testing.T) {
	p, err := parsedPrometheusFlags(t, "--prometheus-url", "east=http://e:9090")
	if err != nil {
		t.Fatal(err)
	}
	if url, err := p.single("east"); url != "http://e:9090" || err != nil {
		t.Errorf("the current context's entry: %q, %v", url, err)
	}
	if _, err := p.single("west"); err == nil || !strings.Contains(err.Error(), "--prometheus-url names Prometheus for clusters east, not for the current context") {
		t.Errorf("another context: %v", err)
	}
}

// graph, which only reads, reads every cluster's Prometheus given per cluster, even without
// --contexts: the whole mesh's telemetry, edges keyed by cluster.
func TestGraphReadsEveryPerClusterPrometheus(t *testing.T) {
	var asked atomic.Int32
	answer := func(cluster string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			asked.Add(1)
			w.Header().Set("Content-Type", "application/json")
			result := "[]"
			if strings.Contains(r.URL.Query().Get("query"), "istio_requests_total") {
				result = fmt.Sprintf(`[{"metric":{"reporter":"destination","source_workload":"productpage-v1","source_workload_namespace":"shop","source_cluster":"east","destination_workload":"reviews-v1","destination_workload_namespace":"shop","destination_cluster":%q,"request_protocol":"http","response_code":"200","connection_security_policy":"mutual_tls"},"value":[0,"2"]}]`, cluster)
			}
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":%s}}`, result)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	stdout, stderr, code := run(nil, "graph", "-n", "shop", "--prometheus-url", "east="+answer("east"), "--prometheus-url", "west="+answer("west"))
	if code != 0 || !strings.Contains(stdout, "east/shop/productpage-v1  east/shop/reviews-v1") || !strings.Contains(stdout, "east/shop/productpage-v1  west/shop/reviews-v1") {
		t.Errorf("exit %d:\n%s%s", code, stdout, stderr)
	}
	// Five queries per Prometheus, and one look at how far back the first one's data goes.
	if asked.Load() != 11 || !strings.Contains(stderr, "mTLS policy checks skipped: give --contexts") {
		t.Errorf("%d requests (want 5 per Prometheus and 1); stderr:\n%s", asked.Load(), stderr)
	}
}

// Thanos' warnings of a partial answer are said on stderr, once each, however many queries
// carry them.
func TestGraphSaysPartialAnswersOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1/series" {
			_, _ = w.Write([]byte(`{"status":"success","data":[{"__name__":"istio_requests_total"}],"warnings":["No StoreAPIs matched for this query"]}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["No StoreAPIs matched for this query"]}`))
	}))
	defer srv.Close()
	_, stderr, code := run(nil, "graph", "-n", "shop", "--prometheus-url", srv.URL)
	want := "warning: Prometheus at --prometheus-url " + srv.URL + ": partial answer: No StoreAPIs matched for this query\n"
	if code != 0 || strings.Count(stderr, want) != 1 {
		t.Errorf("exit %d, stderr %q, want %q once", code, stderr, want)
	}
}

// With several clusters, the Prometheus found in each is said, each with its API server:
// the same Service name in every cluster would otherwise read as one.
func TestLocatorForSaysEachClustersPrometheus(t *testing.T) {
	var errOut strings.Builder
	o := clusterOptions{getter: &fakeCluster{}, streams: genericiooptions.IOStreams{ErrOut: &errOut}}
	o.contexts = []string{"east", "west"}
	for _, host := range []string{"https://east:6443", "https://west:6443"} {
		o.locatorFor("", &mesh.Clients{Config: &rest.Config{Host: host}}).Found("istio-system/prometheus port 9090")
	}
	want := "telemetry: Prometheus istio-system/prometheus port 9090 (API server https://east:6443)\n" +
		"telemetry: Prometheus istio-system/prometheus port 9090 (API server https://west:6443)\n"
	if errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
}
