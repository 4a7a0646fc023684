package doctor

import (
	"slices"
	"strings"
	"testing"
)

type checkCase struct {
	name string
	docs []string
	want []string // "severity Kind/ns/name"
}

func runChecks(t *testing.T, check string, cases []checkCase, adjust func(*Input)) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			in := inputOf(t, tt.docs...)
			if adjust != nil {
				adjust(&in)
			}
			got := findingsOf(in, check)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s findings:\n got %q\nwant %q", check, got, tt.want)
			}
		})
	}
}

func TestInstall(t *testing.T) {
	runChecks(t, CheckInstall, []checkCase{
		{"healthy", []string{healthyControlPlane}, nil},
		{"no istiod", []string{`
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector}`}, []string{"error Deployment/istio-system/istiod"}},
		{"istiod not ready", []string{strings.Replace(healthyControlPlane, "readyReplicas: 2", "readyReplicas: 0", 1)},
			[]string{"error Deployment/istio-system/istiod-1-24"}},
		{"istiod without status", []string{strings.Replace(healthyControlPlane, "status: {readyReplicas: 2}", "", 1)},
			[]string{"error Deployment/istio-system/istiod-1-24"}},
		{"a revision tag's injector", []string{strings.Replace(healthyControlPlane, "istio-sidecar-injector-1-24", "istio-revision-tag-default", 1)}, nil},
		{"no injector", []string{strings.Replace(healthyControlPlane, "istio-sidecar-injector-1-24", "some-other-webhook", 1)},
			[]string{"error MutatingWebhookConfiguration/istio-sidecar-injector"}},
	}, nil)

	t.Run("CRDs not served", func(t *testing.T) {
		got := Check(Input{})
		if len(got) != 1 || got[0].Check != CheckInstall || got[0].Severity != Error {
			t.Fatalf("Check without Istio = %+v, want the one install error", got)
		}
	})
	t.Run("what may not be read is not reported missing", func(t *testing.T) {
		in := Input{IstioServed: true, Unknown: map[string]bool{ControlPlaneReads: true, WebhookReads: true}}
		if got := Check(in); len(got) != 0 {
			t.Fatalf("Check with unreadable control plane = %+v, want nothing", got)
		}
	})
}

func TestProxyVersion(t *testing.T) {
	pod := func(image string) string {
		return strings.Replace(sidecarPod("shop", "web", ""), "proxyv2:1.24.2", image, 1)
	}
	runChecks(t, CheckVersion, []checkCase{
		{"same version", []string{healthyControlPlane, pod("proxyv2:1.24.2")}, nil},
		{"same minor, other patch", []string{healthyControlPlane, pod("proxyv2:1.24.0-distroless")}, nil},
		{"one minor behind", []string{healthyControlPlane, pod("proxyv2:1.23.4")}, []string{"warning Pod/shop/web"}},
		{"two minors behind", []string{healthyControlPlane, pod("proxyv2:1.22.0")}, []string{"error Pod/shop/web"}},
		{"ahead", []string{healthyControlPlane, pod("proxyv2:1.26.0")}, []string{"error Pod/shop/web"}},
		{"one minor ahead", []string{healthyControlPlane, pod("proxyv2:1.25.0")}, []string{"error Pod/shop/web"}},
		{"other major", []string{healthyControlPlane, pod("proxyv2:2.24.0")}, []string{"error Pod/shop/web"}},
		{"untagged proxy", []string{healthyControlPlane, pod("proxyv2@sha256:abc")}, nil},
		{"tag and digest", []string{healthyControlPlane, pod("proxyv2:1.22.1@sha256:abc")}, []string{"error Pod/shop/web"}},
		{"registry with a port", []string{healthyControlPlane, strings.Replace(pod("x"), "docker.io/istio/x", "registry:5000/istio/proxyv2", 1)}, nil},
		{"no sidecar", []string{healthyControlPlane, plainPod("shop", "web", "")}, nil},
	}, nil)
}

