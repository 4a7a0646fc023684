//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// A lone backendRef of weight 0 receives nothing (Istio answers 500): status shows 0% and the
// next step says it was 0%. A lone VirtualService destination carries everything whatever its
// weight: 100%.
func TestCanaryLoneZeroWeight(t *testing.T) {
	t.Parallel()
	t.Run("HTTPRoute", func(t *testing.T) {
		t.Parallel()
		ns := gatewayAPIBookinfo(t, "weights-zero-httproute", "sidecar")
		apply(t, fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: %s}
spec:
  parentRefs:
  - {group: "", kind: Service, name: reviews, port: 9080}
  rules:
  - backendRefs:
    - {name: reviews-v1, port: 9080, weight: 0}
`, ns))
		status := mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "-n", ns))
		if !strings.Contains(status.stdout, "reviews-v1   stable   0%") {
			t.Errorf("status:\n%s", status.stdout)
		}
		assertOutput(t, plugin(t, cluster, "mesh-canary", "reviews", "10", "-n", ns), "reviews: reviews-v1 90%, reviews-v2 10% (was reviews-v1 0%)")
		if got := backendSplit(t, ns, "reviews"); got != "reviews-v1:9080@90 reviews-v2:9080@10" {
			t.Errorf("after 10: %s", got)
		}
	})
	t.Run("VirtualService", func(t *testing.T) {
		t.Parallel()
		ns := bookinfoNamespace(t, "weights-zero-vs")
		apply(t, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: %s}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 0
`, ns))
		status := mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "-n", ns))
		if !strings.Contains(status.stdout, "v1       stable   100%") {
			t.Errorf("status:\n%s", status.stdout)
		}
		assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns), "reviews: v1 90%, v2 10% (was v1 100%)")
		assertWeights(t, ns, "reviews", "v1 90, v2 10")
	})
}
