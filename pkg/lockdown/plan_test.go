package lockdown

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
	"github.com/kubectl-mesh/kubectl-mesh/internal/managedfields"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// loadInput reads testdata/NAME.in.yaml as the cluster state for namespace ns.
func loadInput(t testing.TB, name, ns string) Input {
	t.Helper()
	in := Input{Namespace: ns, Mesh: istio.DefaultMeshConfig()}
	var allPods []corev1.Pod
	for _, obj := range golden.Objects(t, filepath.Join("testdata", name+".in.yaml")) {
		switch obj.GetKind() {
		case "Namespace":
			if obj.GetName() == ns {
				in.NamespaceLabels = obj.GetLabels()
			}
		case "Pod":
			var pod corev1.Pod
			mustConvert(t, obj, &pod)
			allPods = append(allPods, pod)
			if pod.Namespace == ns {
				in.Pods = append(in.Pods, pod)
			}
		case "Service":
			var svc corev1.Service
			mustConvert(t, obj, &svc)
			if svc.Namespace == ns {
				in.Services = append(in.Services, svc)
			}
		case "PeerAuthentication":
			if obj.GetNamespace() == istio.DefaultRootNamespace {
				in.MeshPeerAuthentications = append(in.MeshPeerAuthentications, obj)
			} else {
				in.PeerAuthentications = append(in.PeerAuthentications, obj)
			}
		case "AuthorizationPolicy":
			if obj.GetNamespace() == istio.DefaultRootNamespace {
				in.MeshAuthorizationPolicies = append(in.MeshAuthorizationPolicies, obj)
			} else {
				in.AuthorizationPolicies = append(in.AuthorizationPolicies, obj)
			}
		case "VirtualService":
			in.VirtualServices = append(in.VirtualServices, obj)
		case "Gateway":
			if obj.GroupVersionKind().Group == istio.GatewayAPIGroup {
				in.K8sGateways = append(in.K8sGateways, obj)
			} else {
				in.Gateways = append(in.Gateways, obj)
			}
		case "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute":
			in.Routes = append(in.Routes, obj)
		case "GatewayClass":
			in.GatewayClasses = append(in.GatewayClasses, obj)
		default:
			t.Fatalf("%s: unexpected kind %s", name, obj.GetKind())
		}
	}
	// As the reader does: the pods any Gateway selects, wherever they run, and the pods Istio
	// deployed for Gateway API Gateways.
	for _, pod := range allPods {
		selected := pod.Labels[istio.GatewayNameLabel] != ""
		for _, gw := range in.Gateways {
			selector, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector")
			selected = selected || len(selector) > 0 && istio.SelectorMatches(selector, pod.Labels)
		}
		if selected {
			in.GatewayPods = append(in.GatewayPods, pod)
		}
	}
	return in
}

func mustConvert(t testing.TB, obj *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into); err != nil {
		t.Fatal(err)
	}
}

func mustParse(t testing.TB, args ...string) []Caller {
	var callers []Caller
	for _, a := range args {
		c, err := ParseAllowFrom(a)
		if err != nil {
			t.Fatal(err)
		}
		callers = append(callers, c)
	}
	return callers
}

