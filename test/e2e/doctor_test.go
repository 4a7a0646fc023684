//go:build e2e

package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// doctorControlPlane is a sound install: istiod on a revision with two replicas under a
// PodDisruptionBudget (its status is written below, as a controller would), and the sidecar
// injector's webhook configuration, with no webhook the API server would call.
const doctorControlPlane = `apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod-stable, namespace: istio-system, labels: {app: istiod, istio.io/rev: stable}}
spec:
  replicas: 2
  selector: {matchLabels: {app: istiod, istio.io/rev: stable}}
  template:
    metadata: {labels: {app: istiod, istio.io/rev: stable}}
    spec: {containers: [{name: discovery, image: "docker.io/istio/pilot:1.28.0"}]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: istiod-stable, namespace: istio-system}
spec: {minAvailable: 1, selector: {matchLabels: {app: istiod}}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector-stable}
`

// doctorClean trips no check: injected, tuned sidecars on istiod's version, a Sidecar
// resource, STRICT mTLS, a StatefulSet on a native sidecar and one that holds its app.
const doctorClean = `apiVersion: v1
kind: Namespace
metadata: {name: doctor-clean, labels: {istio.io/rev: stable}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: doctor-clean}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: doctor-clean}
spec: {mtls: {mode: STRICT}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: doctor-clean}
spec: {egress: [{hosts: ["./*", "istio-system/*"]}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: doctor-clean}
spec: {host: web, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d4b9c-x1
  namespace: doctor-clean
  labels: {app: web, pod-template-hash: 7d4b9c}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9c, uid: 00000000-0000-4000-8000-000000000001}]
spec:
  serviceAccountName: app
  automountServiceAccountToken: false
  containers:
  - {name: web, image: web}
  - {name: istio-proxy, image: "docker.io/istio/proxyv2:1.28.0", resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 256Mi}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: doctor-clean
  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: 00000000-0000-4000-8000-000000000002}]
spec:
  serviceAccountName: app
  automountServiceAccountToken: false
  initContainers:
  - {name: istio-proxy, image: "docker.io/istio/proxyv2:1.28.0", restartPolicy: Always, resources: {requests: {cpu: 50m, memory: 64Mi}}}
  containers: [{name: db, image: db}]
---
apiVersion: v1
kind: Pod
metadata:
  name: cache-0
  namespace: doctor-clean
  annotations: {proxy.istio.io/config: '{"holdApplicationUntilProxyStarts": true}'}
  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: cache, uid: 00000000-0000-4000-8000-000000000003}]
spec:
  serviceAccountName: app
  automountServiceAccountToken: false
  containers:
  - {name: cache, image: cache}
  - {name: istio-proxy, image: "docker.io/istio/proxyv2:1.28.0", resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 128Mi}}}
`

// doctorProblems plants one problem of each namespaced kind.
const doctorProblems = `apiVersion: v1
kind: Namespace
metadata: {name: doctor-problems, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: doctor-problems}
---
# mongodb as a StatefulSet with a classic sidecar, two minor versions behind istiod, on
# Istio's default requests.
apiVersion: v1
kind: Pod
metadata:
  name: mongodb-0
  namespace: doctor-problems
  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: mongodb, uid: 00000000-0000-4000-8000-000000000011}]
spec:
  serviceAccountName: app
  automountServiceAccountToken: false
  containers:
  - {name: mongodb, image: mongo}
  - {name: istio-proxy, image: "docker.io/istio/proxyv2:1.26.3", resources: {requests: {cpu: 100m, memory: 128Mi}}}
---
# Created before the namespace was labelled.
apiVersion: v1
kind: Pod
metadata:
  name: ratings-v1-5f8c6d-r2
  namespace: doctor-problems
  labels: {app: ratings, pod-template-hash: 5f8c6d}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: ratings-v1-5f8c6d, uid: 00000000-0000-4000-8000-000000000012}]
spec: {serviceAccountName: app, automountServiceAccountToken: false, containers: [{name: ratings, image: ratings}]}
---
apiVersion: v1
kind: Pod
metadata: {name: batch, namespace: doctor-problems, labels: {sidecar.istio.io/inject: "false"}}
spec: {serviceAccountName: app, automountServiceAccountToken: false, containers: [{name: batch, image: batch}]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: legacy-db, namespace: doctor-problems}
spec: {selector: {matchLabels: {app: mongodb}}, mtls: {mode: DISABLE}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: mongodb, namespace: doctor-problems}
spec: {host: mongodb, trafficPolicy: {tls: {mode: DISABLE}}}
`

