//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// series is one sample of a PromQL vector: labels and value.
type series struct {
	labels map[string]string
	value  float64
}

// ambientPrometheus answers lockdown's queries as a Prometheus holding ambient telemetry
// would: the connections ztunnel reported (reporter="destination") and the requests waypoints
// reported (reporter="waypoint"). What it reports can change between runs.
type ambientPrometheus struct {
	tcp, requests atomic.Value // []series
	*httptest.Server
}

func newAmbientPrometheus(t *testing.T) *ambientPrometheus {
	p := &ambientPrometheus{}
	p.tcp.Store([]series(nil))
	p.requests.Store([]series(nil))
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/api/v1/series") {
			fmt.Fprint(w, `{"status":"success","data":[{"__name__":"istio_requests_total"}]}`)
			return
		}
		var list []series
		switch q := r.FormValue("query"); {
		case strings.Contains(q, "istio_tcp_connections_opened_total"):
			list = p.tcp.Load().([]series)
		case strings.Contains(q, "istio_requests_total"):
			list = p.requests.Load().([]series)
		}
		result := []any{}
		for _, s := range list {
			result = append(result, map[string]any{"metric": s.labels, "value": []any{0, fmt.Sprint(s.value)}})
		}
		body, _ := json.Marshal(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
		_, _ = w.Write(body)
	}))
	t.Cleanup(p.Close)
	return p
}

// ztunnelSaw is a connection ztunnel reported at the destination: from principal (""
// for plaintext) to app and version as ztunnel names the destination.
func ztunnelSaw(app, version, principal string) series {
	s := series{value: 1, labels: map[string]string{
		"reporter": "destination", "destination_app": app, "destination_version": version, "request_protocol": "tcp",
		"source_principal": "unknown", "source_workload": "unknown", "source_workload_namespace": "unknown", "connection_security_policy": "unknown",
	}}
	if principal != "" {
		parts := strings.Split(principal, "/")
		s.labels["source_principal"], s.labels["connection_security_policy"] = "spiffe://"+principal, "mutual_tls"
		s.labels["source_workload_namespace"], s.labels["source_workload"] = parts[2], parts[4]
	}
	return s
}

// ambientNamespace makes ns an ambient namespace with workloads (no sidecars).
func ambientNamespace(t *testing.T, ns string, workloads ...testcluster.Workload) string {
	t.Helper()
	if err := fixture.EnsureNamespace(t.Context(), ns, map[string]string{"istio.io/dataplane-mode": "ambient"}); err != nil {
		t.Fatal(err)
	}
	for i := range workloads {
		workloads[i].NoSidecar = true
	}
	if err := fixture.LoadApp(t.Context(), ns, workloads...); err != nil {
		t.Fatal(err)
	}
	return ns
}

// ztunnel names an ambient pod by its canonical revision: app.kubernetes.io/version 1.4.2
// before version v1. The caller it saw over mTLS is allowed, and plaintext it saw stops the
// lockdown before anything is written.
func TestLockdownAmbientCallersByCanonicalRevision(t *testing.T) {
	t.Parallel()
	ns := ambientNamespace(t, "ambient-canonical",
		testcluster.Workload{App: "api", Version: "v1", ServiceAccount: "api", Replicas: 1, Ready: 1, Labels: map[string]string{"app.kubernetes.io/version": "1.4.2"}},
		testcluster.Workload{App: "web", Version: "v1", ServiceAccount: "web", Replicas: 1, Ready: 1})
	prom := newAmbientPrometheus(t)
	caller := "cluster.local/ns/" + ns + "/sa/web"
	prom.tcp.Store([]series{ztunnelSaw("api", "1.4.2", caller), ztunnelSaw("api", "1.4.2", "")})

	r := plugin(t, cluster, "mesh", "lockdown", ns, "--prometheus-url", prom.URL)
	if want := ns + "/api-v1 receives plaintext traffic (86400 connections) from callers outside the mesh"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("plaintext seen by ztunnel under the canonical revision: want %q, got:\n%s", want, r)
	}
	if got := policies(t, ns); got != "" {
		t.Errorf("a stopped lockdown wrote %s", got)
	}

	prom.tcp.Store([]series{ztunnelSaw("api", "1.4.2", caller), ztunnelSaw("api", "v1", "cluster.local/ns/"+ns+"/sa/stale")})
	r = mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--prometheus-url", prom.URL))
	for _, want := range []string{
		"\n  api-v1 <- " + ns + "/web (seen in traffic)\n",
		ns + "/stale -> api (tcp, 86400 connections): no running workload: not covered", // no pod is v1 to ztunnel
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lockdown output lacks %q:\n%s", want, r)
		}
	}
	api := getObject(t, ns, "authorizationpolicy", "kubectl-mesh-allow-api-v1")
	if rules := fmt.Sprint(api.Object["spec"]); !strings.Contains(rules, caller) {
		t.Errorf("api-v1's policy (enforced by ztunnel) does not allow the caller ztunnel saw: %s", rules)
	}
	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--undo"))
}

