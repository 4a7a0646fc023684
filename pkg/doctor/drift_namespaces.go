package doctor

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// sharedNamespaces are the namespaces of the scope found in two clusters or more, each with
// the clusters holding it: by namespace sameness they are one namespace, which should be
// configured alike. A namespace in one cluster only is an application not spread out.
func sharedNamespaces(clusters []ClusterInput) map[string][]ClusterInput {
	names := map[string]bool{}
	for _, c := range clusters {
		for _, ns := range c.Input.Namespaces {
			if c.Input.inScope(ns.Name) {
				names[ns.Name] = true
			}
		}
	}
	out := map[string][]ClusterInput{}
	for name := range names {
		var holding []ClusterInput
		for _, c := range clusters {
			if c.Input.Unknown["namespaces"] || slices.ContainsFunc(c.Input.Namespaces, func(ns corev1.Namespace) bool { return ns.Name == name }) {
				holding = append(holding, c)
			}
		}
		if len(holding) > 1 {
			out[name] = holding
		}
	}
	return out
}

// lockdown states of a namespace in one cluster, from the most closed.
var lockdownStates = []string{"locked down (STRICT mTLS and an allow-nothing AuthorizationPolicy)", "STRICT mTLS without default deny", "default deny without STRICT mTLS", "open"}

// lockdownDrift: a namespace locked down (lockdown's objects, or any namespace-wide STRICT
// PeerAuthentication) in some of its clusters only: the others still take plaintext, or
// callers no rule allows.
func lockdownDrift(clusters []ClusterInput) []Finding {
	var findings []Finding
	shared := sharedNamespaces(clusters)
	for _, ns := range slices.Sorted(maps.Keys(shared)) {
		states := variantsOf(shared[ns], func(c ClusterInput) (string, bool) { return lockdownState(c, ns) })
		if len(states) < 2 {
			continue
		}
		slices.SortStableFunc(states, func(a, b variant) int {
			return slices.Index(lockdownStates, a.value) - slices.Index(lockdownStates, b.value)
		})
		closed, open := states[0], states[1:]
		var fixes []string
		for _, v := range open {
			for _, c := range v.clusters {
				fixes = append(fixes, fmt.Sprintf("kubectl mesh lockdown %s --context %s", ns, c.Context))
			}
		}
		fix := fmt.Sprintf("close it alike everywhere: %s (or, if it should be open, kubectl mesh lockdown %s --undo where it is closed)", strings.Join(fixes, "; "), ns)
		if ns == shared[ns][0].Input.Mesh.RootNamespace {
			// Its policies are mesh-wide, and lockdown refuses the root namespace.
			fix = fmt.Sprintf("apply the same mesh-wide PeerAuthentication and AuthorizationPolicies in %s of every cluster", ns)
		}
		findings = append(findings, Finding{Severity: Warning, Check: CheckDriftLockdown, Object: Object{Kind: "Namespace", Name: ns}, Clusters: allOf(states),
			Why: fmt.Sprintf("%s in %s%s; %s: one namespace by namespace sameness, yet where it is less closed its workloads take what the other cluster refuses",
				closed.value, listClusters(closed.clusters), managedNote(shared[ns], ns, closed), describe(open)),
			Fix: fix})
	}
	return findings
}

// lockdownState says how closed namespace ns is in cluster c; false when the policies could
// not be read.
func lockdownState(c ClusterInput, ns string) (string, bool) {
	if c.Input.Unknown[PolicyReads] || c.Input.Unknown[AuthzReads] {
		return "", false
	}
	wide := istio.NamespaceWidePeerAuthentications(c.Input.PeerAuthentications, ns)
	strict := len(wide) > 0 && istio.MTLSMode(wide[0]) == istio.ModeStrict
	deny := slices.ContainsFunc(c.Drift.AuthorizationPolicies, func(ap *unstructured.Unstructured) bool { return ap.GetNamespace() == ns && allowsNothing(ap) })
	switch {
	case strict && deny:
		return lockdownStates[0], true
	case strict:
		return lockdownStates[1], true
	case deny:
		return lockdownStates[2], true
	}
	return lockdownStates[3], true
}

