package doctor

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// destinationRuleReads is how the doctor's reads name DestinationRules in Input.Unknown.
const destinationRuleReads = "destinationrules.networking.istio.io"

// routeKind is a kind of routing object each primary's istiod reads from its own cluster.
type routeKind struct {
	kind    string
	unknown string // its key in Input.Unknown
	objects func(ClusterInput) []*unstructured.Unstructured
}

var routeKinds = []routeKind{
	{"VirtualService", RouteReads, func(c ClusterInput) []*unstructured.Unstructured { return c.Drift.VirtualServices }},
	{"DestinationRule", destinationRuleReads, func(c ClusterInput) []*unstructured.Unstructured { return c.Input.DestinationRules }},
	{"HTTPRoute", RouteReads, func(c ClusterInput) []*unstructured.Unstructured { return c.Drift.HTTPRoutes }},
}

// maxDifferences bounds how many differing fields a finding names.
const maxDifferences = 3

// routeDrift: VirtualServices, DestinationRules and HTTPRoutes of one namespace and name
// whose spec differs between primaries, or that some primaries lack. In multi-primary each
// istiod configures its own cluster's proxies from its own cluster's objects, so a request is
// routed by the copy of the caller's cluster. Remotes are left out: their config is read from
// a primary.
func routeDrift(clusters []ClusterInput) []Finding {
	var primaries []ClusterInput
	for _, c := range clusters {
		if c.Input.Unknown[ControlPlaneReads] || len(controlPlane(c.Input, isIstiod)) > 0 {
			primaries = append(primaries, c)
		}
	}
	var findings []Finding
	shared := sharedNamespaces(primaries)
	for _, ns := range slices.Sorted(maps.Keys(shared)) {
		in := shared[ns]
		for _, rk := range routeKinds {
			if slices.ContainsFunc(in, func(c ClusterInput) bool { return c.Input.Unknown[rk.unknown] }) {
				continue
			}
			objectsIn := func(c ClusterInput) []*unstructured.Unstructured { return inNamespace(rk.objects(c), ns) }
			for _, name := range namesOf(in, objectsIn) {
				specs := variantsOf(in, func(c ClusterInput) (string, bool) { return specKey(named(objectsIn(c), name)), true })
				if len(specs) > 1 {
					findings = append(findings, routeFinding(Object{Kind: rk.kind, Namespace: ns, Name: name}, specs))
				}
			}
		}
	}
	return findings
}

func routeFinding(object Object, specs []variant) Finding {
	why := fmt.Sprintf("%s/%s/%s ", object.Kind, object.Namespace, object.Name)
	fix := fmt.Sprintf("apply one manifest in every primary (kubectl --context CTX -n %s apply -f FILE), or delete it where it should not be", object.Namespace)
	if slices.ContainsFunc(specs, func(v variant) bool { return v.value == absent }) {
		why += describePresence(specs)
	} else {
		var pairs []string
		for _, other := range specs[1:] {
			pairs = append(pairs, fmt.Sprintf("%s vs %s: %s", listClusters(specs[0].clusters), listClusters(other.clusters), specDifferences(specs[0].value, other.value)))
		}
		why += "differs, " + strings.Join(pairs, "; ")
	}
	return Finding{Severity: Warning, Check: CheckDriftRoute, Object: object, Clusters: allOf(specs),
		Why: why + ": each primary's istiod routes its own cluster's proxies by its own copy, so a request is routed by its caller's cluster", Fix: fix}
}

func inNamespace(objects []*unstructured.Unstructured, ns string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, obj := range objects {
		if obj.GetNamespace() == ns {
			out = append(out, obj)
		}
	}
	return out
}

func named(objects []*unstructured.Unstructured, name string) *unstructured.Unstructured {
	for _, obj := range objects {
		if obj.GetName() == name {
			return obj
		}
	}
	return nil
}

// specDifferences names the fields where two specs (as specKey wrote them) differ, with
// both values: "http[0].route[0].weight (90 vs 50)", the first maxDifferences of them.
func specDifferences(a, b string) string {
	var av, bv any
	_ = json.Unmarshal([]byte(a), &av)
	_ = json.Unmarshal([]byte(b), &bv)
	var out []string
	diffValues("", av, bv, &out)
	if len(out) > maxDifferences {
		out = append(out[:maxDifferences], fmt.Sprintf("and %d more", len(out)-maxDifferences))
	}
	return strings.Join(out, ", ")
}

// diffValues walks two decoded JSON values side by side, appending the paths that differ.
func diffValues(path string, a, b any, out *[]string) {
	switch av := a.(type) {
	case map[string]any:
		if bv, ok := b.(map[string]any); ok {
			keys := slices.Sorted(maps.Keys(av))
			keys = slices.AppendSeq(keys, maps.Keys(bv))
			slices.Sort(keys)
			for _, k := range slices.Compact(keys) {
				diffValues(strings.TrimPrefix(path+"."+k, "."), av[k], bv[k], out)
			}
			return
		}
	case []any:
		if bv, ok := b.([]any); ok {
			for i := range min(len(av), len(bv)) {
				diffValues(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i], out)
			}
			if len(av) != len(bv) {
				*out = append(*out, fmt.Sprintf("%s (%d items vs %d)", path, len(av), len(bv)))
			}
			return
		}
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, fmt.Sprintf("%s (%s vs %s)", pathOrSpec(path), shortValue(a), shortValue(b)))
	}
}

func pathOrSpec(path string) string {
	if path == "" {
		return "spec"
	}
	return path
}

// shortValue is a JSON value in at most 40 characters; unset for none.
func shortValue(v any) string {
	if v == nil {
		return "unset"
	}
	data, _ := json.Marshal(v)
	return shorten(string(data), 40)
}