// doctorProblemsFindings is what doctor must report in doctor-problems, each once.
var doctorProblemsFindings = []string{
	"error proxy-version Pod/doctor-problems/mongodb-0",
	"warning injection Pod/doctor-problems/ratings-v1-5f8c6d-r2",
	"warning mtls DestinationRule/doctor-problems/mongodb",
	"warning mtls Namespace/doctor-problems",
	"warning mtls PeerAuthentication/doctor-problems/legacy-db",
	"warning sidecar-resources Namespace/doctor-problems",
	"warning stateful-sidecar StatefulSet/doctor-problems/mongodb",
	"info injection Pod/doctor-problems/batch",
	"info sidecar-scope Namespace/doctor-problems",
}

type doctorReport struct {
	Scope    string `json:"scope"`
	Findings []struct {
		Severity, Check, Why, Fix string
		Object                    struct{ Kind, Namespace, Name string }
	} `json:"findings"`
	Summary map[string]int `json:"summary"`
}

// doctorFindings runs doctor -o json by the given spelling and returns its findings as
// "severity check Kind/ns/name", in its order.
func doctorFindings(t *testing.T, spelling []string, args ...string) ([]string, result) {
	t.Helper()
	r := plugin(t, cluster, append(append(spelling, args...), "-o", "json")...)
	var report doctorReport
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("doctor -o json printed no report: %v\n%s", err, r)
	}
	var out []string
	for _, f := range report.Findings {
		object := f.Object.Kind + "/" + f.Object.Name
		if f.Object.Namespace != "" {
			object = f.Object.Kind + "/" + f.Object.Namespace + "/" + f.Object.Name
		}
		if f.Why == "" || f.Fix == "" {
			t.Errorf("finding %s without a why or a fix", object)
		}
		out = append(out, f.Severity+" "+f.Check+" "+object)
	}
	return out, r
}

func inNamespace(findings []string, ns string) []string {
	var out []string
	for _, f := range findings {
		if strings.Contains(f, "/"+ns+"/") || strings.HasSuffix(f, "Namespace/"+ns) {
			out = append(out, f)
		}
	}
	return out
}

// Doctor on a laid-out cluster: every planted problem once with its object, nothing for the
// clean namespace, exit codes by --fail-on, by both spellings. Not parallel: it changes the
// control plane every namespace's report depends on.
func TestDoctor(t *testing.T) {
	apply(t, doctorControlPlane)
	mustSucceed(t, kubectl(t, "patch", "deployment", "istiod-stable", "-n", "istio-system", "--subresource=status", "--type=merge", "-p", `{"status":{"replicas":2,"readyReplicas":2}}`))
	apply(t, doctorClean)
	apply(t, doctorProblems)
	t.Cleanup(func() {
		kubectl(t, "delete", "namespace", "doctor-clean", "doctor-problems", "--wait=false")
		kubectl(t, "delete", "deployment", "istiod-stable", "istio-ingressgateway", "-n", "istio-system", "--ignore-not-found")
		kubectl(t, "delete", "poddisruptionbudget", "istiod-stable", "-n", "istio-system", "--ignore-not-found")
		kubectl(t, "delete", "mutatingwebhookconfiguration", "istio-sidecar-injector-stable", "--ignore-not-found")
	})

	for _, spelling := range [][]string{{"mesh", "doctor"}, {"mesh-doctor"}} {
		name := strings.Join(spelling, " ")
		findings, r := doctorFindings(t, spelling, "-n", "doctor-clean", "--fail-on", "info")
		if r.code != 0 || len(findings) != 0 {
			t.Errorf("%s -n doctor-clean: want no findings and exit 0:\n%s", name, r)
		}
		table := plugin(t, cluster, append(spelling, "-n", "doctor-clean")...)
		if table.code != 0 || table.stdout != "no findings in namespace doctor-clean\n" {
			t.Errorf("%s -n doctor-clean as a table:\n%s", name, table)
		}

		findings, r = doctorFindings(t, spelling, "-n", "doctor-problems")
		if !slices.Equal(findings, doctorProblemsFindings) {
			t.Errorf("%s -n doctor-problems:\n got %q\nwant %q", name, findings, doctorProblemsFindings)
		}
		if r.code != 1 || !strings.Contains(r.stderr, "error: findings at or above --fail-on error") {
			t.Errorf("%s -n doctor-problems: an error finding must exit 1 and say why:\n%s", name, r)
		}
		assertNoStackTrace(t, r)
	}

	if r := plugin(t, cluster, "mesh", "doctor", "-n", "doctor-no-such-namespace"); r.code != 1 || !strings.Contains(r.stderr, `namespace "doctor-no-such-namespace" not found`) {
		t.Errorf("doctor in a namespace that does not exist: want a clear error:\n%s", r)
	}

	// Every namespace: the same findings for the two, whatever else the cluster holds.
	all, r := doctorFindings(t, []string{"mesh", "doctor"}, "-A")
	if got := inNamespace(all, "doctor-problems"); !slices.Equal(got, doctorProblemsFindings) {
		t.Errorf("-A, doctor-problems:\n got %q\nwant %q", got, doctorProblemsFindings)
	}
	if got := inNamespace(all, "doctor-clean"); len(got) != 0 {
		t.Errorf("-A reports the clean namespace: %q", got)
	}
	if r.code != 1 {
		t.Errorf("-A: exit %d, want 1", r.code)
	}

	// --fail-on: warnings alone pass by default and fail with --fail-on warning.
	// Without mongodb-0 (its proxy version the one error), warnings alone remain.
	mustSucceed(t, kubectl(t, "delete", "pod", "mongodb-0", "-n", "doctor-problems"))
	if r := plugin(t, cluster, "mesh-doctor", "-n", "doctor-problems"); r.code != 0 {
		t.Errorf("warnings only, default --fail-on error: want exit 0:\n%s", r)
	}
	if r := plugin(t, cluster, "mesh", "doctor", "-n", "doctor-problems", "--fail-on", "warning"); r.code != 1 || !strings.Contains(r.stderr, "--fail-on warning") {
		t.Errorf("--fail-on warning with warnings: want exit 1:\n%s", r)
	}

	t.Run("revision-based upgrade", doctorRevisionUpgrade)
	t.Run("control plane", func(t *testing.T) { doctorControlPlaneProblems(t) })
}