// allowsNothing: a namespace-wide ALLOW policy without rules (spec: {}), Istio's default deny.
func allowsNothing(ap *unstructured.Unstructured) bool {
	spec, _, _ := unstructured.NestedMap(ap.Object, "spec")
	for key, value := range spec {
		if key != "action" || (value != "ALLOW" && value != "") {
			return false
		}
	}
	return true
}

// managedNote says when kubectl mesh lockdown wrote the closed clusters' policies.
func managedNote(clusters []ClusterInput, ns string, closed variant) string {
	for _, c := range clusters {
		if !slices.Contains(closed.clusters, c.Cluster) {
			continue
		}
		for _, obj := range slices.Concat(c.Input.PeerAuthentications, c.Drift.AuthorizationPolicies) {
			if obj.GetNamespace() == ns && istio.IsManagedByUs(obj) {
				return " (written there by kubectl mesh lockdown)"
			}
		}
	}
	return ""
}

// waypointDrift: a waypoint (Gateway of class istio-waypoint) in some of its namespace's
// clusters only: in the others, traffic to what uses it gets no L7 policy or routing.
func waypointDrift(clusters []ClusterInput) []Finding {
	var findings []Finding
	shared := sharedNamespaces(clusters)
	for _, ns := range slices.Sorted(maps.Keys(shared)) {
		in := shared[ns]
		if slices.ContainsFunc(in, func(c ClusterInput) bool { return c.Input.Unknown[GatewayReads] }) {
			continue
		}
		for _, name := range namesOf(in, func(c ClusterInput) []*unstructured.Unstructured { return waypointsIn(c, ns) }) {
			where := variantsOf(in, func(c ClusterInput) (string, bool) {
				return presence(slices.ContainsFunc(waypointsIn(c, ns), func(gw *unstructured.Unstructured) bool { return gw.GetName() == name })), true
			})
			if len(where) < 2 {
				continue
			}
			missing := where[slices.IndexFunc(where, func(v variant) bool { return v.value == absent })]
			findings = append(findings, Finding{Severity: Warning, Check: CheckDriftWaypoint, Object: Object{Kind: "Gateway", Namespace: ns, Name: name}, Clusters: allOf(where),
				Why: fmt.Sprintf("waypoint %s/%s %s: there traffic to what uses it (istio.io/use-waypoint) gets none of its L7 policy and routing", ns, name, describePresence(where)),
				Fix: fmt.Sprintf("deploy it in %s too (istioctl waypoint apply -n %s --name %s --context CTX), or delete it where it should not be", listClusters(missing.clusters), ns, name)})
		}
	}
	return findings
}

func waypointsIn(c ClusterInput, ns string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, gw := range c.Drift.Gateways {
		if gw.GetNamespace() == ns && istio.IsWaypoint(gw) {
			out = append(out, gw)
		}
	}
	return out
}

// namesOf are the names, sorted and once each, of the objects of every cluster.
func namesOf(clusters []ClusterInput, objects func(ClusterInput) []*unstructured.Unstructured) []string {
	var names []string
	for _, c := range clusters {
		for _, obj := range objects(c) {
			names = append(names, obj.GetName())
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Presence of an object, as a variant's value.
const (
	absent  = "absent"
	present = "present"
)

func presence(found bool) string {
	if found {
		return present
	}
	return absent
}

// describePresence: "is in cluster a (context x) only, not in cluster b (context y)".
func describePresence(vs []variant) string {
	var in, out []Cluster
	for _, v := range vs {
		if v.value == absent {
			out = append(out, v.clusters...)
		} else {
			in = append(in, v.clusters...)
		}
	}
	return fmt.Sprintf("is in %s only, not in %s", listClusters(in), listClusters(out))
}

// specKey is an object's spec as JSON (map keys sorted), to compare specs across clusters;
// absent for no object.
func specKey(obj *unstructured.Unstructured) string {
	if obj == nil {
		return absent
	}
	data, _ := json.Marshal(obj.Object["spec"])
	return string(data)
}
