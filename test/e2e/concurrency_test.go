//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// together runs the plugin commands at once and returns their results in order.
func together(t *testing.T, commands ...[]string) []result {
	t.Helper()
	results := make([]result, len(commands))
	var wg sync.WaitGroup
	for i, args := range commands {
		wg.Go(func() { results[i] = plugin(t, cluster, args...) })
	}
	wg.Wait()
	return results
}

// Two lockdowns of one namespace at once end in the one locked-down state, two undos at once
// in the state before: nothing duplicated, nothing half removed. A canary racing a lockdown
// in the same namespace loses nothing of either.
func TestConcurrentRuns(t *testing.T) {
	t.Parallel()
	ns := exposedBookinfo(t, "concurrent")
	apply(t, fmt.Sprintf(reviewsAllV1, ns))
	before := meshState(t, ns)
	lockdown := []string{"mesh", "lockdown", ns, "--allow-from", "ns/" + ns}
	undo := []string{"mesh", "lockdown", ns, "--undo"}
	mustSucceed(t, plugin(t, cluster, lockdown...))
	locked := meshState(t, ns)
	mustSucceed(t, plugin(t, cluster, undo...))

	for round := range 5 {
		for _, r := range together(t, lockdown, lockdown) {
			mustSucceed(t, r)
		}
		if got := meshState(t, ns); got != locked {
			t.Fatalf("round %d: two lockdowns at once left\n%s\nwant\n%s", round, got, locked)
		}
		for _, r := range together(t, undo, undo) {
			mustSucceed(t, r)
		}
		if got := meshState(t, ns); got != before {
			t.Fatalf("round %d: two undos at once left\n%s\nwant\n%s", round, got, before)
		}
	}

	for _, r := range together(t, []string{"mesh", "canary", "reviews", "10", "-n", ns}, lockdown) {
		mustSucceed(t, r)
	}
	assertWeights(t, ns, "reviews", "v1 90, v2 10")
	if got, want := securityOf(meshState(t, ns)), securityOf(locked); got != want {
		t.Errorf("the lockdown beside a canary left\n%s\nwant\n%s", got, want)
	}
}

// securityOf keeps the PeerAuthentications and AuthorizationPolicies of a meshState.
func securityOf(state string) string {
	var kept []string
	for _, line := range strings.Split(state, "\n") {
		if strings.HasPrefix(line, "PeerAuthentication/") || strings.HasPrefix(line, "AuthorizationPolicy/") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}