func TestLockdownGolden(t *testing.T) {
	tests := []struct {
		name, input, namespace string
		allowFrom              []string
		force                  bool
	}{
		{name: "bookinfo", input: "bookinfo", namespace: "default"},
		{name: "bookinfo-allow-from", input: "bookinfo", namespace: "default", allowFrom: []string{"ns/default", "monitoring/prometheus"}},
		{name: "existing-policies", input: "existing-policies", namespace: "shop", allowFrom: []string{"shop/api"}},
		{name: "istio-rules", input: "istio-rules", namespace: "shop"},
		{name: "ambient", input: "ambient", namespace: "amb", allowFrom: []string{"ns/amb"}},
		{name: "ambient-waypoints", input: "ambient-waypoints", namespace: "amb", allowFrom: []string{"ns/amb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loadInput(t, tt.input, tt.namespace)
			plan, err := Lockdown(in, Options{AllowFrom: mustParse(t, tt.allowFrom...), Force: tt.force})
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, tt.name, renderPlan(t, plan, WriteSummary))

			// Applied, then planned again: nothing left to do.
			locked := applyWrites(t, in, plan)
			again, err := Lockdown(locked, Options{AllowFrom: mustParse(t, tt.allowFrom...), Force: tt.force})
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Changes) != 0 {
				t.Errorf("second lockdown plans %d writes: %s", len(again.Changes), renderPlan(t, again, WriteSummary))
			}

			// Undone: the namespace's policies are exactly what they were; undone twice, nothing.
			undo, err := Undo(locked)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, tt.name+"-undo", renderPlan(t, undo, WriteUndoSummary))
			restored := applyWrites(t, locked, undo)
			assertSamePolicies(t, in, restored)
			if twice, err := Undo(restored); err != nil || len(twice.Changes) != 0 {
				t.Errorf("second undo: %v, %d writes", err, len(twice.Changes))
			}
		})
	}
}

func renderPlan(t *testing.T, p *Plan, summary func(io.Writer, *Plan, string) error) string {
	t.Helper()
	var b bytes.Buffer
	var text bytes.Buffer
	if err := summary(&text, p, ""); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimRight(text.String(), "\n"), "\n") {
		fmt.Fprintf(&b, "# %s\n", line)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "# warning: %s\n", w)
	}
	for _, w := range p.Changes {
		fmt.Fprintf(&b, "---\n# %s %s\n", w.Ref(), w.Verb())
		if w.After != nil {
			shown := w.After.DeepCopy()
			shown.SetManagedFields(nil) // as kubectl get shows it
			out, err := yaml.Marshal(shown.Object)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(out)
		}
	}
	return b.String()
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Compare(t, filepath.Join("testdata", name+".out.yaml"), got)
}

// applyWrites returns in as the cluster would hold it after the plan's writes.
func applyWrites(t *testing.T, in Input, p *Plan) Input {
	t.Helper()
	out := in
	out.PeerAuthentications = applyTo(in.PeerAuthentications, p, "PeerAuthentication")
	out.AuthorizationPolicies = applyTo(in.AuthorizationPolicies, p, "AuthorizationPolicy")
	return out
}

func applyTo(objects []*unstructured.Unstructured, p *Plan, kind string) []*unstructured.Unstructured {
	byName := map[string]*unstructured.Unstructured{}
	var order []string
	for _, o := range objects {
		byName[o.GetName()] = o
		order = append(order, o.GetName())
	}
	for _, w := range p.Changes {
		obj := w.After
		if obj == nil {
			obj = w.Before
		}
		if obj.GetKind() != kind {
			continue
		}
		if w.After == nil {
			delete(byName, obj.GetName())
			continue
		}
		if _, ok := byName[obj.GetName()]; !ok {
			order = append(order, obj.GetName())
		}
		// As the API server stores it: managedFields say who set what, and so what is ours.
		byName[obj.GetName()] = managedfields.Write(w.Before, w.After, change.FieldManager)
	}
	var result []*unstructured.Unstructured
	for _, name := range order {
		if o, ok := byName[name]; ok {
			result = append(result, o)
		}
	}
	return result
}

func assertSamePolicies(t *testing.T, want, got Input) {
	t.Helper()
	for kind, pair := range map[string][2][]*unstructured.Unstructured{
		"PeerAuthentication":  {want.PeerAuthentications, got.PeerAuthentications},
		"AuthorizationPolicy": {want.AuthorizationPolicies, got.AuthorizationPolicies},
	} {
		// Who wrote a field last is not content: the undo's writes are ours.
		if before, after := objects(pair[0]), objects(pair[1]); !equality.Semantic.DeepEqual(before, after) {
			t.Errorf("%ss after undo differ from before lockdown:\nbefore: %v\nafter:  %v", kind, before, after)
		}
	}
}

