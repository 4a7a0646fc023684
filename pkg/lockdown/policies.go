package lockdown

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// managedPolicies are the AuthorizationPolicies lockdown created, by name.
func managedPolicies(policies []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	ours := map[string]*unstructured.Unstructured{}
	for _, ap := range policies {
		if isOurs(ap) {
			ours[ap.GetName()] = ap
		}
	}
	return ours
}

// converge returns the change that makes the cluster hold desired, or nil when it does.
func converge(ours map[string]*unstructured.Unstructured, all []*unstructured.Unstructured, desired *unstructured.Unstructured, detail string) (*change.Change, error) {
	existing, isOurs := ours[desired.GetName()]
	if !isOurs {
		for _, ap := range all {
			if ap.GetName() == desired.GetName() {
				return nil, fmt.Errorf("authorizationpolicy/%s exists and was not created by kubectl mesh lockdown: rename or remove it, lockdown will not overwrite it", ap.GetName())
			}
		}
		return &change.Change{After: desired, Detail: detail}, nil
	}
	after := existing.DeepCopy()
	after.Object["spec"] = desired.Object["spec"]
	if equality.Semantic.DeepEqual(after.Object, existing.Object) {
		return nil, nil
	}
	return &change.Change{Before: existing, After: after, Detail: detail}, nil
}

// newObject is a security.istio.io object as lockdown creates it: labelled as ours, with the
// record that says lockdown created it.
func newObject(kind, namespace, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1",
		"kind":       kind,
		"metadata": map[string]any{
			"name":        name,
			"namespace":   namespace,
			"labels":      map[string]any{istio.ManagedByLabel: istio.ManagedByValue},
			"annotations": map[string]any{RecordAnnotation: created},
		},
		"spec": spec,
	}}
}

// denyPolicy allows nothing: an ALLOW policy without rules, for every workload.
func denyPolicy(namespace string) *unstructured.Unstructured {
	return newObject("AuthorizationPolicy", namespace, DenyPolicyName, map[string]any{})
}

// allowAllPolicy admits every request to w: a gateway that admits everyone today, exempted
// from default deny.
func allowAllPolicy(namespace string, w *Workload) *unstructured.Unstructured {
	ap := allowPolicy(namespace, w, nil, istio.MeshConfig{})
	ap.Object["spec"].(map[string]any)["rules"] = []any{map[string]any{}} // an empty rule matches every request
	return ap
}

// allowPolicy admits callers to w. Without callers it has no rules and admits no one: an
// empty caller list never becomes an open door.
func allowPolicy(namespace string, w *Workload, callers []Caller, mesh istio.MeshConfig) *unstructured.Unstructured {
	selector := map[string]any{}
	for k, v := range w.Selector {
		selector[k] = v
	}
	var rules []any
	if len(callers) > 0 {
		var principals, namespaces []any
		for _, c := range callers {
			if c.ServiceAccount == "" {
				namespaces = append(namespaces, c.Namespace)
			} else {
				principals = append(principals, c.Principal(mesh))
			}
		}
		// Fields of one source are ANDed, sources of one rule ORed: principals and namespaces
		// go in separate sources.
		var from []any
		if len(principals) > 0 {
			from = append(from, map[string]any{"source": map[string]any{"principals": principals}})
		}
		if len(namespaces) > 0 {
			from = append(from, map[string]any{"source": map[string]any{"namespaces": namespaces}})
		}
		rules = []any{map[string]any{"from": from}}
	}
	spec := map[string]any{"selector": map[string]any{"matchLabels": selector}, "action": "ALLOW"}
	if len(rules) > 0 {
		spec["rules"] = rules
	}
	return newObject("AuthorizationPolicy", namespace, objectName(allowPrefix+w.Name), spec)
}

func allowDetail(p *Plan, w *Workload) string {
	if p.Gateways[w.Name] {
		return fmt.Sprintf("ALLOW every caller to gateway %s", w.Name)
	}
	var who []string
	for _, c := range p.Allowed[w.Name] {
		who = append(who, c.String())
	}
	return fmt.Sprintf("ALLOW %s from %s", w.Name, strings.Join(who, ", "))
}

func formatSelector(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}
