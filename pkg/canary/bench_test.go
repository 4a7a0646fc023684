package canary

import (
	"fmt"
	"testing"
)

// Planning on a large namespace: a VirtualService with 50 match routes before its catch-all,
// and 1,000 pods per subset.
func BenchmarkCompute(b *testing.B) {
	in := loadInput(b, "tutorial", nil, nil)
	vs := in.VirtualServices[0]
	routes := virtualServiceAPI.rulesOf(vs)
	var list []any
	for i := range 50 {
		list = append(list, map[string]any{
			"name":  fmt.Sprintf("r%d", i),
			"match": []any{map[string]any{"uri": map[string]any{"prefix": fmt.Sprintf("/p%d", i)}}},
			"route": []any{map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v1"}}},
		})
	}
	list = append(list, routes[0])
	vs.Object["spec"].(map[string]any)["http"] = list
	for _, v := range []string{"v1", "v2", "v3"} {
		for range 1000 {
			in.Pods = append(in.Pods, pod(v, true))
		}
	}
	req := Request{Percent: percent(10)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compute(in, req); err != nil {
			b.Fatal(err)
		}
	}
}
