package doctor

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// install asks verify-install's questions: are Istio's APIs served, is istiod there and
// ready, is the sidecar injector's webhook there. Each breaks every namespace, so each is
// reported whatever the scope.
func install(in Input) []Finding {
	if !in.IstioServed {
		return []Finding{{Severity: Error, Check: CheckInstall, Object: Object{Kind: "CustomResourceDefinition", Name: "peerauthentications.security.istio.io"},
			Why: "Istio's CRDs are not served: no mesh configuration can exist", Fix: "istioctl install, then istioctl verify-install"}}
	}
	var findings []Finding
	istiods := controlPlane(in, isIstiod)
	if len(istiods) == 0 && !in.Unknown[ControlPlaneReads] {
		findings = append(findings, Finding{Severity: Error, Check: CheckInstall, Object: Object{Kind: "Deployment", Namespace: istio.InstallNamespace, Name: "istiod"},
			Why: "no istiod Deployment (label app=istiod): nothing configures the proxies or issues their certificates", Fix: "istioctl install, then istioctl verify-install"})
	}
	for _, d := range istiods {
		want := replicas(d)
		ready, _, _ := unstructured.NestedInt64(d.Object, "status", "readyReplicas")
		if ready < 1 {
			findings = append(findings, Finding{Severity: Error, Check: CheckInstall, Object: objectOf(d),
				Why: fmt.Sprintf("istiod has %d of %d replicas ready: proxies get no configuration and no certificates", ready, want),
				Fix: fmt.Sprintf("kubectl -n %s describe deployment %s", d.GetNamespace(), d.GetName())})
		}
	}
	if !hasInjector(in.Webhooks) && !in.Unknown[WebhookReads] {
		findings = append(findings, Finding{Severity: Error, Check: CheckInstall, Object: Object{Kind: "MutatingWebhookConfiguration", Name: "istio-sidecar-injector"},
			Why: "no sidecar injector webhook: pods in injection-labelled namespaces start without a proxy", Fix: "istioctl install, then istioctl verify-install"})
	}
	return findings
}

func isIstiod(d *unstructured.Unstructured) bool { return d.GetLabels()["app"] == "istiod" }

// isIngressGateway: installed by istioctl or the gateway chart (istio=ingressgateway), or
// deployed by istiod for a Gateway API Gateway of class istio.
func isIngressGateway(d *unstructured.Unstructured) bool {
	return d.GetLabels()["istio"] == "ingressgateway" || d.GetLabels()[GatewayManagedLabel] == ManagedGateway
}

// How istiod labels the Deployments it makes for Gateway API Gateways (waypoints carry
// istio.io-mesh-controller instead).
const (
	GatewayManagedLabel = "gateway.istio.io/managed"
	ManagedGateway      = "istio.io-gateway-controller"
)

func controlPlane(in Input, is func(*unstructured.Unstructured) bool) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, d := range in.ControlPlane {
		if is(d) {
			out = append(out, d)
		}
	}
	return out
}

func hasInjector(webhooks []*unstructured.Unstructured) bool {
	for _, w := range webhooks {
		// istioctl names it istio-sidecar-injector[-REVISION]; revision tags add istio-revision-tag-TAG.
		if strings.HasPrefix(w.GetName(), "istio-sidecar-injector") || strings.HasPrefix(w.GetName(), "istio-revision-tag-") || w.GetLabels()["app"] == "sidecar-injector" {
			return true
		}
	}
	return false
}

func replicas(d *unstructured.Unstructured) int64 {
	n, found, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	if !found {
		return 1 // the API server's default
	}
	return n
}

