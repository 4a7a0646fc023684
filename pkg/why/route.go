package why

import (
	"fmt"
	"regexp"
	"strings"

	apinetworking "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// target is where a route sends a share of the requests: a subset of the Service, a version
// Service, or the Service itself.
type target struct {
	Name    string
	Weight  int64
	Service corev1.Service // whose selector picks its pods, with Labels added
	Labels  map[string]string
	// Missing says why Envoy has nowhere to send it, with the response flag.
	Missing, Flag string
}

// routing is what the route step found.
type routing struct {
	step    Step
	targets []target
	// noRoute is set when a route exists and none of its rules matches (404 NR).
	noRoute bool
}

// route finds what carries the request: an HTTPRoute or GRPCRoute attached to the Service
// (GAMMA), else a VirtualService for its host bound to the mesh, else the Service itself.
func route(in Input) routing {
	svc := in.Service
	ref := istio.Service{Name: svc.Name, Namespace: svc.Namespace}
	for _, r := range in.Routes {
		for _, parent := range istio.ParentServices(r) {
			if parent.Name == svc.Name && parent.Namespace == svc.Namespace {
				return gatewayAPIRoute(in, r)
			}
		}
	}
	for _, vs := range in.VirtualServices {
		if _, mesh := istio.VirtualServiceGateways(vs); !mesh {
			continue
		}
		hosts, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "hosts")
		for _, h := range hosts {
			if istio.HostNamesService(h, vs.GetNamespace(), ref) {
				return virtualServiceRoute(in, vs)
			}
		}
	}
	return routing{
		step:    Step{Step: "route", Detail: fmt.Sprintf("no VirtualService or HTTPRoute routes Service %s: every ready pod it selects may answer", svc.Name)},
		targets: []target{{Name: svc.Name, Weight: 1, Service: *svc}},
	}
}

// virtualServiceRoute reads the first http route of vs that matches the request.
func virtualServiceRoute(in Input, vs *unstructured.Unstructured) routing {
	object := fmt.Sprintf("virtualservice %s/%s", vs.GetNamespace(), vs.GetName())
	routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	for i, r := range routes {
		rule, _ := r.(map[string]any)
		if !virtualServiceMatches(rule, in) {
			continue
		}
		name, _ := rule["name"].(string)
		which := fmt.Sprintf("route %d", i)
		if name != "" {
			which = fmt.Sprintf("route %q", name)
		}
		targets := virtualServiceTargets(in, vs, rule)
		return routing{step: Step{Step: "route", Object: object, Detail: which + " matches: " + shares(targets)}, targets: targets}
	}
	return routing{step: Step{Step: "route", Object: object, Detail: fmt.Sprintf("none of its %d http routes matches %s %s: Envoy answers 404 (NR, no route)", len(routes), in.Request.Method, in.Request.Path)}, noRoute: true}
}

// virtualServiceMatches: no match block matches everything; otherwise one of its matches must
// hold every condition it sets. Conditions on what the request does not say (headers, query
// parameters) do not hold.
func virtualServiceMatches(rule map[string]any, in Input) bool {
	matches, _ := rule["match"].([]any)
	if len(matches) == 0 {
		return true
	}
	for _, m := range matches {
		match, _ := m.(map[string]any)
		if matchAll(match, in) {
			return true
		}
	}
	return false
}

func matchAll(match map[string]any, in Input) bool {
	for key, value := range match {
		cond, _ := value.(map[string]any)
		switch key {
		case "uri":
			if !stringMatch(cond, in.Request.Path) {
				return false
			}
		case "method":
			if !stringMatch(cond, in.Request.Method) {
				return false
			}
		case "port":
			if p := weightOf(value); in.Request.Port != 0 && p != int64(in.Request.Port) {
				return false
			}
		case "sourceNamespace":
			if value != in.Source.Namespace {
				return false
			}
		case "sourceLabels":
			if len(in.Source.Pods) == 0 || !istio.SelectorMatches(toStrings(cond), in.Source.Pods[0].Labels) {
				return false
			}
		case "name", "ignoreUriCase":
		default: // headers, queryParams, withoutHeaders, gateways, authority, scheme
			return false
		}
	}
	return true
}

// stringMatch is Istio's StringMatch: exact, prefix or regex (RE2, whole string).
func stringMatch(cond map[string]any, value string) bool {
	switch {
	case cond["exact"] != nil:
		return cond["exact"] == value
	case cond["prefix"] != nil:
		prefix, _ := cond["prefix"].(string)
		return strings.HasPrefix(value, prefix)
	case cond["regex"] != nil:
		expr, _ := cond["regex"].(string)
		re, err := regexp.Compile("^(?:" + expr + ")$")
		return err == nil && re.MatchString(value)
	}
	return true
}

// virtualServiceTargets reads a route's destinations: subsets of the Service from its
// DestinationRules, or other Services of the namespace. A lone destination carries all.
func virtualServiceTargets(in Input, vs *unstructured.Unstructured, rule map[string]any) []target {
	list, _ := rule["route"].([]any)
	svc := in.Service
	ref := istio.Service{Name: svc.Name, Namespace: svc.Namespace}
	subsets := istio.MergeDestinationRules(in.DestinationRules, ref).Subsets
	var out []target
	for _, item := range list {
		entry, _ := item.(map[string]any)
		host, _, _ := unstructured.NestedString(entry, "destination", "host")
		subset, _, _ := unstructured.NestedString(entry, "destination", "subset")
		t := target{Weight: weightOf(entry["weight"]), Service: *svc, Name: svc.Name}
		if !istio.HostNamesService(host, vs.GetNamespace(), ref) {
			t.Name, t.Missing, t.Flag = host, fmt.Sprintf("host %s is not Service %s: not followed", host, svc.Name), ""
			if other := serviceNamed(in, host, vs.GetNamespace()); other != nil {
				t.Service, t.Missing = *other, ""
			}
		}
		if subset != "" {
			t.Name = subset
			t.Labels = subsetLabels(subsets, subset)
			if t.Labels == nil {
				t.Missing, t.Flag = fmt.Sprintf("subset %s is defined by no DestinationRule for %s: Envoy has no cluster for it", subset, svc.Name), "NC"
			}
		}
		out = append(out, t)
	}
	if len(out) == 1 && out[0].Weight == 0 {
		out[0].Weight = 100 // a lone destination's weight is ignored
	}
	return out
}

func subsetLabels(subsets []*apinetworking.Subset, name string) map[string]string {
	for _, s := range subsets {
		if s.Name == name {
			if s.Labels == nil {
				return map[string]string{}
			}
			return s.Labels
		}
	}
	return nil
}

// serviceNamed is the Service of the destination's namespace that host names, if any.
func serviceNamed(in Input, host, namespace string) *corev1.Service {
	for i := range in.Services {
		s := &in.Services[i]
		if istio.HostNamesService(host, namespace, istio.Service{Name: s.Name, Namespace: s.Namespace}) {
			return s
		}
	}
	return nil
}

func weightOf(v any) int64 {
	switch w := v.(type) {
	case int64:
		return w
	case float64:
		return int64(w)
	case int:
		return int64(w)
	}
	return 0
}

func toStrings(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

// shares says where the route sends: "v1 90%, v2 10%".
func shares(targets []target) string {
	var total int64
	for _, t := range targets {
		total += t.Weight
	}
	parts := make([]string, 0, len(targets))
	for _, t := range targets {
		parts = append(parts, fmt.Sprintf("%s %s", t.Name, percent(t.Weight, total)))
	}
	return strings.Join(parts, ", ")
}

func percent(weight, total int64) string {
	if total == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(weight)/float64(total))
}
