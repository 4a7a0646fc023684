package istio

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// AuthorizationPolicy actions. A policy without one is an ALLOW policy.
const (
	ActionAllow  = "ALLOW"
	ActionDeny   = "DENY"
	ActionCustom = "CUSTOM"
	ActionAudit  = "AUDIT"
)

// Action is ap's spec.action, ALLOW when unset.
func Action(ap *unstructured.Unstructured) string {
	action, _, _ := unstructured.NestedString(ap.Object, "spec", "action")
	if action == "" {
		return ActionAllow
	}
	return action
}

// HasTargetRefs reports whether ap attaches to a Gateway or Service (targetRef, targetRefs)
// instead of selecting workloads: such a policy is enforced by gateways and waypoints, not by
// a workload's sidecar.
func HasTargetRefs(ap *unstructured.Unstructured) bool {
	_, single, _ := unstructured.NestedMap(ap.Object, "spec", "targetRef")
	refs, _, _ := unstructured.NestedSlice(ap.Object, "spec", "targetRefs")
	return single || len(refs) > 0
}

// PolicyApplies reports whether ap applies to a workload of namespace with these pod labels,
// at the workload's own proxy: a policy of the root namespace applies mesh-wide, one of the
// workload's namespace applies there; its selector must pick the workload (no selector:
// every workload).
func PolicyApplies(ap *unstructured.Unstructured, rootNamespace, namespace string, labels map[string]string) bool {
	if ap.GetNamespace() != namespace && ap.GetNamespace() != rootNamespace {
		return false
	}
	if HasTargetRefs(ap) {
		return false
	}
	return SelectorMatches(WorkloadSelector(ap), labels)
}

// PoliciesFor are the policies among aps that apply to a workload of namespace with labels.
func PoliciesFor(aps []*unstructured.Unstructured, rootNamespace, namespace string, labels map[string]string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, ap := range aps {
		if PolicyApplies(ap, rootNamespace, namespace, labels) {
			out = append(out, ap)
		}
	}
	return out
}

// Openings describe the rules of an ALLOW policy that admit callers wholesale rather than by
// identity: every request, any source, every workload of a namespace, principals matched by a
// wildcard, IP ranges, or end-user tokens. A source that names exact principals is not an
// opening (the fields of one source must all match). Nil for other actions.
func Openings(ap *unstructured.Unstructured) []string {
	if Action(ap) != ActionAllow {
		return nil
	}
	var out []string
	rules, _, _ := unstructured.NestedSlice(ap.Object, "spec", "rules")
	for _, r := range rules {
		rule := asMap(r)
		scope := ""
		if rule["to"] != nil || rule["when"] != nil {
			scope = " (for the requests its rule matches)"
		}
		from, _ := rule["from"].([]any)
		if len(rule) == 0 {
			out = append(out, "every request")
			continue
		}
		if len(from) == 0 {
			out = append(out, "any caller"+scope)
			continue
		}
		for _, f := range from {
			if who := sourceOpening(asMap(asMap(f)["source"])); who != "" {
				out = append(out, who+scope)
			}
		}
	}
	return out
}

// sourceOpening describes a rule's source that admits callers wholesale; "" for one that
// names exact principals.
func sourceOpening(source map[string]any) string {
	principals, _, _ := unstructured.NestedStringSlice(source, "principals")
	exact := len(principals) > 0
	for _, p := range principals {
		exact = exact && !strings.Contains(p, "*")
	}
	if exact {
		return ""
	}
	var parts []string
	describe := func(field, as string) {
		if values, _, _ := unstructured.NestedStringSlice(source, field); len(values) > 0 {
			parts = append(parts, as+" "+strings.Join(values, ", "))
		}
	}
	describe("principals", "principals matching")
	describe("namespaces", "every workload of namespace")
	describe("ipBlocks", "callers from")
	describe("remoteIpBlocks", "clients from")
	describe("requestPrincipals", "requests with a token from")
	describe("notPrincipals", "any caller but")
	describe("notNamespaces", "any namespace but")
	if len(parts) == 0 {
		return "any caller"
	}
	return strings.Join(parts, " and ")
}

// l4Conditions are the `when` keys ztunnel can evaluate at L4; every other key needs HTTP.
var l4Conditions = map[string]bool{"source.ip": true, "source.namespace": true, "source.principal": true, "destination.ip": true, "destination.port": true}

// L7Fields names the fields of ap's rules that need HTTP (methods, paths, hosts, request
// principals, request.* conditions, ...). ztunnel, which enforces selector policies for
// ambient workloads, cannot: it drops such ALLOW rules (they never match) and enforces such
// DENY rules without them (they match more).
func L7Fields(ap *unstructured.Unstructured) []string {
	seen := map[string]bool{}
	var out []string
	add := func(field string) {
		if !seen[field] {
			seen[field] = true
			out = append(out, field)
		}
	}
	rules, _, _ := unstructured.NestedSlice(ap.Object, "spec", "rules")
	for _, r := range rules {
		rule := asMap(r)
		for _, f := range asSlice(rule["from"]) {
			source := asMap(asMap(f)["source"])
			for _, key := range []string{"requestPrincipals", "notRequestPrincipals", "remoteIpBlocks", "notRemoteIpBlocks"} {
				if source[key] != nil {
					add(key)
				}
			}
		}
		for _, t := range asSlice(rule["to"]) {
			op := asMap(asMap(t)["operation"])
			for _, key := range []string{"hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"} {
				if op[key] != nil {
					add(key)
				}
			}
		}
		for _, w := range asSlice(rule["when"]) {
			if key, _ := asMap(w)["key"].(string); key != "" && !l4Conditions[key] {
				add("when " + key)
			}
		}
	}
	return out
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
