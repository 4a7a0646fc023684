package cmd

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	istiofake "istio.io/client-go/pkg/clientset/versioned/fake"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/internal/manifest"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/doctor"
)

// doctorLayout: a healthy control plane but for its single istiod replica (a warning), and
// namespace shop labelled for injection with one pod created before the label (a warning).
const doctorLayout = `
apiVersion: v1
kind: Namespace
metadata: {name: default}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {containers: [{name: web, image: web}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system, labels: {app: istiod, istio.io/rev: stable}}
spec:
  replicas: 1
  selector: {matchLabels: {app: istiod}}
  template: {metadata: {labels: {app: istiod}}, spec: {containers: [{name: discovery, image: pilot:1.24.2}]}}
status: {readyReplicas: 1}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: istiod, namespace: istio-system}
spec: {minAvailable: 1, selector: {matchLabels: {app: istiod}}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector}
`

// newDoctorCluster serves doctorLayout: core objects from the typed fake, the rest from the
// dynamic one, as doctor reads them.
func newDoctorCluster(t *testing.T) *fakeCluster {
	objects, err := manifest.Decode([]byte(doctorLayout))
	if err != nil {
		t.Fatal(err)
	}
	var core, dynamic []runtime.Object
	for _, obj := range objects {
		if obj.GetAPIVersion() == "v1" {
			typed, err := kubescheme.Scheme.New(obj.GroupVersionKind())
			if err != nil {
				t.Fatal(err)
			}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, typed); err != nil {
				t.Fatal(err)
			}
			core = append(core, typed)
			continue
		}
		dynamic = append(dynamic, obj)
	}
	gvr := func(group, version, resource string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		gvr("security.istio.io", "v1", "peerauthentications"):                      "PeerAuthenticationList",
		gvr("networking.istio.io", "v1", "destinationrules"):                       "DestinationRuleList",
		gvr("networking.istio.io", "v1", "sidecars"):                               "SidecarList",
		gvr("apps", "v1", "deployments"):                                           "DeploymentList",
		gvr("apps", "v1", "statefulsets"):                                          "StatefulSetList",
		gvr("policy", "v1", "poddisruptionbudgets"):                                "PodDisruptionBudgetList",
		gvr("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations"): "MutatingWebhookConfigurationList",
	}, dynamic...)
	return &fakeCluster{kube: kubefake.NewClientset(core...), istio: istiofake.NewSimpleClientset(), dynamic: dyn}
}

func TestDoctorExitCodes(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"doctor", "-A"}, 0},                         // warnings only
		{[]string{"doctor", "-A", "--fail-on", "warning"}, 1}, // the single replica, the gap
		{[]string{"doctor", "--fail-on", "warning"}, 0},       // namespace default: nothing, istiod out of scope
	} {
		stdout, stderr, code := run(newDoctorCluster(t), tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.code, stdout, stderr)
		}
		if code == 1 && !strings.Contains(stderr, "error: findings at or above --fail-on warning") {
			t.Errorf("%v: stderr %q does not say why it failed", tt.args, stderr)
		}
	}
}

func TestDoctorJSON(t *testing.T) {
	stdout, stderr, code := run(newDoctorCluster(t), "doctor", "-A", "-o", "json")
	if code != 0 {
		t.Fatal(stderr)
	}
	var report doctor.Report
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("-o json is not a report: %v\n%s", err, stdout)
	}
	var got []string
	for _, f := range report.Findings {
		got = append(got, f.Check+" "+f.Object.String())
	}
	want := []string{"injection Pod/shop/web", "ops-planning Deployment/istio-system/istiod"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("findings %q, want %q", got, want)
	}
	if report.Summary[doctor.Warning] != 2 || report.Scope != doctor.AllNamespaces {
		t.Errorf("summary %v scope %q", report.Summary, report.Scope)
	}
}

// -o yaml is the same report as -o json; the default table fits a terminal, -o wide has it all.
func TestDoctorFormats(t *testing.T) {
	jsonOut, _, _ := run(newDoctorCluster(t), "doctor", "-A", "-o", "json")
	yamlOut, stderr, code := run(newDoctorCluster(t), "doctor", "-A", "-o", "yaml")
	var fromJSON, fromYAML doctor.Report
	if err := json.Unmarshal([]byte(jsonOut), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(yamlOut), &fromYAML); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, stderr)
	}
	if !reflect.DeepEqual(fromJSON, fromYAML) {
		t.Errorf("-o yaml:\n%s\nis not -o json's report:\n%s", yamlOut, jsonOut)
	}
	wide, _, _ := run(newDoctorCluster(t), "doctor", "-A", "-o", "wide")
	if !strings.Contains(wide, "FIX") || !strings.Contains(wide, fromJSON.Findings[0].Fix) {
		t.Errorf("-o wide lacks the fix:\n%s", wide)
	}
}

// Doctor only reads, in one round of parallel requests, however big the cluster.
func TestDoctorReadsOnceInParallel(t *testing.T) {
	f := newDoctorCluster(t)
	if _, stderr, code := run(f, "doctor", "-A"); code != 0 {
		t.Fatal(stderr)
	}
	const reads = 12 // pods, namespaces, mesh config; PeerAuthentications, DestinationRules, Sidecars; istiod, two kinds of gateway; StatefulSets, budgets, webhooks
	if got := f.requests(); got != reads {
		t.Errorf("%d requests, want %d", got, reads)
	}
	for _, a := range append(append(f.kube.Actions(), f.dynamic.Actions()...), f.istio.Actions()...) {
		if verb := a.GetVerb(); verb != "list" && verb != "get" {
			t.Errorf("doctor made a %s request", verb)
		}
	}
	n, stderr, code := roundTrips(t, func() *fakeCluster { return newDoctorCluster(t) }, "doctor", "-A")
	if code != 0 || n != 1 {
		t.Errorf("%d sequential round trips, want 1 (exit %d: %s)", n, code, stderr)
	}
}

func TestDoctorFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"doctor", "-o", "xml"}, `error: unknown output format "xml" for -o: use one of table, wide, json, yaml`},
		{[]string{"doctor", "--fail-on", "fatal"}, `error: --fail-on "fatal": use error, warning or info`},
		{[]string{"doctor", "shop"}, `error: kubectl mesh doctor takes no arguments, got "shop": to pick a namespace, write -n shop (or -A for every namespace)`},
	} {
		_, stderr, code := run(nil, tt.args...)
		if code != 1 || !strings.HasPrefix(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, stderr, tt.want)
		}
	}
}
