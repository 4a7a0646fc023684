package whatif

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/lockdown"
)

// lockdownInput is the fixture's namespace as lockdown reads it.
func lockdownInput(c Cluster, p Policies, namespace string) lockdown.Input {
	in := lockdown.Input{Namespace: namespace, NamespaceLabels: c.NamespaceLabels[namespace], Mesh: c.Mesh}
	in.Pods = slices.DeleteFunc(slices.Clone(c.Pods), func(pod corev1.Pod) bool { return pod.Namespace != namespace })
	in.Services = slices.DeleteFunc(slices.Clone(c.Services), func(svc corev1.Service) bool { return svc.Namespace != namespace })
	for _, ap := range p.AuthorizationPolicies {
		if ap.GetNamespace() == namespace {
			in.AuthorizationPolicies = append(in.AuthorizationPolicies, ap)
		}
	}
	for _, pa := range p.PeerAuthentications {
		if pa.GetNamespace() == namespace {
			in.PeerAuthentications = append(in.PeerAuthentications, pa)
		}
	}
	return in
}

// asLockdownSees is an observation as lockdown's telemetry gives it.
func asLockdownSees(o Observation) lockdown.Observation {
	return lockdown.Observation{DestinationApp: o.Destination.App, DestinationVersion: o.Destination.Version,
		SourcePrincipal: o.Source.Principal, SourceNamespace: o.Source.Namespace, SourceWorkload: o.Source.Workload,
		MTLS: o.MTLS, Protocol: o.Protocol, Rate: o.Requests}
}

// What-if on lockdown's own plan lists exactly the edges lockdown says it cuts: lockdown is
// planned from part of the traffic (a shorter window: web's calls to worker unseen), and every
// edge accepted today that lockdown's own verdicts deny afterwards is listed as newly denied,
// and no other.
func TestReplayOfLockdownsPlanListsWhatLockdownCuts(t *testing.T) {
	c, before := loadCluster(t, "cluster")
	in := lockdownInput(c, before, "shop")
	var seen, accepted []lockdown.Observation
	var intoShop []Observation
	for _, o := range observed {
		if o.Destination.Namespace != "shop" || o.Destination.Workload == "gone-v1" {
			continue
		}
		intoShop = append(intoShop, o)
		if o.Refused == 0 {
			accepted = append(accepted, asLockdownSees(o))
			if o.Destination.Workload != "worker-v1" {
				seen = append(seen, asLockdownSees(o))
			}
		}
	}
	plan, err := lockdown.Lockdown(in, lockdown.Options{Observed: seen, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	after, steps, err := before.With(EditOf(plan.Changes), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != len(plan.Changes) {
		t.Errorf("%d steps for %d changes", len(steps), len(plan.Changes))
	}
	var cut []string
	for _, v := range plan.Verdicts(in, accepted) {
		if !v.Allowed {
			cut = append(cut, v.SourceNamespace+"/"+v.SourceWorkload+" -> shop/"+v.Workload)
		}
	}
	var listed []string
	for _, e := range Replay(c, before, after, intoShop).Edges {
		if e.Change != NewlyDenied {
			t.Errorf("lockdown opens an edge: %s", short(e))
		}
		listed = append(listed, e.Source.String()+" -> "+e.Destination.String())
	}
	if want := []string{"shop/web-v1 -> shop/worker-v1"}; !slices.Equal(cut, want) || !slices.Equal(listed, want) {
		t.Errorf("lockdown cuts %q, what-if lists %q; want both %q", cut, listed, want)
	}
}
