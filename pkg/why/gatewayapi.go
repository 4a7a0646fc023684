package why

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// gatewayAPIRoute reads the first rule of an HTTPRoute (or GRPCRoute) attached to the Service
// that matches the request, and its backends with their relative weights (1 by default).
func gatewayAPIRoute(in Input, r *unstructured.Unstructured) routing {
	object := fmt.Sprintf("%s %s/%s", strings.ToLower(r.GetKind()), r.GetNamespace(), r.GetName())
	rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
	for i, raw := range rules {
		rule, _ := raw.(map[string]any)
		if !gatewayAPIMatches(rule, in) {
			continue
		}
		targets := backendTargets(in, r, rule)
		detail := fmt.Sprintf("rule %d matches: %s", i, shares(targets))
		if len(targets) == 0 {
			detail = fmt.Sprintf("rule %d matches and has no backend: Istio answers 500", i)
		}
		return routing{step: Step{Step: "route", Object: object, Detail: detail}, targets: targets, noRoute: len(targets) == 0}
	}
	return routing{step: Step{Step: "route", Object: object, Detail: fmt.Sprintf("none of its %d rules matches %s %s: Envoy answers 404 (NR, no route)", len(rules), in.Request.Method, in.Request.Path)}, noRoute: true}
}

// gatewayAPIMatches: a rule without matches matches everything; otherwise one match must hold
// all it sets. Headers and query parameters, which the request does not say, do not hold.
func gatewayAPIMatches(rule map[string]any, in Input) bool {
	matches, _ := rule["matches"].([]any)
	if len(matches) == 0 {
		return true
	}
	for _, m := range matches {
		match, _ := m.(map[string]any)
		if match["headers"] != nil || match["queryParams"] != nil {
			continue
		}
		if method, _ := match["method"].(string); method != "" && method != in.Request.Method {
			continue
		}
		if path, ok := match["path"].(map[string]any); ok && !pathMatches(path, in.Request.Path) {
			continue
		}
		return true
	}
	return false
}

// pathMatches is Gateway API's path match: PathPrefix by whole path elements ("/a" matches
// "/a" and "/a/b", not "/ab"), Exact, or RegularExpression.
func pathMatches(path map[string]any, value string) bool {
	kind, _ := path["type"].(string)
	want, _ := path["value"].(string)
	switch kind {
	case "Exact":
		return value == want
	case "RegularExpression":
		re, err := regexp.Compile("^(?:" + want + ")$")
		return err == nil && re.MatchString(value)
	}
	prefix := strings.TrimSuffix(want, "/")
	return prefix == "" || value == prefix || strings.HasPrefix(value, prefix+"/")
}

// backendTargets are a rule's backendRefs of kind Service in the destination's namespace.
func backendTargets(in Input, r *unstructured.Unstructured, rule map[string]any) []target {
	refs, _ := rule["backendRefs"].([]any)
	var out []target
	for _, raw := range refs {
		ref, _ := raw.(map[string]any)
		name, _ := ref["name"].(string)
		namespace, _ := ref["namespace"].(string)
		weight := int64(1)
		if _, set := ref["weight"]; set {
			weight = weightOf(ref["weight"])
		}
		t := target{Name: name, Weight: weight}
		if namespace == "" {
			namespace = r.GetNamespace()
		}
		switch svc := serviceNamed(in, name, namespace); {
		case kindOf(ref) != "Service":
			t.Missing = fmt.Sprintf("backend %s is a %s, not a Service: not followed", name, kindOf(ref))
		case namespace != in.Namespace:
			t.Missing = fmt.Sprintf("backend %s/%s is in another namespace: not followed", namespace, name)
		case svc == nil:
			t.Missing, t.Flag = fmt.Sprintf("Service %s does not exist", name), "NC"
		default:
			t.Service = *svc
		}
		out = append(out, t)
	}
	return out
}

func kindOf(ref map[string]any) string {
	if kind, _ := ref["kind"].(string); kind != "" {
		return kind
	}
	return "Service"
}