func objects(list []*unstructured.Unstructured) []map[string]any {
	var out []map[string]any
	for _, o := range list {
		o = o.DeepCopy()
		o.SetManagedFields(nil)
		out = append(out, o.Object)
	}
	return out
}

func TestLockdownPreflightStopsOnPodsWithoutSidecar(t *testing.T) {
	in := loadInput(t, "bookinfo", "default")
	in.Pods = append(in.Pods, sidecarlessPod("legacy-b"), sidecarlessPod("legacy-a"))
	_, err := Lockdown(in, Options{})
	if err == nil || !strings.Contains(err.Error(), "2 pods in namespace default have no istio-proxy sidecar and are not in ambient mode, so they cannot serve STRICT mTLS: legacy-a, legacy-b") ||
		!strings.Contains(err.Error(), "--force") {
		t.Fatalf("want a preflight error naming both pods, got %v", err)
	}
	plan, err := Lockdown(in, Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Warnings) == 0 || !strings.Contains(plan.Warnings[0], "legacy-a, legacy-b") || len(plan.Changes) != 3 {
		t.Errorf("--force: warnings %q, %d writes", plan.Warnings, len(plan.Changes))
	}
}

// The root namespace is the mesh config's, not always istio-system.
func TestLockdownFindsTheRootNamespaceInTheMeshConfig(t *testing.T) {
	in := loadInput(t, "bookinfo", "default")
	in.Mesh.RootNamespace = "default"
	if _, err := Lockdown(in, Options{}); err == nil || !strings.Contains(err.Error(), "namespace default is Istio's root namespace") {
		t.Errorf("lockdown of the mesh config's root namespace: %v", err)
	}
	in = loadInput(t, "bookinfo", "istio-system")
	in.Mesh.RootNamespace = "mesh-admin"
	if _, err := Lockdown(in, Options{}); err != nil {
		t.Errorf("istio-system is not the root namespace when the mesh config names mesh-admin: %v", err)
	}
}

// In an ambient namespace, pods enrolled in ambient are in the mesh; only a pod opted out
// (istio.io/dataplane-mode=none) without a sidecar stops the lockdown.
func TestLockdownAmbientMembership(t *testing.T) {
	in := loadInput(t, "ambient", "amb")
	if _, err := Lockdown(in, Options{}); err != nil {
		t.Fatalf("ambient pods stopped the lockdown: %v", err)
	}
	out := sidecarlessPod("batch-0")
	out.Namespace, out.Labels = "amb", map[string]string{"app": "batch", "istio.io/dataplane-mode": "none"}
	in.Pods = append(in.Pods, out)
	if _, err := Lockdown(in, Options{}); err == nil || !strings.Contains(err.Error(), "1 pods in namespace amb have no istio-proxy sidecar and are not in ambient mode, so they cannot serve STRICT mTLS: batch-0") {
		t.Errorf("an opted-out pod: %v", err)
	}
}

// Callers seen at the waypoint are allowed there, and the waypoint at ztunnel.
func TestLockdownAmbientCallersSeenAtTheWaypoint(t *testing.T) {
	in := loadInput(t, "ambient", "amb")
	seen := observed("reviews", "v1", "cluster.local/ns/shop/sa/client", true, 3)
	plan, err := Lockdown(in, Options{Observed: []Observation{seen}})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Waypoints) != 1 {
		t.Fatalf("waypoint bindings %+v, want the one of Service reviews", plan.Waypoints)
	}
	b := plan.Waypoints[0]
	if fmt.Sprint(b.Workload) != "[reviews-v1]" || len(b.Callers) != 1 || b.Callers[0].String() != "shop/client" || b.Identities[0].String() != "amb/waypoint" {
		t.Errorf("binding %+v", b)
	}
	var got []string
	for _, c := range plan.Allowed["reviews-v1"] {
		got = append(got, c.String())
	}
	if strings.Join(got, ", ") != "amb/waypoint, shop/client" {
		t.Errorf("reviews-v1 allows %v at ztunnel", got)
	}
}