func TestOpsPlanning(t *testing.T) {
	gateway := func(replicas string) string {
		return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-ingress, labels: {istio: ingressgateway}}
spec:
  replicas: ` + replicas + `
  selector: {matchLabels: {istio: ingressgateway}}
  template: {metadata: {labels: {istio: ingressgateway, app: istio-ingressgateway}}, spec: {containers: [{name: istio-proxy, image: proxyv2:1.24.2}]}}
status: {readyReplicas: 1}`
	}
	gatewayBudget := func(selector string) string {
		return "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: gw, namespace: istio-ingress}\nspec: {maxUnavailable: 1, selector: " + selector + "}"
	}
	runChecks(t, CheckOps, []checkCase{
		{"healthy", []string{healthyControlPlane, gateway("3"), gatewayBudget("{matchLabels: {istio: ingressgateway}}")}, nil},
		{"single istiod", []string{strings.Replace(healthyControlPlane, "replicas: 2", "replicas: 1", 1)},
			[]string{"warning Deployment/istio-system/istiod-1-24"}},
		{"replicas defaulted", []string{strings.Replace(healthyControlPlane, "replicas: 2", "", 1)},
			[]string{"warning Deployment/istio-system/istiod-1-24"}},
		{"istiod without budget", []string{strings.Replace(healthyControlPlane, "matchLabels: {app: istiod}}", "matchLabels: {app: other}}", 1)},
			[]string{"warning Deployment/istio-system/istiod-1-24"}},
		{"gateway single, no budget", []string{healthyControlPlane, gateway("1")},
			[]string{"warning Deployment/istio-ingress/istio-ingressgateway", "warning Deployment/istio-ingress/istio-ingressgateway"}},
		{"a Gateway API gateway's Deployment", []string{healthyControlPlane, strings.Replace(strings.Replace(gateway("1"), "labels: {istio: ingressgateway}}", "labels: {gateway.istio.io/managed: istio.io-gateway-controller}}", 1), "name: istio-ingressgateway, namespace: istio-ingress", "name: web-gateway-istio, namespace: istio-ingress", 1)},
			[]string{"warning Deployment/istio-ingress/web-gateway-istio", "warning Deployment/istio-ingress/web-gateway-istio"}},
		{"budget by expression", []string{healthyControlPlane, gateway("2"), gatewayBudget("{matchExpressions: [{key: app, operator: In, values: [istio-ingressgateway]}]}")}, nil},
		{"budget selecting everything", []string{healthyControlPlane, gateway("2"), gatewayBudget("{}")}, nil},
		{"budget in another namespace", []string{healthyControlPlane, gateway("2"),
			strings.Replace(gatewayBudget("{matchLabels: {istio: ingressgateway}}"), "namespace: istio-ingress", "namespace: default", 1)},
			[]string{"warning Deployment/istio-ingress/istio-ingressgateway"}},
	}, nil)

	t.Run("outside the scope", func(t *testing.T) {
		in := inputOf(t, strings.Replace(healthyControlPlane, "replicas: 2", "replicas: 1", 1))
		in.Scope = "shop"
		if got := findingsOf(in, CheckOps); got != nil {
			t.Errorf("ops-planning in -n shop = %q, want nothing about istio-system", got)
		}
	})
	t.Run("budgets unreadable", func(t *testing.T) {
		in := inputOf(t, strings.Replace(healthyControlPlane, "matchLabels: {app: istiod}}", "matchLabels: {app: other}}", 1))
		in.Unknown = map[string]bool{BudgetReads: true}
		if got := findingsOf(in, CheckOps); got != nil {
			t.Errorf("ops-planning without budgets = %q, want no guess", got)
		}
	})
}

func TestRevision(t *testing.T) {
	unrevisioned := strings.ReplaceAll(healthyControlPlane, ", istio.io/rev: 1-24", "")
	runChecks(t, CheckRevision, []checkCase{
		{"istiod on a revision", []string{healthyControlPlane}, nil},
		{"no revision", []string{unrevisioned}, []string{"info Deployment/istio-system/istiod-1-24"}},
		{"the default revision is none", []string{strings.ReplaceAll(healthyControlPlane, "istio.io/rev: 1-24", "istio.io/rev: default")},
			[]string{"info Deployment/istio-system/istiod-1-24"}},
		{"a namespace on a revision", []string{unrevisioned, namespace("shop", "istio.io/rev: canary")}, nil},
		{"a revision tag", []string{unrevisioned, "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: istio-revision-tag-prod}"}, nil},
	}, nil)
}

func TestStatefulSidecar(t *testing.T) {
	owned := ", ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: mongodb, uid: u1}]"
	native := `
apiVersion: v1
kind: Pod
metadata: {name: mongodb-0, namespace: shop` + owned + `}
spec:
  initContainers: [{name: istio-proxy, image: proxyv2:1.24.2, restartPolicy: Always}]
  containers: [{name: mongodb, image: mongo}]`
	set := func(annotations string) string {
		return `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: mongodb, namespace: shop}
