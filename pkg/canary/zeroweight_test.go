package canary

import (
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/manifest"
)

// A weight of 0 means what Istio makes of it: a lone backendRef of weight 0 receives nothing
// (Istio answers 500), while a lone VirtualService destination carries everything whatever
// its weight. Status shows that share, and the next step says what it was.
func TestLoneZeroWeight(t *testing.T) {
	httpRoute := func(kind, backendRefs string) string {
		return "apiVersion: gateway.networking.k8s.io/v1\nkind: " + kind + "\nmetadata: {name: reviews, namespace: default}\n" +
			"spec: {parentRefs: [{group: '', kind: Service, name: reviews, port: 9080}], rules: [{backendRefs: " + backendRefs + "}]}\n"
	}
	virtualService := func(route string) string {
		return "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews, namespace: default}\n" +
			"spec: {hosts: [reviews], http: [{route: " + route + "}]}\n"
	}
	for _, tc := range []struct {
		name, route string
		status      string // the weights status shows
		row         string // reviews-v1's or v1's row in the status table
		step        string // the summary of canary reviews 10
	}{
		{"HTTPRoute, lone backendRef of weight 0", httpRoute("HTTPRoute", "[{name: reviews-v1, port: 9080, weight: 0}]"),
			"reviews-v1 0%", "reviews-v1   stable   0%", "reviews: reviews-v1 90%, reviews-v2 10% (was reviews-v1 0%)"},
		{"GRPCRoute, lone backendRef of weight 0", httpRoute("GRPCRoute", "[{name: reviews-v1, port: 9080, weight: 0}]"),
			"reviews-v1 0%", "reviews-v1   stable   0%", "reviews: reviews-v1 90%, reviews-v2 10% (was reviews-v1 0%)"},
		{"HTTPRoute, every backendRef of weight 0", httpRoute("HTTPRoute", "[{name: reviews-v1, port: 9080, weight: 0}, {name: reviews-v2, port: 9080, weight: 0}]"),
			"reviews-v1 0%, reviews-v2 0%", "reviews-v1   stable   0%", "reviews: reviews-v1 90%, reviews-v2 10% (was reviews-v1 0%, reviews-v2 0%)"},
		{"HTTPRoute, lone backendRef of weight 5", httpRoute("HTTPRoute", "[{name: reviews-v1, port: 9080, weight: 5}]"),
			"reviews-v1 100%", "reviews-v1   stable   100%", "reviews: reviews-v1 90%, reviews-v2 10% (was reviews-v1 100%)"},
		{"HTTPRoute, lone backendRef without weight", httpRoute("HTTPRoute", "[{name: reviews-v1, port: 9080}]"),
			"reviews-v1 100%", "reviews-v1   stable   100%", "reviews: reviews-v1 90%, reviews-v2 10% (was reviews-v1 100%)"},
		{"VirtualService, lone destination of weight 0", virtualService("[{destination: {host: reviews, subset: v1}, weight: 0}]"),
			"v1 100%", "v1       stable   100%", "reviews: v1 90%, v2 10% (was v1 100%)"},
		{"VirtualService, lone destination without weight", virtualService("[{destination: {host: reviews, subset: v1}}]"),
			"v1 100%", "v1       stable   100%", "reviews: v1 90%, v2 10% (was v1 100%)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objects, err := manifest.Decode([]byte(tc.route))
			if err != nil {
				t.Fatal(err)
			}
			var in Input
			if objects[0].GetKind() == "VirtualService" {
				in = loadInput(t, "no-virtualservice", allReady, nil)
				in.VirtualServices = objects
			} else {
				in = loadGatewayAPIInput(t, "", allEndpointsReady)
				in.Routes = objects
			}
			status, err := Compute(in, Request{})
			if err != nil {
				t.Fatal(err)
			}
			if got := FormatWeights(status.After); got != tc.status {
				t.Errorf("status weights %q, want %q", got, tc.status)
			}
			var out strings.Builder
			if err := WriteStatus(&out, status, nil); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.row) {
				t.Errorf("status:\n%s\nwant a row %q", out.String(), tc.row)
			}
			step, err := Compute(in, Request{Percent: percent(10)})
			if err != nil {
				t.Fatal(err)
			}
			if step.Summary() != tc.step {
				t.Errorf("step: %q, want %q", step.Summary(), tc.step)
			}
		})
	}
}