func objectOf(obj *unstructured.Unstructured) Object {
	return Object{Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// discovery is istiod's container: named "discovery" by Istio's charts, else the first.
func discovery(d *unstructured.Unstructured) map[string]any {
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		if m, _ := c.(map[string]any); m["name"] == "discovery" {
			return m
		}
	}
	if len(containers) > 0 {
		m, _ := containers[0].(map[string]any)
		return m
	}
	return nil
}

func istiodEnv(d *unstructured.Unstructured, name string) string {
	env, _ := discovery(d)["env"].([]any)
	for _, e := range env {
		if m, _ := e.(map[string]any); m["name"] == name {
			value, _ := m["value"].(string)
			return value
		}
	}
	return ""
}

// opsPlanning: istiod and ingress gateways with a single replica or no PodDisruptionBudget
// (a node drain stops them), and a control plane without a revision (an upgrade replaces it
// in place, with no canary).
func opsPlanning(in Input) []Finding {
	var findings []Finding
	for _, d := range in.ControlPlane {
		if !in.inScope(d.GetNamespace()) {
			continue
		}
		role := "istiod"
		if isIngressGateway(d) {
			role = "the ingress gateway"
		}
		if replicas(d) < 2 {
			findings = append(findings, Finding{Severity: Warning, Check: CheckOps, Object: objectOf(d),
				Why: fmt.Sprintf("%s runs a single replica: a node drain or a crash stops it", role),
				Fix: fmt.Sprintf("kubectl -n %s scale deployment %s --replicas=2 (or an autoscaler with at least 2)", d.GetNamespace(), d.GetName())})
		}
		if !in.Unknown[BudgetReads] && !coveredByBudget(d, in.DisruptionBudgets) {
			findings = append(findings, Finding{Severity: Warning, Check: CheckOps, Object: objectOf(d),
				Why: fmt.Sprintf("no PodDisruptionBudget covers %s: a node drain may evict every replica at once", role),
				Fix: fmt.Sprintf("kubectl -n %s create poddisruptionbudget %s --selector=%s --min-available=1", d.GetNamespace(), d.GetName(), selectorOf(d))})
		}
	}
	if !revisionInUse(in) {
		for _, d := range controlPlane(in, isIstiod) {
			if in.inScope(d.GetNamespace()) {
				findings = append(findings, Finding{Severity: Info, Check: CheckRevision, Object: objectOf(d),
					Why: "no revision (istio.io/rev) is in use: an upgrade replaces the control plane in place and cannot be canaried",
					Fix: "install the next version beside it (istioctl install --revision=...) and move namespaces with the istio.io/rev label"})
			}
		}
	}
	return findings
}

// revisionInUse tells whether istiod or a namespace names a revision other than "default",
// the one every install without --revision gets, or a revision tag is set.
func revisionInUse(in Input) bool {
	named := func(labels map[string]string) bool {
		rev := labels["istio.io/rev"]
		return rev != "" && rev != "default"
	}
	for _, d := range controlPlane(in, isIstiod) {
		if named(d.GetLabels()) {
			return true
		}
	}
	for _, ns := range in.Namespaces {
		if named(ns.Labels) {
			return true
		}
	}
	// A revision tag (istioctl tag set) points namespaces at a revision through its webhook.
	return slices.ContainsFunc(in.Webhooks, func(w *unstructured.Unstructured) bool {
		return strings.HasPrefix(w.GetName(), "istio-revision-tag-")
	})
}

// coveredByBudget tells whether a PodDisruptionBudget of d's namespace selects d's pods.
func coveredByBudget(d *unstructured.Unstructured, budgets []*unstructured.Unstructured) bool {
	podLabels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
	for _, pdb := range budgets {
		raw, _, _ := unstructured.NestedMap(pdb.Object, "spec", "selector")
		var selector metav1.LabelSelector
		if pdb.GetNamespace() != d.GetNamespace() || runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &selector) != nil {
			continue
		}
		// policy/v1: a null selector selects no pods, an empty one every pod of the namespace.
		if s, err := metav1.LabelSelectorAsSelector(&selector); err == nil && raw != nil && s.Matches(labels.Set(podLabels)) {
			return true
		}
	}
	return false
}

func selectorOf(d *unstructured.Unstructured) string {
	matchLabels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "selector", "matchLabels")
	return labels.SelectorFromSet(matchLabels).String()
}
