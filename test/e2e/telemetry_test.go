//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// requests records what a server received: path and Authorization header of each request.
type requests struct {
	mu   sync.Mutex
	list []string
}

func (r *requests) record(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, fmt.Sprintf("%s (Authorization %q)", req.URL.Path, req.Header.Get("Authorization")))
}

func (r *requests) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.list...)
}

// recording serves handler and records each request into got.
func recording(got *requests, handler http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.record(r)
		handler(w, r)
	})
}

// fakePrometheus answers every query with no samples, and a series query with one series:
// a Prometheus that holds Istio's metrics and saw no traffic lately.
func fakePrometheus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if strings.HasSuffix(r.URL.Path, "/api/v1/series") {
		fmt.Fprint(w, `{"status":"success","data":[{"__name__":"istio_requests_total"}]}`)
		return
	}
	fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
}

// hostIP is an IPv4 address of this machine other than loopback, which EndpointSlices may
// not hold.
func hostIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok && ipnet.IP.To4() != nil && ipnet.IP.IsGlobalUnicast() {
			return ipnet.IP.String()
		}
	}
	t.Fatalf("no IPv4 address but loopback on this machine (%v): the API server proxies to pod IPs, and an EndpointSlice may not hold 127.0.0.1", addrs)
	return ""
}

// serveService makes handler the Service ns/name on port 9090 (port name http) behind the
// real API server's service proxy: a pod whose IP is this machine's, where handler listens,
// and the EndpointSlice the endpointslice controller would write for it.
func serveService(t *testing.T, ns, name string, labels map[string]string, handler http.Handler) {
	t.Helper()
	ip := hostIP(t)
	srv := httptest.NewUnstartedServer(handler)
	listener, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = listener
	srv.Start()
	t.Cleanup(srv.Close)
	port := int32(listener.Addr().(*net.TCPAddr).Port)
	ctx, kube := t.Context(), fixture.Kube
	if err := fixture.EnsureNamespace(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	// No controller makes the namespace's default ServiceAccount: the pod has its own.
	if _, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	automount := false
	pod, err := kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-0", Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{NodeName: "node-1", ServiceAccountName: name, AutomountServiceAccountToken: &automount,
			Containers: []corev1.Container{{Name: "server", Image: "example.com/" + name}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}}
	if pod, err = kube.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 9090, TargetPort: intstr.FromInt32(port)}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready, portName := true, "http"
	if _, err := kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name + "-fixture", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod.Name, UID: pod.UID}}},
		Ports: []discoveryv1.EndpointPort{{Name: &portName, Port: &port}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A Service named and labelled as Prometheus in a tenant's namespace is never asked: not by
// lockdown (whose allow-list it would feed), canary or graph.
func TestTelemetryIgnoresATenantsPrometheus(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "telemetry-tenant-target")
	var tenant requests
	serveService(t, "telemetry-tenant", "prometheus", map[string]string{"app.kubernetes.io/name": "prometheus", "app": "prometheus"}, recording(&tenant, fakePrometheus))

	r := plugin(t, cluster, "mesh", "lockdown", ns, "--dry-run", "-o", "name")
	if !strings.Contains(r.stderr, "no Prometheus found") || !strings.Contains(r.stderr, "in namespace istio-system") {
		t.Errorf("lockdown:\n%s", r)
	}
	r = plugin(t, cluster, "mesh", "canary", "reviews", "-n", ns)
	if r.code != 0 || strings.Contains(r.stderr, "telemetry: Prometheus") {
		t.Errorf("canary:\n%s", r)
	}
	r = plugin(t, cluster, "mesh", "graph", "-n", ns)
	if r.code != 1 || !strings.Contains(r.stderr, "no Prometheus found") || !strings.Contains(r.stderr, "--prometheus-namespace") {
		t.Errorf("graph:\n%s", r)
	}
	if got := tenant.all(); len(got) > 0 {
		t.Errorf("the tenant's Prometheus was asked: %s", got)
	}
}

