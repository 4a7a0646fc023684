package cmd

import (
	"strings"
	"testing"
)

// A lockdown costs the same reads however many workloads and pods the namespace has: two
// discovery requests (networking and security); the namespace and the mesh config; in
// parallel the namespace's pods, services and two kinds of policy, the root namespace's two,
// and everywhere VirtualServices, Istio Gateways, Gateway API Gateways and four route kinds;
// one list of the gateway's pods; then one write per object.
func TestLockdownRequestCountIsConstant(t *testing.T) {
	for _, size := range []struct{ apps, pods int }{{2, 1}, {20, 30}} {
		f := newLockdownCluster(size.apps, size.pods)
		stdout, stderr, code := run(f, "lockdown", "shop")
		if code != 0 {
			t.Fatal(stderr)
		}
		if !strings.Contains(stdout, "app0-v1 <- istio-system/ingress (ingress gateway shop/shop-gateway)") {
			t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
		const reads, writes = 18, 3 // ALLOW app0-v1, PeerAuthentication, default deny
		if got := f.requests(); got != reads+writes {
			t.Errorf("%d apps x %d pods: %d requests, want %d", size.apps, size.pods, got, reads+writes)
		}
		// The second run reads the same and writes nothing.
		before := f.requests()
		if _, stderr, code := run(f, "lockdown", "shop"); code != 0 {
			t.Fatal(stderr)
		}
		if got := f.requests() - before; got != reads {
			t.Errorf("second run: %d requests, want %d reads", got, reads)
		}
	}
}
