package cmd

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// lockdown --dry-run, the README's first lockdown example, prints the plan even where a real
// run stops, then what stops it, and exits 1 for it; it writes nothing. A real run prints no plan.
func TestLockdownDryRunPrintsThePlanAndItsBlockers(t *testing.T) {
	blocked := func() *fakeCluster {
		f := newLockdownCluster(1, 1)
		legacy := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "legacy-0", Namespace: "shop", Labels: map[string]string{"app": "legacy"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "legacy"}}},
		}
		if err := f.kube.Tracker().Add(legacy); err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := blocked()
	stdout, stderr, code := run(f, "lockdown", "shop", "--dry-run")
	if code != 1 || !strings.Contains(stdout, "peerauthentication/default created (dry run)") || !strings.Contains(stdout, "namespace shop: mTLS STRICT, deny by default") {
		t.Errorf("exit %d, the plan:\n%s", code, stdout)
	}
	if want := "error: without --force, lockdown shop would stop before writing anything (the dry run planned past it):\n1 pods in namespace shop have no istio-proxy sidecar"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want it to contain %q", stderr, want)
	}
	for _, a := range append(append(f.kube.Actions(), f.istio.Actions()...), f.dynamic.Actions()...) {
		if verb := a.GetVerb(); verb != "get" && verb != "list" {
			t.Errorf("a dry run made a %s request: %v", verb, a)
		}
	}
	stdout, stderr, code = run(blocked(), "lockdown", "shop", "-o", "yaml", "--dry-run")
	if code != 1 || !strings.Contains(stdout, "kind: PeerAuthentication") || !strings.Contains(stderr, "would stop before writing anything") {
		t.Errorf("-o yaml --dry-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = run(blocked(), "lockdown", "shop")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "\nerror: 1 pods in namespace shop have no istio-proxy sidecar") {
		t.Errorf("a real run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