// --prometheus-namespace names where Prometheus is; it is reached through the real API
// server's service proxy, and stderr says which Service was used.
func TestTelemetryInTheNamespaceNamed(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "telemetry-named-target")
	var monitoring requests
	serveService(t, "telemetry-monitoring", "prometheus", nil, recording(&monitoring, fakePrometheus))

	for _, spelling := range [][]string{{"mesh", "graph"}, {"mesh-graph"}} {
		r := plugin(t, cluster, append(spelling, "-n", ns, "--prometheus-namespace", "telemetry-monitoring")...)
		if want := "telemetry: Prometheus telemetry-monitoring/prometheus port 9090, through the API server's proxy\n"; r.code != 0 || !strings.HasPrefix(r.stderr, want) {
			t.Errorf("%v: want exit 0 and %q first on stderr, got:\n%s", spelling, want, r)
		}
	}
	r := plugin(t, cluster, "mesh", "lockdown", ns, "--dry-run", "-o", "name", "--prometheus-namespace", "telemetry-monitoring")
	if r.code != 0 || !strings.Contains(r.stderr, "telemetry: Prometheus telemetry-monitoring/prometheus") || strings.Contains(r.stderr, "no telemetry") {
		t.Errorf("lockdown:\n%s", r)
	}
	got := monitoring.all()
	if len(got) == 0 || !strings.HasPrefix(got[0], "/api/v1/") {
		t.Errorf("Prometheus in telemetry-monitoring was asked: %q", got)
	}
}

// A Service that answers with a redirect to another host gets the API server to pass it
// through; the plugin does not follow it, so the user's token never reaches that host.
func TestTelemetryRedirectDoesNotCarryTheToken(t *testing.T) {
	t.Parallel()
	var elsewhere requests
	thief := httptest.NewServer(recording(&elsewhere, fakePrometheus))
	defer thief.Close()
	serveService(t, "telemetry-redirect", "prometheus", nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, thief.URL+r.URL.Path+"?"+r.URL.RawQuery, http.StatusFound)
	}))
	host := strings.TrimPrefix(thief.URL, "http://")
	for _, spelling := range [][]string{{"mesh", "graph"}, {"mesh-graph"}} {
		r := plugin(t, cluster, append(spelling, "-A", "--prometheus-namespace", "telemetry-redirect")...)
		if r.code != 1 || !strings.Contains(r.stderr, "answered with a redirect to another host, "+host) || !strings.Contains(r.stderr, "not followed") {
			t.Errorf("%v: want the redirect to %s refused, got:\n%s", spelling, host, r)
		}
		assertNoStackTrace(t, r)
	}
	if got := elsewhere.all(); len(got) > 0 {
		t.Errorf("the other host received: %s", got)
	}
}

// A password in the URL of Prometheus or Jaeger is in no output, whatever fails.
func TestTelemetryURLPasswordIsNeverPrinted(t *testing.T) {
	t.Parallel()
	const password = "e2e-s3cret"
	ns := bookinfoNamespace(t, "telemetry-password")
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	dead := strings.Replace(gone.URL, "http://", "http://admin:"+password+"@", 1)
	notPrometheus := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "sign in", http.StatusUnauthorized) }))
	defer notPrometheus.Close()
	wrong := strings.Replace(notPrometheus.URL, "http://", "http://admin:"+password+"@", 1)
	for _, c := range []command{
		{name: "kubectl", args: []string{"mesh", "graph", "-n", ns, "--prometheus-url", dead, "--request-timeout", "5s"}},
		{name: "kubectl", args: []string{"mesh", "graph", "-n", ns, "--prometheus-url", wrong}},
		{name: "kubectl", args: []string{"mesh", "graph", "-n", ns, "--prometheus-url", "htp://admin:" + password + "@x"}},
		{name: "kubectl", args: []string{"mesh", "lockdown", ns, "--dry-run", "-o", "name"}, env: []string{"MESH_PROMETHEUS_URL=" + wrong}},
		{name: "kubectl", args: []string{"mesh", "canary", "reviews", "-n", ns, "--prometheus-url", wrong}},
		{name: "kubectl", args: []string{"mesh", "traces", "-n", ns, "--jaeger-url", dead + "/jaeger"}},
		{name: "kubectl", args: []string{"mesh", "traces", "-n", ns}, env: []string{"MESH_JAEGER_URL=" + wrong + "/jaeger"}},
	} {
		c.args = append(c.args, "--kubeconfig", cluster.Kubeconfig)
		start := time.Now()
		r := run(t, c)
		if strings.Contains(r.stdout+r.stderr, password) {
			t.Errorf("%v %v shows the password:\n%s", c.env, c.args, r)
		}
		if !strings.Contains(r.stderr, "admin:xxxxx@") {
			t.Errorf("%v %v does not say which URL failed (%s):\n%s", c.env, c.args, time.Since(start), r)
		}
	}
}
