// Package owners tells who else writes an object we are about to change: a rollout
// controller (Flagger, Argo Rollouts) that drives a route's weights itself, or a GitOps tool
// (Argo CD, Flux) whose next sync puts the object back as its source says. Either would undo
// our change, silently. Pure: objects in, an answer out.
package owners

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Kind is how an owner holds an object.
type Kind int

const (
	// None: nobody we know of writes the object.
	None Kind = iota
	// GitOps: a sync puts the object back as its source says; changing it here lasts until then.
	GitOps
	// Controller: a controller drives the object and undoes any other change at once.
	Controller
)

// Owner is who holds an object, and how to work with it instead.
type Owner struct {
	Kind Kind
	// Name is the owner, for people: "Argo Rollout shop/reviews", "Argo CD application bookinfo".
	Name string
	// Instead is what to do rather than change the object here.
	Instead string
}

// Labels and annotations GitOps tools put on what they apply.
const (
	argoCDTracking      = "argocd.argoproj.io/tracking-id"
	argoCDPrefix        = "argocd.argoproj.io/"
	instanceLabel       = "app.kubernetes.io/instance"
	fluxKustomization   = "kustomize.toolkit.fluxcd.io/name"
	fluxKustomizationNS = "kustomize.toolkit.fluxcd.io/namespace"
	fluxHelmRelease     = "helm.toolkit.fluxcd.io/name"
	fluxHelmReleaseNS   = "helm.toolkit.fluxcd.io/namespace"
)

// Of returns who holds obj: its controller owner (an ownerReference to a Flagger Canary or an
// Argo Rollout), else an Argo Rollout among rollouts whose traffic routing names it, else the
// GitOps tool that applied it; the zero Owner when none.
func Of(obj *unstructured.Unstructured, rollouts []*unstructured.Unstructured) Owner {
	ns := obj.GetNamespace()
	for _, ref := range obj.GetOwnerReferences() {
		group, _, _ := strings.Cut(ref.APIVersion, "/")
		switch {
		case group == "flagger.app" && ref.Kind == "Canary":
			return Owner{Kind: Controller, Name: fmt.Sprintf("Flagger Canary %s/%s", ns, ref.Name),
				Instead: fmt.Sprintf("Flagger sets these weights from the Canary's analysis: change the Canary (kubectl edit canaries.flagger.app %s -n %s)", ref.Name, ns)}
		case group == "argoproj.io" && ref.Kind == "Rollout":
			return rollout(ns, ref.Name)
		}
	}
	for _, r := range rollouts {
		if r.GetNamespace() == ns && routesTo(r, obj) {
			return rollout(ns, r.GetName())
		}
	}
	return gitOps(obj)
}

func rollout(ns, name string) Owner {
	return Owner{Kind: Controller, Name: fmt.Sprintf("Argo Rollout %s/%s", ns, name),
		Instead: fmt.Sprintf("Argo Rollouts sets these weights from the Rollout's steps: drive it (kubectl argo rollouts promote %s -n %s, or abort)", name, ns)}
}

// routesTo tells whether an Argo Rollout's canary traffic routing names obj: an Istio
// VirtualService (trafficRouting.istio.virtualService(s)) or, through the Gateway API plugin,
// an HTTPRoute or GRPCRoute.
func routesTo(r, obj *unstructured.Unstructured) bool {
	routing, _, _ := unstructured.NestedMap(r.Object, "spec", "strategy", "canary", "trafficRouting")
	if routing == nil {
		return false
	}
	var names []string
	switch obj.GetKind() {
	case "VirtualService":
		istio, _ := routing["istio"].(map[string]any)
		if vs, ok := istio["virtualService"].(map[string]any); ok {
			names = append(names, str(vs["name"]))
		}
		for _, vs := range list(istio["virtualServices"]) {
			names = append(names, str(vs["name"]))
		}
	case "HTTPRoute", "GRPCRoute":
		plugins, _ := routing["plugins"].(map[string]any)
		for _, plugin := range plugins {
			config, _ := plugin.(map[string]any)
			key := "httpRoute"
			if obj.GetKind() == "GRPCRoute" {
				key = "grpcRoute"
			}
			names = append(names, str(config[key]))
			for _, route := range list(config[key+"s"]) {
				names = append(names, str(route["name"]))
			}
		}
	}
	for _, name := range names {
		// A name may be "name" or "name.namespace" (Argo Rollouts accepts both for Istio).
		if name == obj.GetName() || name == obj.GetName()+"."+obj.GetNamespace() {
			return true
		}
	}
	return false
}

// gitOps recognises what Argo CD and Flux apply, by the metadata they leave on it.
func gitOps(obj *unstructured.Unstructured) Owner {
	labels, annotations := obj.GetLabels(), obj.GetAnnotations()
	revert := "its next sync reverts a change made here: change it in the Git source, or pass --force to change it until then"
	if id := annotations[argoCDTracking]; id != "" {
		app, _, _ := strings.Cut(id, ":")
		return Owner{Kind: GitOps, Name: "Argo CD application " + app, Instead: revert}
	}
	if app := labels[instanceLabel]; app != "" && hasPrefixKey(annotations, argoCDPrefix) {
		return Owner{Kind: GitOps, Name: "Argo CD application " + app, Instead: revert}
	}
	if name := labels[fluxKustomization]; name != "" {
		return Owner{Kind: GitOps, Name: "Flux Kustomization " + qualified(labels[fluxKustomizationNS], name), Instead: revert}
	}
	if name := labels[fluxHelmRelease]; name != "" {
		return Owner{Kind: GitOps, Name: "Flux HelmRelease " + qualified(labels[fluxHelmReleaseNS], name), Instead: revert}
	}
	return Owner{}
}

// Refusal is the error for changing obj, held by owner: always for a controller, for GitOps
// unless forced. nil when the change may go ahead.
func Refusal(obj *unstructured.Unstructured, owner Owner, force bool) error {
	what := fmt.Sprintf("%s %s/%s", obj.GetKind(), obj.GetNamespace(), obj.GetName())
	switch {
	case owner.Kind == Controller:
		return fmt.Errorf("%s is driven by %s, which would undo this change at once. %s", what, owner.Name, owner.Instead)
	case owner.Kind == GitOps && !force:
		return fmt.Errorf("%s is applied by %s: %s", what, owner.Name, owner.Instead)
	}
	return nil
}

// Warning is what to say when a GitOps-held object is changed with --force.
func Warning(obj *unstructured.Unstructured, owner Owner) string {
	return fmt.Sprintf("%s %s/%s is applied by %s: its next sync will revert this change", obj.GetKind(), obj.GetNamespace(), obj.GetName(), owner.Name)
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func hasPrefixKey(m map[string]string, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []map[string]any {
	items, _ := v.([]any)
	var out []map[string]any
	for _, item := range items {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
