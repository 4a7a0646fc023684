//go:build e2e

package e2e

import (
	"slices"
	"testing"
)

// doctorUpgrade is a revision-based upgrade half done, as doctor's own revision check
// recommends: istiod-canary (1.29) beside istiod-stable (1.28), the tag next on canary, and
// doctor-upgrade moved to canary with some pods not restarted since.
const doctorUpgrade = `apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod-canary, namespace: istio-system, labels: {app: istiod, istio.io/rev: canary}}
spec:
  replicas: 2
  selector: {matchLabels: {app: istiod, istio.io/rev: canary}}
  template:
    metadata: {labels: {app: istiod, istio.io/rev: canary}}
    spec: {containers: [{name: discovery, image: "docker.io/istio/pilot:1.29.0"}]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-revision-tag-next, labels: {istio.io/tag: next, istio.io/rev: canary}}
---
apiVersion: v1
kind: Namespace
metadata: {name: doctor-upgrade, labels: {istio.io/rev: canary}}
---
apiVersion: v1
kind: Namespace
metadata: {name: doctor-tagged, labels: {istio.io/rev: next}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: doctor-upgrade}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: doctor-tagged}
---
# Injected by stable before the namespace moved: stable's proxy, judged against stable.
apiVersion: v1
kind: Pod
metadata: {name: moved, namespace: doctor-upgrade, labels: {istio.io/rev: stable}}
spec: {serviceAccountName: app, automountServiceAccountToken: false, containers: [{name: app, image: app}, {name: istio-proxy, image: "docker.io/istio/proxyv2:1.28.0"}]}
---
# Injected by canary.
apiVersion: v1
kind: Pod
metadata: {name: fresh, namespace: doctor-upgrade, labels: {istio.io/rev: canary}}
spec: {serviceAccountName: app, automountServiceAccountToken: false, containers: [{name: app, image: app}, {name: istio-proxy, image: "docker.io/istio/proxyv2:1.29.0"}]}
---
# On the namespace's revision, a minor version behind it.
apiVersion: v1
kind: Pod
metadata: {name: stale, namespace: doctor-upgrade}
spec: {serviceAccountName: app, automountServiceAccountToken: false, containers: [{name: app, image: app}, {name: istio-proxy, image: "docker.io/istio/proxyv2:1.28.0"}]}
---
# Stable's pod with canary's proxy: ahead of its control plane.
apiVersion: v1
kind: Pod
metadata: {name: ahead, namespace: doctor-upgrade, labels: {istio.io/rev: stable}}
spec: {serviceAccountName: app, automountServiceAccountToken: false, containers: [{name: app, image: app}, {name: istio-proxy, image: "docker.io/istio/proxyv2:1.29.0"}]}
---
# From a revision no istiod serves any more.
apiVersion: v1
kind: Pod
metadata: {name: orphan, namespace: doctor-upgrade, labels: {istio.io/rev: old}}
spec: {serviceAccountName: app, automountServiceAccountToken: false, containers: [{name: app, image: app}, {name: istio-proxy, image: "docker.io/istio/proxyv2:1.27.0"}]}
---
# Through the tag next: canary's.
apiVersion: v1
kind: Pod
metadata: {name: tagged, namespace: doctor-tagged}
spec: {serviceAccountName: app, automountServiceAccountToken: false, containers: [{name: app, image: app}, {name: istio-proxy, image: "docker.io/istio/proxyv2:1.29.0"}]}
`

// During a revision-based upgrade each proxy is judged against the istiod of its own
// revision (pod label, else namespace label, tags resolved), ahead of it as an error.
func doctorRevisionUpgrade(t *testing.T) {
	t.Cleanup(func() {
		// Without a namespace controller a deleted namespace stays, Terminating: its label
		// would still say a revision is in use.
		kubectl(t, "label", "namespace", "doctor-upgrade", "doctor-tagged", "istio.io/rev-")
		kubectl(t, "delete", "namespace", "doctor-upgrade", "doctor-tagged", "--wait=false", "--ignore-not-found")
		kubectl(t, "delete", "deployment", "istiod-canary", "-n", "istio-system", "--ignore-not-found")
		kubectl(t, "delete", "mutatingwebhookconfiguration", "istio-revision-tag-next", "--ignore-not-found")
	})
	apply(t, doctorUpgrade)
	want := []string{
		"error proxy-version Pod/doctor-upgrade/ahead",
		"error proxy-version Pod/doctor-upgrade/orphan",
		"warning proxy-version Pod/doctor-upgrade/stale",
	}
	for _, spelling := range [][]string{{"mesh", "doctor"}, {"mesh-doctor"}} {
		findings, r := doctorFindings(t, spelling, "-n", "doctor-upgrade")
		if got := onlyChecks(findings, "proxy-version"); !slices.Equal(got, want) || r.code != 1 {
			t.Errorf("%v -n doctor-upgrade:\n got %q\nwant %q\n%s", spelling, got, want, r)
		}
		findings, r = doctorFindings(t, spelling, "-n", "doctor-tagged")
		if got := onlyChecks(findings, "proxy-version"); len(got) != 0 {
			t.Errorf("%v -n doctor-tagged: a proxy on its tag's revision is flagged: %q\n%s", spelling, got, r)
		}
	}
}