// A pod labelled istio.io/use-waypoint gets its traffic through that waypoint (one for
// workload traffic): the waypoint is allowed at the pod's ztunnel, its callers at the waypoint
// by a policy that targets the waypoint, and --status names it. A Service that names the same
// waypoint is not bound to it (it takes no Service traffic), nor a pod that names a waypoint
// for Service traffic only; both are said.
func TestLockdownWorkloadWaypoint(t *testing.T) {
	t.Parallel()
	ns := ambientNamespace(t, "ambient-pod-waypoint",
		testcluster.Workload{App: "api", Version: "v1", ServiceAccount: "api", Replicas: 1, Ready: 1, Labels: map[string]string{"istio.io/use-waypoint": "pods-waypoint"}},
		testcluster.Workload{App: "legacy", Version: "v1", ServiceAccount: "legacy", Replicas: 1, Ready: 1, Labels: map[string]string{"istio.io/use-waypoint": "services-waypoint"}},
		testcluster.Workload{App: "reviews", Version: "v1", ServiceAccount: "reviews", Replicas: 1, Ready: 1})
	for _, name := range []string{"pods-waypoint", "services-waypoint"} {
		if err := fixture.LoadGatewayAPIGateway(t.Context(), ns, name, "istio-waypoint"); err != nil {
			t.Fatal(err)
		}
	}
	mustSucceed(t, kubectl(t, "label", "-n", ns, "gateway.gateway.networking.k8s.io", "pods-waypoint", "istio.io/waypoint-for=workload"))
	mustSucceed(t, kubectl(t, "label", "-n", ns, "service", "reviews", "istio.io/use-waypoint=pods-waypoint"))
	baseline := analyze(t, ns)

	r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--allow-from", "ns/"+ns))
	for _, want := range []string{
		"api-v1 <- " + ns + "/pods-waypoint (waypoint " + ns + "/pods-waypoint), namespace " + ns + " (--allow-from)",
		"workload api-v1, at waypoint " + ns + "/pods-waypoint <- namespace " + ns + " (--allow-from)",
		"legacy-v1 <- namespace " + ns + " (--allow-from)",
		"reviews-v1 <- namespace " + ns + " (--allow-from)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lockdown output lacks %q:\n%s", want, r)
		}
	}
	for _, want := range []string{
		"Service reviews uses waypoint " + ns + "/pods-waypoint, but istiod does not bind Service reviews to it: waypoint " + ns + "/pods-waypoint is not for service traffic",
		"pod legacy-v1-0 uses waypoint " + ns + "/services-waypoint, but istiod does not bind workload legacy-v1 to it",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("lockdown warnings lack %q:\n%s", want, r)
		}
	}
	atWaypoint := getObject(t, ns, "authorizationpolicy", "kubectl-mesh-workload-waypoint-allow-pods-waypoint")
	refs, _, _ := unstructured.NestedSlice(atWaypoint.Object, "spec", "targetRefs")
	if fmt.Sprint(refs) != "[map[group:gateway.networking.k8s.io kind:Gateway name:pods-waypoint]]" {
		t.Errorf("the workload waypoint's policy targets %v, want the waypoint itself", refs)
	}
	if r := kubectl(t, "get", "authorizationpolicy", "-n", ns, "kubectl-mesh-waypoint-allow-reviews"); r.code == 0 {
		t.Errorf("a policy for Service reviews at a waypoint that takes no Service traffic:\n%s", r)
	}

	// lockdown's documented reader role reads the waypoints' class (the services waypoint
	// leaves what it carries to it) without a word of what it may not read.
	applyDocumentedRBAC(t, binding("auditor", "kubectl-mesh-lockdown-reader", ""))
	status := plugin(t, cluster, "mesh-lockdown", ns, "--status", "--context", "auditor")
	if status.code != 0 || strings.Contains(status.stderr, "may not") || strings.Contains(status.stderr, "forbidden") {
		t.Errorf("--status as the documented reader:\n%s", status)
	}
	for workload, want := range map[string]string{
		"api-v1":     "1 ambient + waypoint " + ns + "/pods-waypoint STRICT allow from cluster.local/ns/" + ns + "/sa/pods-waypoint, namespace " + ns,
		"legacy-v1":  "1 ambient STRICT allow from namespace " + ns,
		"reviews-v1": "1 ambient STRICT allow from namespace " + ns,
	} {
		if got := statusRow(status.stdout, workload); got != want {
			t.Errorf("status of %s: %q, want %q\n%s", workload, got, want, status.stdout)
		}
	}
	assertNoNewAnalyzeErrors(t, ns, baseline)
	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--undo"))
	if got := policies(t, ns); got != "" {
		t.Errorf("undo left %s", got)
	}
}

