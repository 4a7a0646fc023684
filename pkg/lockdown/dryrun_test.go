package lockdown

import (
	"reflect"
	"strings"
	"testing"
)

// A dry run shows the plan even where a real run would stop: each blocker is recorded, and
// the plan is the one --force would write, without --force's "going ahead" warnings.
func TestLockdownDryRunPlansPastBlockers(t *testing.T) {
	in := loadInput(t, "bookinfo", "default")
	in.Pods = append(in.Pods, sidecarlessPod("legacy-a"))
	in.Mesh.RootNamespace = "default"
	traffic := []Observation{observed("productpage", "v1", "", false, 2)}
	opts := Options{Observed: traffic, OutsideMesh: []string{"legacy/curl-client"}}
	if _, err := Lockdown(in, opts); err == nil {
		t.Fatal("a real run with blockers planned")
	}
	opts.DryRun = true
	plan, err := Lockdown(in, opts)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	wants := []string{"namespace default is Istio's root namespace", "1 pods in namespace default have no istio-proxy sidecar", "STRICT mTLS would reject traffic seen in telemetry"}
	if len(plan.Blockers) != len(wants) {
		t.Fatalf("blockers %q, want %d", plan.Blockers, len(wants))
	}
	for i, want := range wants {
		if !strings.Contains(plan.Blockers[i], want) || !strings.Contains(plan.Blockers[i], "--force") {
			t.Errorf("blocker %d = %q, want it to say %q and how to go ahead", i, plan.Blockers[i], want)
		}
	}
	for _, w := range plan.Warnings {
		if strings.Contains(w, "--force") {
			t.Errorf("dry run warns as if forced: %q", w)
		}
	}
	opts.DryRun, opts.Force = false, true
	forced, err := Lockdown(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(plan.Changes, forced.Changes) || len(forced.Blockers) != 0 {
		t.Errorf("the dry run's plan differs from --force's: %d and %d changes, forced blockers %q", len(plan.Changes), len(forced.Changes), forced.Blockers)
	}
}

// Nothing in the way: a dry run has no blockers.
func TestLockdownDryRunWithoutBlockers(t *testing.T) {
	plan, err := Lockdown(loadInput(t, "bookinfo", "default"), Options{DryRun: true})
	if err != nil || len(plan.Blockers) != 0 || len(plan.Changes) == 0 {
		t.Errorf("err %v, blockers %q, %d changes", err, plan.Blockers, len(plan.Changes))
	}
}
