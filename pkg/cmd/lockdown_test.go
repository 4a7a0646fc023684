package cmd

import (
	"strings"
	"testing"
)

// A lockdown costs the same reads however many workloads and pods the namespace has, in three
// rounds: the namespace and the mesh config; in parallel the namespace's pods, services and
// two kinds of policy and its ReferenceGrants, the root namespace's two policy kinds, and
// everywhere VirtualServices, Istio Gateways, Gateway API Gateways and four route kinds; one
// list of the gateway's pods. Then
// one write per object, in order. No discovery request: a cluster without Istio says so by
// answering the first list of its policies 404.
func TestLockdownRequestCountIsConstant(t *testing.T) {
	for _, size := range []struct{ apps, pods int }{{2, 1}, {20, 30}} {
		f := newLockdownCluster(size.apps, size.pods)
		stdout, stderr, code := run(f, "lockdown", "shop")
		if code != 0 {
			t.Fatal(stderr)
		}
		if !strings.Contains(stdout, "app0-v1 <- istio-system/ingress (ingress gateway shop/shop-gateway, routed by VirtualService shop/") {
			t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
		const reads, writes = 17, 3 // ALLOW app0-v1, PeerAuthentication, default deny
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

// Reads that do not depend on each other go out together: three rounds of reads, then the
// writes one after the other (each allow-list before the deny that needs it).
func TestLockdownRoundTrips(t *testing.T) {
	n, stderr, code := roundTrips(t, func() *fakeCluster { return newLockdownCluster(20, 30) }, "lockdown", "shop")
	if code != 0 {
		t.Fatal(stderr)
	}
	if want := 3 + 3; n != want { // ALLOW app0-v1 (ingress), PeerAuthentication, deny
		t.Errorf("%d sequential round trips, want %d", n, want)
	}
	n, _, _ = roundTrips(t, func() *fakeCluster { return newLockdownCluster(20, 30) }, "lockdown", "shop", "--status")
	if n != 3 {
		t.Errorf("--status: %d sequential round trips, want 3", n)
	}
}