// A split goes through a waypoint only where istiod binds the Service to it: refused on a
// waypoint for workload traffic only, and on another namespace's waypoint whose HBONE listener
// does not admit the Service's namespace; written once the listener admits it (by name or by
// label), and on a waypoint for Service traffic.
func TestCanaryRefusesASplitNoWaypointCarries(t *testing.T) {
	t.Parallel()
	ns := gatewayAPIBookinfo(t, "gwapi-waypoint-for", "ambient")
	apply(t, fmt.Sprintf(reviewsRouteV1, ns))
	if err := fixture.LoadGatewayAPIGateway(t.Context(), ns, "waypoint", "istio-waypoint"); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, kubectl(t, "label", "-n", ns, "gateway.gateway.networking.k8s.io", "waypoint", "istio.io/waypoint-for=workload"))
	mustSucceed(t, kubectl(t, "label", "namespace", ns, "istio.io/use-waypoint=waypoint"))

	r := plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns)
	if want := "namespace " + ns + " uses waypoint " + ns + "/waypoint, but istiod does not send Service reviews's traffic through it: waypoint " + ns + "/waypoint is not for service traffic (istio.io/waypoint-for=workload on Gateway " + ns + "/waypoint"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("a waypoint for workload traffic: want %q, got:\n%s", want, r)
	}
	if got := backendSplit(t, ns, "reviews"); got != "reviews-v1:9080@1" {
		t.Errorf("a refused canary wrote %s", got)
	}
	status := mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "-n", ns))
	if strings.Contains(status.stdout, "through waypoint") || !strings.Contains(status.stderr, "is not for service traffic") {
		t.Errorf("status names a waypoint that carries no Service traffic:\n%s", status)
	}
	mustSucceed(t, kubectl(t, "label", "--overwrite", "-n", ns, "gateway.gateway.networking.k8s.io", "waypoint", "istio.io/waypoint-for=service"))
	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns), "reviews: reviews-v1 90%, reviews-v2 10% (was reviews-v1 100%)")
}

// A waypoint of another namespace carries the Service's traffic only if its HBONE listener
// admits the Service's namespace.
func TestCanaryNeedsAWaypointThatAdmitsTheNamespace(t *testing.T) {
	t.Parallel()
	ns, infra := gatewayAPIBookinfo(t, "gwapi-remote-waypoint", "ambient"), "gwapi-waypoints"
	apply(t, fmt.Sprintf(reviewsRouteV1, ns))
	if err := fixture.EnsureNamespace(t.Context(), infra, nil); err != nil {
		t.Fatal(err)
	}
	if err := fixture.LoadGatewayAPIGateway(t.Context(), infra, "shared", "istio-waypoint"); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, kubectl(t, "label", "service", "-n", ns, "reviews", "istio.io/use-waypoint=shared", "istio.io/use-waypoint-namespace="+infra))

	r := plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns)
	if want := "Service reviews uses waypoint " + infra + "/shared, but istiod does not send Service reviews's traffic through it: waypoint " + infra + "/shared does not admit namespace " + ns; r.code != 1 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "let the allowedRoutes of Gateway "+infra+"/shared's HBONE listener (port 15008) admit namespace "+ns) {
		t.Errorf("a waypoint that admits its own namespace only: want %q, got:\n%s", want, r)
	}
	if got := backendSplit(t, ns, "reviews"); got != "reviews-v1:9080@1" {
		t.Errorf("a refused canary wrote %s", got)
	}

	// Admitted by label: the listener selects namespaces labelled for it.
	mustSucceed(t, kubectl(t, "patch", "gateway.gateway.networking.k8s.io", "shared", "-n", infra, "--type=json", "-p",
		`[{"op":"add","path":"/spec/listeners/0/allowedRoutes","value":{"namespaces":{"from":"Selector","selector":{"matchLabels":{"waypoints":"shared"}}}}}]`))
	if r := plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns); r.code != 1 || !strings.Contains(r.stderr, "does not admit namespace "+ns) {
		t.Errorf("a selector the namespace does not match:\n%s", r)
	}
	mustSucceed(t, kubectl(t, "label", "namespace", ns, "waypoints=shared"))
	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns), "reviews: reviews-v1 90%, reviews-v2 10% (was reviews-v1 100%)")
	status := mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "-n", ns))
	if !strings.Contains(status.stdout, "ambient: through waypoint "+infra+"/shared") {
		t.Errorf("status:\n%s", status.stdout)
	}

	// canary's documented role, bound cluster-wide (the waypoint lives in another namespace,
	// and leaves what it carries to its cluster-scoped class), reads all it needs.
	applyDocumentedRBAC(t, binding("editor", "kubectl-mesh-canary", ""))
	if r := plugin(t, cluster, "mesh", "canary", "reviews", "-n", ns, "--context", "editor"); r.code != 0 || strings.Contains(r.stderr, "may not") || strings.Contains(r.stderr, "forbidden") {
		t.Errorf("status as the documented canary role:\n%s", r)
	}
}
