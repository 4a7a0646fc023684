package canary

import (
	"encoding/json"
	"testing"
)

// Planning over VirtualServices and HTTPRoutes of any shape the API server could hold: a plan
// or an error, never a panic.
func FuzzComputeOverAnyRoutes(f *testing.F) {
	f.Add([]byte(`{"hosts":["reviews"],"http":[{"route":[{"destination":{"host":"reviews","subset":"v1"},"weight":90},{"destination":{"host":"reviews","subset":"v2"},"weight":10}]}]}`),
		[]byte(`{"parentRefs":[{"group":"","kind":"Service","name":"reviews","port":9080}],"rules":[{"backendRefs":[{"name":"reviews-v1","port":9080}]}]}`), uint8(10))
	f.Add([]byte(`{"hosts":"reviews","http":[{"route":"x"}]}`), []byte(`{"parentRefs":[{"name":[]}],"rules":[{"backendRefs":[{"weight":"a"}]}]}`), uint8(101))
	f.Add([]byte(`{"hosts":["reviews"],"http":[{"route":[{"destination":{"host":"reviews","subset":"v1"},"weight":-5}]},{"name":"x"}],"tcp":[{}]}`), []byte(`null`), uint8(0))
	f.Fuzz(func(t *testing.T, vsSpec, routeSpec []byte, percent uint8) {
		in := loadInput(t, "tutorial", []string{"v1", "v2", "v3"}, nil)
		var spec, route any
		if json.Unmarshal(vsSpec, &spec) == nil && len(in.VirtualServices) > 0 {
			in.VirtualServices[0].Object["spec"] = spec
		}
		if json.Unmarshal(routeSpec, &route) == nil {
			routes := loadGatewayAPIInput(t, "httproute-v1", map[string]int{"v1": 1, "v2": 1}).Routes
			if len(routes) > 0 {
				routes[0].Object["spec"] = route
				in.Routes = routes
			}
		}
		p := int(percent)
		for _, req := range []Request{{Percent: &p}, {Promote: true}, {Rollback: true}, {}, {Percent: &p, Canary: "v3", Force: true}} {
			_, _ = Compute(in, req)
		}
	})
}
