package whatif

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
)

// The kinds a change may hold: what decides who may call whom.
const (
	KindAuthorizationPolicy = "AuthorizationPolicy"
	KindPeerAuthentication  = "PeerAuthentication"
)

// Ref names one object.
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (r Ref) String() string {
	return fmt.Sprintf("%s/%s in namespace %s", strings.ToLower(r.Kind), r.Name, r.Namespace)
}

func refOf(obj *unstructured.Unstructured) Ref {
	return Ref{Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// Edit is a change to the policies: objects created or replacing those of the same kind,
// namespace and name (as kubectl apply would), and objects deleted.
type Edit struct {
	Apply  []*unstructured.Unstructured
	Delete []Ref
}

// Namespaces are the namespaces the edit touches, each once, in order.
func (e Edit) Namespaces() []string {
	var out []string
	for _, obj := range e.Apply {
		out = append(out, obj.GetNamespace())
	}
	for _, r := range e.Delete {
		out = append(out, r.Namespace)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// EditOf is the edit a plan's changes make (lockdown's): each object written, each deleted.
func EditOf(changes []change.Change) Edit {
	var e Edit
	for _, c := range changes {
		if c.After != nil {
			e.Apply = append(e.Apply, c.After)
		} else if c.Before != nil {
			e.Delete = append(e.Delete, refOf(c.Before))
		}
	}
	return e
}

// Step is what an edit does to one object, for the report.
type Step struct {
	Ref
	Action string `json:"action"` // create, replace or delete
}

// With is p as the edit would leave it. A replaced object keeps its creation time (Istio
// honours the oldest of several namespace-wide PeerAuthentications); a created one is newer
// than any, created at now. Deleting an object that does not exist is an error.
func (p Policies) With(e Edit, now time.Time) (Policies, []Step, error) {
	out := Policies{AuthorizationPolicies: slices.Clone(p.AuthorizationPolicies), PeerAuthentications: slices.Clone(p.PeerAuthentications)}
	var steps []Step
	for _, r := range e.Delete {
		list := out.of(r.Kind)
		i := slices.IndexFunc(*list, func(o *unstructured.Unstructured) bool { return refOf(o) == r })
		if i < 0 {
			return Policies{}, nil, fmt.Errorf("%s not found: nothing to delete", r)
		}
		*list = slices.Delete(*list, i, i+1)
		steps = append(steps, Step{Ref: r, Action: "delete"})
	}
	for _, obj := range e.Apply {
		r := refOf(obj)
		list := out.of(r.Kind)
		if list == nil {
			return Policies{}, nil, fmt.Errorf("%s: what-if replays AuthorizationPolicies and PeerAuthentications only", r)
		}
		applied := obj.DeepCopy()
		i := slices.IndexFunc(*list, func(o *unstructured.Unstructured) bool { return refOf(o) == r })
		if i >= 0 {
			applied.SetCreationTimestamp((*list)[i].GetCreationTimestamp())
			(*list)[i] = applied
			steps = append(steps, Step{Ref: r, Action: "replace"})
			continue
		}
		applied.SetCreationTimestamp(metav1.NewTime(now))
		*list = append(*list, applied)
		steps = append(steps, Step{Ref: r, Action: "create"})
	}
	return out, steps, nil
}

func (p *Policies) of(kind string) *[]*unstructured.Unstructured {
	switch kind {
	case KindAuthorizationPolicy:
		return &p.AuthorizationPolicies
	case KindPeerAuthentication:
		return &p.PeerAuthentications
	}
	return nil
}

// deleteKinds are the spellings --delete accepts, as kubectl's: kind, plural, short name, each
// with or without the API group.
var deleteKinds = map[string]string{
	"authorizationpolicy": KindAuthorizationPolicy, "authorizationpolicies": KindAuthorizationPolicy, "ap": KindAuthorizationPolicy,
	"peerauthentication": KindPeerAuthentication, "peerauthentications": KindPeerAuthentication, "pa": KindPeerAuthentication,
}

// ParseDelete reads --delete KIND/NAME, in namespace.
func ParseDelete(arg, namespace string) (Ref, error) {
	kind, name, ok := strings.Cut(arg, "/")
	kind = strings.TrimSuffix(strings.ToLower(kind), ".security.istio.io")
	if !ok || name == "" || strings.Contains(name, "/") || deleteKinds[kind] == "" {
		return Ref{}, fmt.Errorf("--delete %q: give KIND/NAME, KIND being authorizationpolicy or peerauthentication (e.g. --delete authorizationpolicy/allow-legacy); the namespace is -n's", arg)
	}
	return Ref{Kind: deleteKinds[kind], Namespace: namespace, Name: name}, nil
}