spec:
  serviceName: mongodb
  selector: {matchLabels: {app: mongodb}}
  template:
    metadata: {labels: {app: mongodb}, annotations: {` + annotations + `}}
    spec: {containers: [{name: mongodb, image: mongo}]}`
	}
	injected := namespace("shop", "istio-injection: enabled")
	runChecks(t, CheckStateful, []checkCase{
		{"two pods, one finding", []string{healthyControlPlane, sidecarPod("shop", "mongodb-0", owned), sidecarPod("shop", "mongodb-1", owned)},
			[]string{"warning StatefulSet/shop/mongodb"}},
		{"held by annotation (JSON)", []string{sidecarPod("shop", "mongodb-0", owned+`, annotations: {proxy.istio.io/config: '{"holdApplicationUntilProxyStarts": true}'}`)}, nil},
		{"held by annotation (YAML)", []string{sidecarPod("shop", "mongodb-0", owned+", annotations: {proxy.istio.io/config: 'holdApplicationUntilProxyStarts: true'}")}, nil},
		{"native sidecar", []string{native}, nil},
		{"no sidecar", []string{plainPod("shop", "mongodb-0", owned)}, nil},
		{"a Deployment's pod", []string{sidecarPod("shop", "web-1", ", ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d, uid: u2}]")}, nil},
		{"no pods yet, injected namespace", []string{injected, set("")}, []string{"warning StatefulSet/shop/mongodb"}},
		{"no pods yet, held", []string{injected, set(`proxy.istio.io/config: "holdApplicationUntilProxyStarts: true"`)}, nil},
		{"no pods yet, native by annotation", []string{injected, set(`sidecar.istio.io/nativeSidecar: "true"`)}, nil},
		{"no pods yet, opted out", []string{injected, set(`sidecar.istio.io/inject: "false"`)}, nil},
		{"no pods yet, namespace not injected", []string{namespace("shop", ""), set("")}, nil},
		{"no pods yet, native by istiod", []string{injected, set(""),
			strings.Replace(healthyControlPlane, "image: docker.io/istio/pilot:1.24.2", "image: docker.io/istio/pilot:1.24.2, env: [{name: ENABLE_NATIVE_SIDECARS, value: \"true\"}]", 1)}, nil},
		{"pods decide over the template", []string{injected, set(""), native}, nil},
	}, nil)

	t.Run("held mesh-wide", func(t *testing.T) {
		in := inputOf(t, sidecarPod("shop", "mongodb-0", owned))
		in.Mesh.HoldApplicationUntilProxyStarts = true
		if got := findingsOf(in, CheckStateful); got != nil {
			t.Errorf("with the mesh's defaultConfig holding apps: %q", got)
		}
		in.Pods[0].Annotations = map[string]string{"proxy.istio.io/config": "holdApplicationUntilProxyStarts: false"}
		if got := findingsOf(in, CheckStateful); len(got) != 1 {
			t.Errorf("a pod that turns the mesh's hold off: %q, want one finding", got)
		}
	})
}

func TestSidecarResources(t *testing.T) {
	untuned := func(name string) string {
		return strings.Replace(sidecarPod("shop", name, ""), "resources: {requests: {cpu: 200m, memory: 256Mi}, limits: {cpu: \"1\", memory: 512Mi}}",
			"resources: {requests: {cpu: 100m, memory: 128Mi}}", 1)
	}
	runChecks(t, CheckResources, []checkCase{
		{"tuned", []string{sidecarPod("shop", "web", "")}, nil},
		{"untuned, counted once per namespace", []string{untuned("web"), untuned("api")}, []string{"warning Namespace/shop"}},
		{"defaults with limits", []string{strings.Replace(untuned("web"), "memory: 128Mi}", "memory: 128Mi}, limits: {memory: 1Gi}", 1)}, nil},
		{"a gateway is not a sidecar", []string{`
