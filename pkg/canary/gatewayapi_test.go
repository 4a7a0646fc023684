package canary

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
	"github.com/kubectl-mesh/kubectl-mesh/internal/manifest"
)

// loadGatewayAPIInput is bookinfo's reviews laid out as Istio's bookinfo-versions.yaml does:
// Service reviews and one Service per version (reviews-v1, ...), with ready endpoints per
// version as given, and the routes of testdata/NAME.in.yaml ("" for none).
func loadGatewayAPIInput(t testing.TB, name string, ready map[string]int) Input {
	t.Helper()
	in := Input{Service: reviews, ServiceSelector: map[string]string{"app": "reviews"}, ServicePorts: []int32{9080}}
	in.Services = append(in.Services, service("reviews", map[string]string{"app": "reviews"}))
	for _, v := range []string{"v1", "v2", "v3"} {
		in.Services = append(in.Services, service("reviews-"+v, map[string]string{"app": "reviews", "version": v}))
		in.EndpointSlices = append(in.EndpointSlices, endpointSlice("reviews-"+v, ready[v], 1))
	}
	if name != "" {
		for _, obj := range golden.Objects(t, filepath.Join("testdata", name+".in.yaml")) {
			switch obj.GetKind() {
			case "HTTPRoute", "GRPCRoute":
				in.Routes = append(in.Routes, obj)
			case "VirtualService":
				in.VirtualServices = append(in.VirtualServices, obj)
			default:
				t.Fatalf("%s: unexpected kind %s", name, obj.GetKind())
			}
		}
	}
	return in
}

func service(name string, selector map[string]string) corev1.Service {
	return corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "reviews"}},
		Spec:       corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{Name: "http", Port: 9080}}},
	}
}

// endpointSlice has ready of total endpoints for service.
func endpointSlice(service string, ready, total int) discoveryv1.EndpointSlice {
	slice := discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: service + "-abc", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: service}}}
	for i := range max(total, ready) {
		isReady := i < ready
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.0.0.%d", i+1)}, Conditions: discoveryv1.EndpointConditions{Ready: &isReady}})
	}
	return slice
}

var allEndpointsReady = map[string]int{"v1": 1, "v2": 1, "v3": 1}

// backendRefs reads rule #0's backendRefs as "name:port@weight", the weight "-" when unset.
func backendRefs(t *testing.T, route *unstructured.Unstructured) string {
	t.Helper()
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	var parts []string
	for _, b := range rules[len(rules)-1].(map[string]any)["backendRefs"].([]any) {
		ref := b.(map[string]any)
		weight := "-"
		if w, ok := ref["weight"]; ok {
			weight = fmt.Sprint(w)
		}
		parts = append(parts, fmt.Sprintf("%s:%v@%s", ref["name"], ref["port"], weight))
	}
	return strings.Join(parts, " ")
}

// Istio's traffic-shifting task, step by step: each split written equals the one in Istio's
// sample files (route-reviews-90-10.yaml, -50-v3.yaml, -v3.yaml, and back to -v1.yaml).
func TestGatewayAPITutorial(t *testing.T) {
	steps := []struct {
		name string
		req  Request
		want string // backendRefs after the step
		line string // the summary
	}{
		{"90-10", Request{Percent: percent(10)}, "reviews-v1:9080@90 reviews-v2:9080@10", "reviews: reviews-v1 90%, reviews-v2 10% (was reviews-v1 100%)"},
		{"50-v3 by version", Request{Percent: percent(50), Canary: "v3"}, "reviews-v1:9080@50 reviews-v3:9080@50", "reviews: reviews-v1 50%, reviews-v3 50% (was reviews-v1 100%)"},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			in := loadGatewayAPIInput(t, "httproute-v1", allEndpointsReady)
			before := in.Routes[0].DeepCopy()
			plan, err := Compute(in, step.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := backendRefs(t, plan.Route); got != step.want {
				t.Errorf("backendRefs %s, want %s", got, step.want)
			}
			if plan.Summary() != step.line {
				t.Errorf("summary %q, want %q", plan.Summary(), step.line)
			}
			if !equality.Semantic.DeepEqual(before.Object, in.Routes[0].Object) {
				t.Error("Compute changed its input")
			}
			assertOnlyRulesAndRecordChanged(t, before, plan.Route, httpRouteAPI)
		})
	}
	// From 50/50 on v3: promote leaves reviews-v3 alone, as route-reviews-v3.yaml; rollback
	// leaves reviews-v1 alone, as route-reviews-v1.yaml. Both close the record.
	in := loadGatewayAPIInput(t, "httproute-v1", allEndpointsReady)
	half, err := Compute(in, Request{Percent: percent(50), Canary: "reviews-v3"})
	if err != nil {
		t.Fatal(err)
	}
	in.Routes = []*unstructured.Unstructured{half.Route}
	for req, want := range map[*Request]string{{Promote: true}: "reviews-v3:9080@-", {Rollback: true}: "reviews-v1:9080@-"} {
		plan, err := Compute(in, *req)
		if err != nil {
			t.Fatal(err)
		}
		if got := backendRefs(t, plan.Route); got != want || plan.InProgress || plan.Route.GetAnnotations()[RecordAnnotation] != "" {
			t.Errorf("%+v: backendRefs %s (want %s), in progress %t, record %q", *req, got, want, plan.InProgress, plan.Route.GetAnnotations()[RecordAnnotation])
		}
	}
}

