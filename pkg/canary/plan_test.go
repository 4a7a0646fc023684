package canary

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

var reviews = istio.Service{Name: "reviews", Namespace: "default"}

// loadInput reads testdata/NAME.in.yaml (VirtualServices and DestinationRules) and adds pods:
// one ready pod per version in ready, one unready pod per version in unready.
func loadInput(t testing.TB, name string, ready, unready []string) Input {
	t.Helper()
	in := Input{Service: reviews, ServiceSelector: map[string]string{"app": "reviews"}}
	for _, obj := range golden.Objects(t, filepath.Join("testdata", name+".in.yaml")) {
		switch obj.GetKind() {
		case "VirtualService":
			in.VirtualServices = append(in.VirtualServices, obj)
		case "DestinationRule":
			raw, _ := obj.MarshalJSON()
			var dr networkingv1.DestinationRule
			if err := yaml.Unmarshal(raw, &dr); err != nil {
				t.Fatal(err)
			}
			in.DestinationRules = append(in.DestinationRules, &dr)
		default:
			t.Fatalf("%s: unexpected kind %s", name, obj.GetKind())
		}
	}
	for _, v := range ready {
		in.Pods = append(in.Pods, pod(v, true))
	}
	for _, v := range unready {
		in.Pods = append(in.Pods, pod(v, false))
	}
	return in
}

func pod(version string, ready bool) corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews-" + version, Namespace: "default", Labels: map[string]string{"app": "reviews", "version": version}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
}

func percent(p int) *int { return &p }

var allReady = []string{"v1", "v2", "v3"}

func TestComputeGolden(t *testing.T) {
	tests := []struct {
		name    string // golden file testdata/NAME.out.yaml
		input   string // testdata/INPUT.in.yaml
		req     Request
		ready   []string
		unready []string
	}{
		{name: "tutorial-10", input: "tutorial", req: Request{Percent: percent(10)}, ready: allReady},
		{name: "tutorial-canary-v3", input: "tutorial", req: Request{Percent: percent(20), Canary: "v3"}, ready: allReady},
		{name: "tutorial-0", input: "tutorial", req: Request{Percent: percent(0)}, ready: allReady},
		{name: "no-virtualservice-10", input: "no-virtualservice", req: Request{Percent: percent(10)}, ready: allReady},
		{name: "in-progress-70", input: "canary-in-progress", req: Request{Percent: percent(70)}, ready: allReady},
		{name: "in-progress-same-step", input: "canary-in-progress", req: Request{Percent: percent(60)}, ready: allReady},
		{name: "in-progress-100", input: "canary-in-progress", req: Request{Percent: percent(100)}, ready: allReady},
		{name: "in-progress-rollback", input: "canary-in-progress", req: Request{Rollback: true}, ready: allReady},
		{name: "in-progress-promote", input: "canary-in-progress", req: Request{Promote: true}, ready: allReady},
		{name: "preserve-fields-10", input: "preserve-fields", req: Request{Percent: percent(10)}, ready: allReady},
		{name: "fqdn-hosts-25", input: "fqdn-hosts", req: Request{Percent: percent(25)}, ready: allReady},
		{name: "named-route-api", input: "named-route", req: Request{Percent: percent(30), Route: "api"}, ready: allReady},
		{name: "named-route-index", input: "named-route", req: Request{Percent: percent(30), Route: "#1"}, ready: allReady},
		{name: "subsetless-destination-10", input: "subsetless-destination", req: Request{Percent: percent(10)}, ready: allReady},
		{name: "gateway-and-mesh-10", input: "gateway-and-mesh", req: Request{Percent: percent(10)}, ready: allReady},
		{name: "custom-subsets-10", input: "custom-subsets", req: Request{Percent: percent(10)}, ready: []string{"v1", "v2"}},
		{name: "forced-unready-canary", input: "tutorial", req: Request{Percent: percent(10), Force: true}, ready: []string{"v1"}, unready: []string{"v2"}},
		{name: "rollback-without-canary", input: "tutorial", req: Request{Rollback: true}, ready: allReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loadInput(t, tt.input, tt.ready, tt.unready)
			before := snapshot(t, in)
			plan, err := Compute(in, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if after := snapshot(t, in); after != before {
				t.Fatal("Compute changed its input")
			}
			got := render(t, plan)
			golden.Compare(t, filepath.Join("testdata", tt.name+".out.yaml"), got)
			assertWeightsSumTo100(t, plan)
			if !plan.Create {
				assertOnlyRoutesAndRecordChanged(t, in, plan)
			}
		})
	}
}

func snapshot(t testing.TB, in Input) string {
	t.Helper()
	out, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// render is the golden form of a plan: its summary and warnings as comments, then the
// VirtualService to write.
func render(t *testing.T, p *Plan) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n# create=%t changed=%t stable=%s canary=%s in-progress=%t\n", p.Summary(), p.Create, p.Changed, p.Stable, p.Canary, p.InProgress)
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "# warning: %s\n", w)
	}
	if p.Route != nil {
		out, err := yaml.Marshal(p.Route.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(out)
	}
	return b.String()
}

func assertWeightsSumTo100(t *testing.T, p *Plan) {
	t.Helper()
	if p.Route == nil {
		return
	}
	for i, r := range virtualServiceAPI.rulesOf(p.Route) {
		dests := virtualServiceAPI.destinations(r, reviews)
		if len(dests) == 0 {
			continue
		}
		var sum int64
		for _, d := range dests {
			sum += d.weight
		}
		if sum != 100 {
			t.Errorf("route #%d: weights sum to %d, not 100", i, sum)
		}
	}
}

// assertOnlyRoutesAndRecordChanged checks the promise "only weights change": with the route
// lists and the canary record set aside, the VirtualService is exactly as it was read, and at
// most one route's list differs.
func assertOnlyRoutesAndRecordChanged(t *testing.T, in Input, p *Plan) {
	t.Helper()
	var before *unstructured.Unstructured
	for _, vs := range in.VirtualServices {
		if vs.GetName() == p.Route.GetName() {
			before = vs
		}
	}
	strip := func(vs *unstructured.Unstructured) (*unstructured.Unstructured, []any) {
		vs = vs.DeepCopy()
		annotations := vs.GetAnnotations()
		delete(annotations, RecordAnnotation)
		if len(annotations) == 0 {
			annotations = nil
		}
		vs.SetAnnotations(annotations)
		var lists []any
		for _, r := range virtualServiceAPI.rulesOf(vs) {
			lists = append(lists, r["route"])
			delete(r, "route")
		}
		return vs, lists
	}
	b, beforeLists := strip(before)
	a, afterLists := strip(p.Route)
	if !equality.Semantic.DeepEqual(a.Object, b.Object) {
		t.Errorf("fields other than route weights changed:\nbefore: %v\nafter:  %v", b.Object, a.Object)
	}
	changed := 0
	for i := range beforeLists {
		if !equality.Semantic.DeepEqual(beforeLists[i], afterLists[i]) {
			changed++
		}
	}
	if changed > 1 {
		t.Errorf("%d routes changed; only one may", changed)
	}
}
