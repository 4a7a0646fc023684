package canary

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestComputeRefuses(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		req     Request
		ready   []string
		unready []string
		want    []string // substrings of the error, naming the culprit and the way out
	}{
		{"canary subset missing from the DestinationRule", "tutorial", Request{Percent: percent(10), Canary: "v9"}, allReady, nil,
			[]string{`subset "v9" is not in DestinationRule reviews`, "v1, v2, v3", "503 NC", "--force"}},
		{"canary subset without ready pods", "tutorial", Request{Percent: percent(10)}, []string{"v1", "v3"}, []string{"v2"},
			[]string{`subset "v2" selects no ready pods`, "1 pods, 0 ready", "503 UH", "deploy v2 first or pass --force"}},
		{"canary subset without any pods", "tutorial", Request{Percent: percent(10), Canary: "v3"}, []string{"v1", "v2"}, nil,
			[]string{`subset "v3" selects no ready pods`, "0 pods"}},
		{"rollback to a stable without pods", "canary-in-progress", Request{Rollback: true}, []string{"v2"}, nil,
			[]string{`subset "v1" selects no ready pods`}},
		{"several routes, no catch-all", "named-route", Request{Percent: percent(10)}, allReady, nil,
			[]string{"2 routes and none is a catch-all", "--route", "#0 name=api match: uri prefix /api", "#1 name=web"}},
		{"unknown --route", "named-route", Request{Percent: percent(10), Route: "admin"}, allReady, nil,
			[]string{`no route "admin"`, "name=api", "name=web"}},
		{"canary is stable", "tutorial", Request{Percent: percent(10), Canary: "v1"}, allReady, nil,
			[]string{"--canary v1 is the stable subset"}},
		{"another canary in progress", "canary-in-progress", Request{Percent: percent(10), Canary: "v3"}, allReady, nil,
			[]string{"a canary of v2 is in progress", "--promote or --rollback"}},
		{"promote with no canary", "tutorial", Request{Promote: true}, allReady, nil,
			[]string{"no canary in progress", "kubectl mesh canary reviews PERCENT"}},
		{"promote with no VirtualService", "no-virtualservice", Request{Promote: true}, allReady, nil,
			[]string{"no canary in progress", "no VirtualService or HTTPRoute in namespace default routes it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compute(loadInput(t, tt.input, tt.ready, tt.unready), tt.req)
			if err == nil {
				t.Fatal("want an error, got a plan")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "reviews: ") {
				t.Errorf("error %q does not start with the service's name", err)
			}
		})
	}
}

// Inputs built in code for cases a file would hide.
func TestComputeRefusesBuiltInputs(t *testing.T) {
	base := func() Input { return loadInput(t, "tutorial", allReady, nil) }
	withRoute := func(in Input, entries ...map[string]any) Input {
		list := make([]any, len(entries))
		for i, e := range entries {
			list[i] = e
		}
		vs := in.VirtualServices[0]
		virtualServiceAPI.rulesOf(vs)[0]["route"] = list
		return in
	}
	dest := func(host, subset string, weight int64) map[string]any {
		return map[string]any{"destination": map[string]any{"host": host, "subset": subset}, "weight": weight}
	}
	tests := []struct {
		name string
		in   Input
		req  Request
		want string
	}{
		{"route to another host", withRoute(base(), dest("reviews", "v1", 50), dest("reviews-next", "v1", 50)), Request{Percent: percent(10)},
			`also sends traffic to host "reviews-next"`},
		{"third subset with traffic", withRoute(base(), dest("reviews", "v1", 80), dest("reviews", "v2", 10), dest("reviews", "v3", 10)), Request{Percent: percent(10), Canary: "v2"},
			"also sends 10% to subset v3"},
		{"several candidates for canary", withRoute(base(), dest("reviews", "v1", 80), dest("reviews", "v2", 10), dest("reviews", "v3", 10)), Request{Percent: percent(10)},
			"pick the canary with --canary"},
		{"stable is the last subset", withRoute(base(), dest("reviews", "v3", 100)), Request{Percent: percent(10)},
			"stable subset v3 is the last in DestinationRule reviews"},
		{"no DestinationRule", func() Input { in := base(); in.DestinationRules = nil; in.VirtualServices = nil; return in }(), Request{Percent: percent(10)},
			"no DestinationRule in namespace default defines subsets for host reviews"},
		{"two VirtualServices for the host", func() Input {
			in := base()
			other := in.VirtualServices[0].DeepCopy()
			other.SetName("reviews-2")
			in.VirtualServices = append(in.VirtualServices, other)
			return in
		}(), Request{Percent: percent(10)}, "several routes in namespace default carry its mesh traffic (VirtualService reviews, VirtualService reviews-2) and Istio applies only one VirtualService per host"},
		{"name taken by a gateway-only VirtualService", func() Input {
			in := base()
			unstructured.SetNestedStringSlice(in.VirtualServices[0].Object, []string{"bookinfo-gateway"}, "spec", "gateways")
			return in
		}(), Request{Percent: percent(10)}, "VirtualService default/reviews exists but does not route mesh traffic"},
		{"DestinationRule host taken literally", func() Input {
			in := base()
			in.DestinationRules[0].Spec.Host = "reviews.default"
			in.VirtualServices = nil
			return in
		}(), Request{Percent: percent(10)}, `no DestinationRule in namespace default defines subsets for host reviews (DestinationRule reviews has host "reviews.default": Istio expands only short names`},
		{"DestinationRule host .svc taken literally, on an existing route", func() Input {
			in := base()
			in.DestinationRules[0].Spec.Host = "reviews.default.svc"
			return in
		}(), Request{Percent: percent(10)}, `no DestinationRule in namespace default defines subsets for host reviews (DestinationRule reviews has host "reviews.default.svc"`},
		{"VirtualService host taken literally", func() Input {
			in := base()
			unstructured.SetNestedStringSlice(in.VirtualServices[0].Object, []string{"reviews.default"}, "spec", "hosts")
			return in
		}(), Request{Percent: percent(10)}, `no VirtualService routes it, but VirtualService reviews has host "reviews.default": Istio expands only short names`},
		{"route destination taken literally", withRoute(base(), dest("reviews.default", "v1", 100)), Request{Percent: percent(10)},
			`sends traffic to host "reviews.default", which is not service reviews for Istio`},
		{"corrupt record", func() Input {
			in := base()
			in.VirtualServices[0].SetAnnotations(map[string]string{RecordAnnotation: "{not json"})
			return in
		}(), Request{Percent: percent(10)}, "annotation kubectl-mesh.dev/canary is not a canary record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compute(tt.in, tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("want an error containing %q, got %v", tt.want, err)
			}
		})
	}
}