apiVersion: v1
kind: Pod
metadata: {name: gw, namespace: shop}
spec: {containers: [{name: istio-proxy, image: proxyv2:1.24.2, resources: {requests: {cpu: 100m, memory: 128Mi}}}]}`}, nil},
	}, nil)

	t.Run("the reservation is summed", func(t *testing.T) {
		in := inputOf(t, untuned("a"), untuned("b"), untuned("c"))
		for _, f := range Check(in) {
			if f.Check == CheckResources && !strings.Contains(f.Why, "3 sidecars") || f.Check == CheckResources && !strings.Contains(f.Why, "300m CPU and 384Mi") {
				t.Errorf("why = %q, want 3 sidecars reserving 300m CPU and 384Mi", f.Why)
			}
		}
	})
}

func TestSidecarScope(t *testing.T) {
	runChecks(t, CheckSidecar, []checkCase{
		{"scoped", []string{sidecarPod("shop", "web", ""), scopedSidecar("shop")}, nil},
		{"unscoped", []string{sidecarPod("shop", "web", "")}, []string{"info Namespace/shop"}},
		{"scoped mesh-wide", []string{sidecarPod("shop", "web", ""), scopedSidecar("istio-system")}, nil},
		{"no sidecars", []string{plainPod("shop", "web", "")}, nil},
		{"another namespace's Sidecar", []string{sidecarPod("shop", "web", ""), scopedSidecar("pay")}, []string{"info Namespace/shop"}},
		{"a Sidecar for this workload", []string{sidecarPod("shop", "web", ", labels: {app: web}"),
			strings.Replace(scopedSidecar("shop"), "spec: {", "spec: {workloadSelector: {labels: {app: web}}, ", 1)}, nil},
		{"a Sidecar for another workload", []string{sidecarPod("shop", "web", ", labels: {app: web}"),
			strings.Replace(scopedSidecar("shop"), "spec: {", "spec: {workloadSelector: {labels: {app: db}}, ", 1)}, []string{"info Namespace/shop"}},
		{"a Sidecar without egress", []string{sidecarPod("shop", "web", ""),
			"apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: shop}\nspec: {outboundTrafficPolicy: {mode: REGISTRY_ONLY}}"}, []string{"info Namespace/shop"}},
		{"a selecting Sidecar in the root namespace is not mesh-wide", []string{sidecarPod("shop", "web", ", labels: {app: web}"),
			strings.Replace(scopedSidecar("istio-system"), "spec: {", "spec: {workloadSelector: {labels: {app: web}}, ", 1)}, []string{"info Namespace/shop"}},
	}, nil)
}

func TestInjection(t *testing.T) {
	enabled := namespace("shop", "istio-injection: enabled")
	runChecks(t, CheckInjection, []checkCase{
		{"injected", []string{enabled, sidecarPod("shop", "web", "")}, nil},
		{"created before the label", []string{enabled, plainPod("shop", "web", "")}, []string{"warning Pod/shop/web"}},
		{"revision label", []string{namespace("shop", "istio.io/rev: 1-24"), plainPod("shop", "web", "")}, []string{"warning Pod/shop/web"}},
		{"opted out by label", []string{enabled, plainPod("shop", "batch", ", labels: {sidecar.istio.io/inject: \"false\"}")}, []string{"info Pod/shop/batch"}},
		{"opted out by annotation", []string{enabled, plainPod("shop", "batch", ", annotations: {sidecar.istio.io/inject: \"false\"}")}, []string{"info Pod/shop/batch"}},
		{"namespace not labelled", []string{namespace("shop", ""), plainPod("shop", "web", "")}, nil},
		{"injection disabled", []string{namespace("shop", "istio-injection: disabled, istio.io/rev: 1-24"), plainPod("shop", "web", "")}, nil},
		{"ambient namespace", []string{namespace("shop", "istio.io/dataplane-mode: ambient"), plainPod("shop", "web", "")}, nil},
		{"finished pod", []string{enabled, plainPod("shop", "job", "") + "status: {phase: Succeeded}\n"}, nil},
		{"host network", []string{enabled, strings.Replace(plainPod("shop", "agent", ""), "spec: {", "spec: {hostNetwork: true, ", 1)}, nil},
		{"pod label asks for a sidecar", []string{namespace("shop", ""), plainPod("shop", "web", ", labels: {sidecar.istio.io/inject: \"true\"}")}, []string{"warning Pod/shop/web"}},
		{"pod revision label", []string{namespace("shop", ""), plainPod("shop", "web", ", labels: {istio.io/rev: canary}")}, []string{"warning Pod/shop/web"}},
		{"pod label under a disabled namespace", []string{namespace("shop", "istio-injection: disabled"), plainPod("shop", "web", ", labels: {sidecar.istio.io/inject: \"true\"}")}, nil},
		{"opted out where nothing asks", []string{namespace("shop", ""), plainPod("shop", "batch", ", labels: {sidecar.istio.io/inject: \"false\"}")}, nil},
		{"native sidecar", []string{enabled, `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  initContainers: [{name: istio-proxy, image: proxyv2:1.24.2, restartPolicy: Always}]
  containers: [{name: app, image: app}]`}, nil},
	}, nil)
}

func TestMTLS(t *testing.T) {
	pa := func(namespace, name, mode string) string {
		return "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: " + name + ", namespace: " + namespace + "}\nspec: {mtls: {mode: " + mode + "}}"
	}
	dr := func(spec string) string {
		return "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: ratings, namespace: shop}\nspec: {host: ratings, " + spec + "}"
	}
	shop, pay := sidecarPod("shop", "web", ""), sidecarPod("pay", "api", "")
	runChecks(t, CheckMTLS, []checkCase{
		{"all permissive", []string{shop, pay}, nil},
		{"mesh-wide strict", []string{shop, pay, pa("istio-system", "default", "STRICT")}, nil},
		{"one strict, one left permissive", []string{shop, pay, pa("pay", "default", "STRICT")}, []string{"warning Namespace/shop"}},
		{"explicitly permissive under a strict mesh", []string{shop, pay, pa("istio-system", "default", "STRICT"), pa("shop", "default", "PERMISSIVE")},
			[]string{"warning Namespace/shop"}},
		{"labelled namespace without pods", []string{shop, namespace("pay", "istio-injection: enabled"), pa("pay", "default", "STRICT")},
			[]string{"warning Namespace/shop"}},
		{"gateways are not meshed namespaces", []string{pay, pa("pay", "default", "STRICT"),
			"apiVersion: v1\nkind: Pod\nmetadata: {name: gw, namespace: istio-ingress}\nspec: {containers: [{name: istio-proxy, image: proxyv2:1.24.2}]}"}, nil},
		{"DISABLE", []string{shop, pa("shop", "legacy", "DISABLE")}, []string{"warning PeerAuthentication/shop/legacy"}},
		{"port-level DISABLE", []string{shop,
			"apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: db, namespace: shop}\nspec: {selector: {matchLabels: {app: db}}, portLevelMtls: {\"5432\": {mode: DISABLE}}}"},
			[]string{"warning PeerAuthentication/shop/db"}},
		{"DestinationRule DISABLE", []string{shop, dr("trafficPolicy: {tls: {mode: DISABLE}}")}, []string{"warning DestinationRule/shop/ratings"}},
		{"DestinationRule subset DISABLE", []string{shop, dr("subsets: [{name: v1, labels: {version: v1}, trafficPolicy: {tls: {mode: DISABLE}}}]")},
			[]string{"warning DestinationRule/shop/ratings"}},
		{"DestinationRule port DISABLE", []string{shop, dr("trafficPolicy: {portLevelSettings: [{port: {number: 9080}, tls: {mode: DISABLE}}]}")},
			[]string{"warning DestinationRule/shop/ratings"}},
		{"DestinationRule ISTIO_MUTUAL", []string{shop, dr("trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}")}, nil},
		{"DestinationRule tls without a mode", []string{shop, dr("trafficPolicy: {tls: {sni: ratings.internal}}")}, []string{"warning DestinationRule/shop/ratings"}},
		{"DestinationRule without tls", []string{shop, dr("trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}, subsets: [{name: v1, labels: {version: v1}}]")}, nil},
	}, nil)

	t.Run("scope", func(t *testing.T) {
		in := inputOf(t, shop, pay, pa("pay", "default", "STRICT"), dr("trafficPolicy: {tls: {mode: DISABLE}}"))
		in.Scope = "pay"
		if got := findingsOf(in, CheckMTLS); got != nil {
			t.Errorf("mtls in -n pay = %q, want nothing about shop", got)
		}
	})
}

func TestRestart(t *testing.T) {
	for _, tt := range []struct{ pod, want string }{
		{plainPod("shop", "web-5d9f-abcde", ", labels: {pod-template-hash: 5d9f}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9f, uid: u}]"),
			"kubectl -n shop rollout restart deployment/web"},
		{plainPod("shop", "db-0", ", ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: u}]"), "kubectl -n shop rollout restart statefulset/db"},
		{plainPod("shop", "agent-x", ", ownerReferences: [{apiVersion: apps/v1, kind: DaemonSet, name: agent, uid: u}]"), "kubectl -n shop rollout restart daemonset/agent"},
		{plainPod("shop", "rs-abc", ", ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: rs, uid: u}]"), "kubectl -n shop delete pod rs-abc, and create it again from its manifest"},
		{plainPod("shop", "bare", ""), "kubectl -n shop delete pod bare, and create it again from its manifest"},
	} {
		pod := inputOf(t, tt.pod).Pods[0]
		if got := restart(&pod); got != tt.want {
			t.Errorf("restart(%s) = %q, want %q", pod.Name, got, tt.want)
		}
	}
}
