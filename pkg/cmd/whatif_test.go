package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/whatif"
)

// edgePrometheus answers what-if's two queries with app0 calling app1 in shop (100 requests
// over HTTP), and counts the queries.
func edgePrometheus(t *testing.T, queries *atomic.Int32) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		result := ""
		if strings.Contains(r.URL.Query().Get("query"), "istio_requests_total") {
			result = `{"metric":{"reporter":"destination","source_workload":"app0","source_workload_namespace":"shop","source_principal":"spiffe://cluster.local/ns/shop/sa/app0",
				"destination_workload":"app1","destination_workload_namespace":"shop","destination_app":"app1","destination_version":"v1","destination_service_name":"app1",
				"destination_service_namespace":"shop","connection_security_policy":"mutual_tls","request_protocol":"http","response_code":"200","response_flags":"-"},"value":[1,"100"]}`
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, result)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const denyApp0 = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-app0, namespace: shop}
spec:
  action: DENY
  selector: {matchLabels: {app: app1}}
  rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/app0]}}]}]
`

func writeFile(t *testing.T, content string) string {
	path := filepath.Join(t.TempDir(), "change.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A DENY rule that names an observed caller: listed as newly denied, with the rule; --fail-on
// denied exits 1; nothing is written; two PromQL queries.
func TestWhatIfListsWhatBreaksAndWritesNothing(t *testing.T) {
	var queries atomic.Int32
	url := edgePrometheus(t, &queries)
	f := inShop(newLockdownCluster(2, 1))
	stdout, stderr, code := run(f, "what-if", "-f", writeFile(t, denyApp0), "-n", "shop", "--prometheus-url", url, "-o", "json", "--fail-on", "denied")
	if code != 1 || !strings.HasSuffix(stderr, "error: 1 newly denied (--fail-on denied)\n") {
		t.Errorf("exit %d, stderr %q: want 1 and the --fail-on it met", code, stderr)
	}
	var r whatif.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("-o json: %v\n%s", err, stdout)
	}
	if len(r.Edges) != 1 || r.Edges[0].Source.Workload != "app0" || r.Edges[0].After != whatif.Denied || r.Edges[0].DecidedBy == nil || r.Edges[0].DecidedBy.Name != "deny-app0" {
		t.Errorf("edges %+v, want app0 -> app1 denied by deny-app0", r.Edges)
	}
	for _, a := range append(append(f.kube.Actions(), f.dynamic.Actions()...), f.istio.Actions()...) {
		if v := a.GetVerb(); v != "get" && v != "list" {
			t.Errorf("what-if sent %s %s", v, a.GetResource().Resource)
		}
	}
	if queries.Load() != 2 {
		t.Errorf("%d PromQL queries, want 2", queries.Load())
	}
	_, _, code = run(f, "what-if", "-f", writeFile(t, denyApp0), "-n", "shop", "--prometheus-url", url)
	if code != 0 {
		t.Errorf("without --fail-on: exit %d, want 0", code)
	}
	quiet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	}))
	defer quiet.Close()
	_, stderr, code = run(f, "what-if", "-f", writeFile(t, denyApp0), "--prometheus-url", quiet.URL, "--fail-on", "denied")
	if code != 0 || !strings.Contains(stderr, "warning: Prometheus saw no traffic into shop over 24h: nothing was replayed") {
		t.Errorf("no traffic: exit %d, stderr %q; want 0 and a warning that nothing was replayed", code, stderr)
	}
}

// Bad input exits 1 naming the flag, the file or the namespace, in the user's words.
func TestWhatIfRefusesBadInput(t *testing.T) {
	var queries atomic.Int32
	url := edgePrometheus(t, &queries)
	for _, tc := range []struct {
		args []string
		ns   string // -n
		want string
	}{
		{[]string{}, "shop", "nothing to replay: give the change with -f FILE (objects applied) or --delete KIND/NAME"},
		{[]string{"--delete", "ap/x", "-o", "wide"}, "shop", `unknown output format "wide" for -o: use one of table, json, yaml`},
		{[]string{"--delete", "ap/x", "--fail-on", "error"}, "shop", `--fail-on "error": use one of none, denied, allowed, any`},
		{[]string{"--delete", "ap/x", "--window", "5x"}, "shop", `--window "5x" is not a duration`},
		{[]string{"--delete", "ap/x", "--window", "0s"}, "shop", `--window "0s" is not a duration`},
		{[]string{"--delete", "virtualservice/x"}, "shop", `--delete "virtualservice/x": give KIND/NAME`},
		{[]string{"-f", "no-such.yaml"}, "shop", "-f no-such.yaml: no such file or directory"},
		{[]string{"-f", "-"}, "other", `AuthorizationPolicy "deny-app0" is in namespace "shop", not -n "other"`},
		{[]string{"--delete", "ap/x", "--prometheus-url", url}, "nope", `namespace "nope" not found: check the name`},
		{[]string{"--delete", "ap/x", "--prometheus-url", url}, "shop", "authorizationpolicy/x in namespace shop not found: nothing to delete"},
		{[]string{"-f", "-", "--delete", "authorizationpolicy/deny-app0"}, "shop", "--delete authorizationpolicy/deny-app0 and -f both name"},
	} {
		f := newLockdownCluster(1, 1)
		f.namespace = tc.ns
		_, stderr, code := runWithStdin(f, denyApp0, append([]string{"what-if"}, tc.args...)...)
		if code != 1 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "strconv") || strings.Contains(stderr, "converting YAML") {
			t.Errorf("what-if %s -n %s: exit %d, stderr %q; want 1 and %q", strings.Join(tc.args, " "), tc.ns, code, stderr, tc.want)
		}
	}
}

// Without Prometheus there is nothing to replay: said, exit 1. The cluster is read in two
// rounds of parallel requests, beside the search for Prometheus.
func TestWhatIfRoundTrips(t *testing.T) {
	n, stderr, code := roundTrips(t, func() *fakeCluster { return inShop(newLockdownCluster(20, 30)) }, "what-if", "--delete", "ap/x")
	if code != 1 || !strings.Contains(stderr, "what-if replays the traffic Prometheus saw, and could not read it") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if n != 2 {
		t.Errorf("%d sequential round trips, want 2", n)
	}
	n, _, _ = roundTrips(t, func() *fakeCluster { return newLockdownCluster(20, 30) }, "lockdown", "shop", "--what-if")
	if n != 3 {
		t.Errorf("lockdown --what-if: %d sequential round trips, want lockdown's 3 reads", n)
	}
}

func TestLockdownWhatIfFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--what-if", "--undo"}, "--what-if replays lockdown's plan: it takes no --undo or --status"},
		{[]string{"--what-if", "--dry-run"}, "--what-if writes nothing already: it takes no --dry-run"},
		{[]string{"--what-if", "-o", "name"}, `unknown output format "name" for -o: use one of table, json, yaml`},
	} {
		_, stderr, code := run(newLockdownCluster(1, 1), append([]string{"lockdown", "shop"}, tc.args...)...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("lockdown %s: exit %d, stderr %q; want %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
}

// inShop is f where the kubeconfig's namespace, as if chosen with -n, is shop.
func inShop(f *fakeCluster) *fakeCluster {
	f.namespace = "shop"
	return f
}

// runWithStdin is run with stdin holding in.
func runWithStdin(f *fakeCluster, in string, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(in), Out: &out, ErrOut: &errOut}
	root := newCmdMesh(streams, mesh.NewConfigFlags(), f)
	root.SetArgs(args)
	code = execute(context.Background(), root, streams)
	return out.String(), errOut.String(), code
}