// The control plane's problems: an ingress gateway with one replica and no budget, istiod
// on one replica, none ready, the injector gone. Install problems show whatever the scope.
func doctorControlPlaneProblems(t *testing.T) {
	apply(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system, labels: {istio: ingressgateway}}
spec:
  replicas: 1
  selector: {matchLabels: {istio: ingressgateway}}
  template:
    metadata: {labels: {istio: ingressgateway, app: istio-ingressgateway}}
    spec: {containers: [{name: istio-proxy, image: "docker.io/istio/proxyv2:1.28.0"}]}
`)
	findings, r := doctorFindings(t, []string{"mesh", "doctor"}, "-n", testcluster.IngressNamespace)
	want := []string{
		"warning ops-planning Deployment/istio-system/istio-ingressgateway",
		"warning ops-planning Deployment/istio-system/istio-ingressgateway",
	}
	if got := onlyChecks(findings, "ops-planning", "revision", "install"); !slices.Equal(got, want) {
		t.Errorf("gateway with one replica and no budget:\n got %q\nwant %q\n%s", got, want, r)
	}

	mustSucceed(t, kubectl(t, "scale", "deployment", "istiod-stable", "-n", "istio-system", "--replicas=1"))
	mustSucceed(t, kubectl(t, "patch", "deployment", "istiod-stable", "-n", "istio-system", "--subresource=status", "--type=merge", "-p", `{"status":{"replicas":1,"readyReplicas":0}}`))
	mustSucceed(t, kubectl(t, "delete", "mutatingwebhookconfiguration", "istio-sidecar-injector-stable"))
	mustSucceed(t, kubectl(t, "label", "deployment", "istiod-stable", "-n", "istio-system", "istio.io/rev-"))
	mustSucceed(t, kubectl(t, "label", "namespace", "doctor-clean", "istio.io/rev-", "istio-injection=enabled"))

	findings, r = doctorFindings(t, []string{"mesh-doctor"}, "-n", "doctor-clean")
	want = []string{"error install Deployment/istio-system/istiod-stable", "error install MutatingWebhookConfiguration/istio-sidecar-injector"}
	if !slices.Equal(findings, want) || r.code != 1 {
		t.Errorf("-n doctor-clean with a broken install:\n got %q\nwant %q\n%s", findings, want, r)
	}
	findings, _ = doctorFindings(t, []string{"mesh", "doctor"}, "-n", "istio-system")
	want = []string{
		"error install Deployment/istio-system/istiod-stable",
		"error install MutatingWebhookConfiguration/istio-sidecar-injector",
		"warning ops-planning Deployment/istio-system/istio-ingressgateway",
		"warning ops-planning Deployment/istio-system/istio-ingressgateway",
		"warning ops-planning Deployment/istio-system/istiod-stable",
		"info revision Deployment/istio-system/istiod-stable",
	}
	if got := onlyChecks(findings, "ops-planning", "revision", "install"); !slices.Equal(got, want) {
		t.Errorf("-n istio-system with istiod on one replica, no revision:\n got %q\nwant %q", got, want)
	}
}

func onlyChecks(findings []string, checks ...string) []string {
	var out []string
	for _, f := range findings {
		if slices.Contains(checks, strings.Fields(f)[1]) {
			out = append(out, f)
		}
	}
	return out
}