// Only weights change on an HTTPRoute: matches, filters, timeouts, other rules, parentRefs,
// labels and unknown fields stay as they were.
func TestGatewayAPIKeepsEveryOtherField(t *testing.T) {
	in := loadGatewayAPIInput(t, "httproute-fields", allEndpointsReady)
	plan, err := Compute(in, Request{Percent: percent(20), Canary: "reviews-v3"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Rule != `rule "default"` || backendRefs(t, plan.Route) != "reviews-v1:9080@80 reviews-v3:9080@20" {
		t.Errorf("%s: %s", plan.Rule, backendRefs(t, plan.Route))
	}
	assertOnlyRulesAndRecordChanged(t, in.Routes[0], plan.Route, httpRouteAPI)
	entry := plan.Route.Object["spec"].(map[string]any)["rules"].([]any)[1].(map[string]any)["backendRefs"].([]any)[0].(map[string]any)
	if _, kept := entry["filters"]; !kept {
		t.Error("the stable backendRef lost its filters")
	}
}

// What a user could meet, refused before anything is written, saying why.
func TestGatewayAPIRefusals(t *testing.T) {
	withRoute := func(doc string) func(Input) Input {
		return func(in Input) Input {
			objects, err := manifest.Decode([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			in.Routes = append(in.Routes, objects...)
			return in
		}
	}
	vs := withRoute("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews-vs, namespace: default}\nspec: {hosts: [reviews], http: [{route: [{destination: {host: reviews, subset: v1}}]}]}\n")
	tests := []struct {
		name  string
		input func(Input) Input
		ready map[string]int
		req   Request
		want  string
	}{
		{"canary Service missing", nil, allEndpointsReady, Request{Percent: percent(10), Canary: "reviews-v9"},
			`no version Service "reviews-v9" in namespace default (versions: reviews-v1, reviews-v2, reviews-v3; Envoy answers 500`},
		{"canary without ready endpoint", nil, map[string]int{"v1": 1, "v3": 1}, Request{Percent: percent(10)},
			`Service "reviews-v2" has no ready endpoint (1 endpoints, 0 ready; 503 UH in Envoy); deploy reviews-v2 first or pass --force`},
		{"a VirtualService beside the HTTPRoute", func(in Input) Input {
			in = vs(in)
			in.VirtualServices, in.Routes = in.Routes[1:], in.Routes[:1]
			return in
		}, allEndpointsReady, Request{Percent: percent(10)}, "several routes in namespace default carry its mesh traffic (VirtualService reviews-vs, HTTPRoute reviews)"},
		{"another service's backend", withRoute("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: mixed, namespace: other}\nspec: {parentRefs: [{group: '', kind: Service, name: reviews, namespace: default}], rules: [{backendRefs: [{name: ratings, namespace: default, port: 9080}]}]}\n"),
			allEndpointsReady, Request{Percent: percent(10)}, "several routes"},
		{"--api against the existing route", nil, allEndpointsReady, Request{Percent: percent(10), API: APIVirtualService},
			"HTTPRoute reviews already routes it; --api virtualservice would add a second route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loadGatewayAPIInput(t, "httproute-v1", tt.ready)
			if tt.input != nil {
				in = tt.input(in)
			}
			_, err := Compute(in, tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("want an error containing %q, got %v", tt.want, err)
			}
		})
	}
}

// A route that sends to a Service other than a version of reviews is refused.
func TestGatewayAPIRefusesOtherBackends(t *testing.T) {
	in := loadGatewayAPIInput(t, "httproute-v1", allEndpointsReady)
	unstructured.SetNestedSlice(in.Routes[0].Object, []any{map[string]any{"backendRefs": []any{
		map[string]any{"name": "reviews-v1", "port": int64(9080), "weight": int64(50)},
		map[string]any{"name": "ratings", "port": int64(9080), "weight": int64(50)},
	}}}, "spec", "rules")
	_, err := Compute(in, Request{Percent: percent(10)})
	if err == nil || !strings.Contains(err.Error(), "also sends traffic to default/ratings, which is not a version Service of reviews") {
		t.Errorf("got %v", err)
	}
}

// No route yet: where the versions are Services and no DestinationRule defines subsets, an
// HTTPRoute is created, attached to the Service as Istio's task writes it.
func TestGatewayAPICreatesAnHTTPRoute(t *testing.T) {
	in := loadGatewayAPIInput(t, "", allEndpointsReady)
	plan, err := Compute(in, Request{Percent: percent(10)})
	if err != nil {
		t.Fatal(err)
	}
	route := plan.Route
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	if route.GetKind() != "HTTPRoute" || !plan.Create || fmt.Sprint(parents) != "[map[group: kind:Service name:reviews port:9080]]" {
		t.Errorf("created %s %s with parentRefs %v", route.GetKind(), route.GetName(), parents)
	}
	if got := backendRefs(t, route); got != "reviews-v1:9080@90 reviews-v2:9080@10" {
		t.Errorf("backendRefs %s", got)
	}
	if route.GetLabels()["app.kubernetes.io/managed-by"] != "kubectl-mesh" {
		t.Errorf("labels %v", route.GetLabels())
	}
	// --api virtualservice asks for the other API: without subsets, it cannot.
	if _, err := Compute(in, Request{Percent: percent(10), API: APIVirtualService}); err == nil || !strings.Contains(err.Error(), "no DestinationRule in namespace default defines subsets") {
		t.Errorf("--api virtualservice without subsets: %v", err)
	}
}

// assertOnlyRulesAndRecordChanged checks the promise "only weights change": with the rules'
// entry lists and the canary record set aside, the route is exactly as it was read.
func assertOnlyRulesAndRecordChanged(t *testing.T, before, after *unstructured.Unstructured, a routeAPI) {
	t.Helper()
	strip := func(route *unstructured.Unstructured) *unstructured.Unstructured {
		route = route.DeepCopy()
		annotations := route.GetAnnotations()
		delete(annotations, RecordAnnotation)
		if len(annotations) == 0 {
			annotations = nil
		}
		route.SetAnnotations(annotations)
		for _, r := range a.rulesOf(route) {
			entries, _ := r[a.entries].([]any)
			for _, e := range entries {
				delete(e.(map[string]any), "weight")
				delete(e.(map[string]any), "name")
			}
		}
		return route
	}
	b, a2 := strip(before), strip(after)
	// A new entry may be added: compare the entries before with the same number after.
	for i, r := range a.rulesOf(a2) {
		entries := r[a.entries].([]any)
		if n := len(a.rulesOf(b)[i][a.entries].([]any)); len(entries) > n {
			r[a.entries] = entries[:n]
		}
	}
	if !equality.Semantic.DeepEqual(a2.Object, b.Object) {
		t.Errorf("fields other than weights changed:\nbefore: %v\nafter:  %v", b.Object, a2.Object)
	}
}

// The status names the route and rule it edits, and per version Service its weight and ready
// endpoints.
func TestGatewayAPIStatus(t *testing.T) {
	in := loadGatewayAPIInput(t, "httproute-v1", map[string]int{"v1": 1, "v2": 1})
	step, err := Compute(in, Request{Percent: percent(10)})
	if err != nil {
		t.Fatal(err)
	}
	in.Routes = []*unstructured.Unstructured{step.Route}
	status, err := Compute(in, Request{})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := WriteStatus(&out, status, map[string]Figures{"reviews-v2": {RPS: 1.5, ErrorRate: 0.1, P99Ms: 40, HasP99: true}}); err != nil {
		t.Fatal(err)
	}
	want := `reviews (namespace default): HTTPRoute reviews, rule #0
canary in progress: reviews-v1 stable, reviews-v2 canary

BACKEND      ROLE     WEIGHT   READY   RPS    ERRORS   P99
reviews-v1   stable   90%      1/1     -      -        -
reviews-v2   canary   10%      1/1     1.50   10.0%    40ms
reviews-v3   -        0%       0/1     -      -        -
`
	if out.String() != want {
		t.Errorf("status:\n%s\nwant:\n%s", out.String(), want)
	}
	services, waypoint := status.FigureScope()
	if strings.Join(services, ",") != "reviews,reviews-v1,reviews-v2,reviews-v3" || waypoint {
		t.Errorf("figures for %v (waypoint %t)", services, waypoint)
	}
}

// A user who may not list EndpointSlices cannot be told what is ready behind a version Service:
// the step is refused, saying so, unless --force; the status shows "?".
func TestGatewayAPIEndpointsUnreadable(t *testing.T) {
	in := loadGatewayAPIInput(t, "httproute-v1", nil)
	in.EndpointSlices, in.EndpointsUnreadable = nil, true
	if _, err := Compute(in, Request{Percent: percent(10)}); err == nil || !strings.Contains(err.Error(), `cannot tell whether Service "reviews-v2" has ready endpoints (you may not list endpointslices in namespace default)`) {
		t.Errorf("want a refusal naming the missing right, got %v", err)
	}
	plan, err := Compute(in, Request{Percent: percent(10), Force: true})
	if err != nil || len(plan.Warnings) != 1 {
		t.Fatalf("--force: %v, warnings %q", err, plan.Warnings)
	}
	var out strings.Builder
	if err := WriteStatus(&out, plan, nil); err != nil || !strings.Contains(out.String(), "reviews-v2   canary   10%      ?") {
		t.Errorf("status:\n%s", out.String())
	}
}
