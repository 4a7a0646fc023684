package lockdown

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Opening is an existing ALLOW policy, not lockdown's, that keeps admitting callers wholesale
// (any caller, a whole namespace, IP ranges) to workloads of the namespace: default deny does
// not override an ALLOW policy, so these callers stay allowed after lockdown.
type Opening struct {
	Policy    string   `json:"policy"`    // authorizationpolicy/NAME, or NAMESPACE/NAME from the root namespace
	Workloads []string `json:"workloads"` // the workloads it applies to
	Admits    []string `json:"admits"`    // "any caller", "every workload of namespace shop", ...
}

func (o Opening) String() string {
	return fmt.Sprintf("%s admits %s to %s", o.Policy, strings.Join(o.Admits, "; "), strings.Join(o.Workloads, ", "))
}

// findOpenings lists the policies of the namespace and of the root namespace that keep
// admitting callers wholesale to the workloads.
func findOpenings(in Input, workloads []*Workload) []Opening {
	var out []Opening
	policies := append(append([]*unstructured.Unstructured{}, in.AuthorizationPolicies...), in.MeshAuthorizationPolicies...)
	for _, ap := range policies {
		if isOurs(ap) {
			continue
		}
		admits := istio.Openings(ap)
		if len(admits) == 0 {
			continue
		}
		o := Opening{Policy: policyRef(ap, in.Namespace), Admits: admits}
		for _, w := range workloads {
			if istio.PolicyApplies(ap, in.Mesh.RootNamespace, in.Namespace, w.labels) {
				o.Workloads = append(o.Workloads, w.Name)
			}
		}
		if len(o.Workloads) > 0 {
			out = append(out, o)
		}
	}
	return out
}

// policyRef names a policy as kubectl does, with its namespace when it is not the one in hand.
func policyRef(obj *unstructured.Unstructured, namespace string) string {
	ref := strings.ToLower(obj.GetKind()) + "/" + obj.GetName()
	if obj.GetNamespace() != namespace {
		ref = strings.ToLower(obj.GetKind()) + " " + obj.GetNamespace() + "/" + obj.GetName()
	}
	return ref
}
