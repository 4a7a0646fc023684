package mesh

import (
	"context"
	"errors"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/doctor"
)

// What doctor reads besides Istio's objects.
var (
	Sidecars          = IstioResource{schema.GroupVersion{Group: "networking.istio.io", Version: "v1"}, "sidecars", "Sidecar"}
	Deployments       = IstioResource{schema.GroupVersion{Group: "apps", Version: "v1"}, "deployments", "Deployment"}
	StatefulSets      = IstioResource{schema.GroupVersion{Group: "apps", Version: "v1"}, "statefulsets", "StatefulSet"}
	DisruptionBudgets = IstioResource{schema.GroupVersion{Group: "policy", Version: "v1"}, "poddisruptionbudgets", "PodDisruptionBudget"}
	MutatingWebhooks  = IstioResource{schema.GroupVersion{Group: "admissionregistration.k8s.io", Version: "v1"}, "mutatingwebhookconfigurations", "MutatingWebhookConfiguration"}
)

// ReadDoctorInput reads, in one round of parallel requests, what doctor checks: in scope
// ("" for every namespace) the pods, StatefulSets and DestinationRules; everywhere the namespaces, the
// PeerAuthentications and Sidecars, istiod's and the ingress gateways' Deployments, the
// PodDisruptionBudgets, the mutating webhooks and the mesh config. A cluster without Istio's
// CRDs is a finding, not an error. What the user may not read is a warning, and the checks
// that need it are skipped rather than guessed.
func (c *Clients) ReadDoctorInput(ctx context.Context, scope string) (doctor.Input, []string, error) {
	in := doctor.Input{Scope: scope, IstioServed: true, Unknown: map[string]bool{}}
	w := warnings{namespace: scope}
	var mu sync.Mutex
	optional := func(what string, err error) error {
		if apierrors.IsForbidden(err) {
			w.add("you may not list %s: the checks that need them are skipped", what)
			mu.Lock()
			in.Unknown[what] = true
			mu.Unlock()
			return nil
		}
		return err
	}
	var controlPlane [2][]*unstructured.Unstructured
	reads := []func() error{
		func() error {
			err := c.listInto(ctx, PeerAuthentications, metav1.NamespaceAll, &in.PeerAuthentications)()
			var missing *ErrIstioNotInstalled
			if errors.As(err, &missing) {
				in.IstioServed = false
				return nil
			}
			return optional(doctor.PolicyReads, err)
		},
		func() error {
			err := c.listInto(ctx, DestinationRules, scope, &in.DestinationRules)()
			if apierrors.IsNotFound(err) {
				return nil // Istio missing: said once, above
			}
			return optional(DestinationRules.QualifiedName(), err)
		},
		func() error {
			err := c.listInto(ctx, Sidecars, metav1.NamespaceAll, &in.Sidecars)()
			if apierrors.IsNotFound(err) {
				return nil
			}
			return optional(doctor.SidecarReads, err)
		},
		func() error {
			list, err := c.Core.Namespaces().List(ctx, metav1.ListOptions{})
			if err == nil {
				in.Namespaces = list.Items
			}
			return optional("namespaces", err)
		},
		func() error {
			list, err := c.Core.Pods(scope).List(ctx, metav1.ListOptions{})
			if err == nil {
				in.Pods = list.Items
			}
			return err
		},
		func() error {
			return optional(doctor.ControlPlaneReads, c.listSelected(ctx, Deployments, "app=istiod", &controlPlane[0]))
		},
		func() error {
			return optional(doctor.ControlPlaneReads, c.listSelected(ctx, Deployments, "istio=ingressgateway", &controlPlane[1]))
		},
		func() error {
			return optional(StatefulSets.QualifiedName(), c.listInto(ctx, StatefulSets, scope, &in.StatefulSets)())
		},
		func() error {
			return optional(doctor.BudgetReads, c.listInto(ctx, DisruptionBudgets, metav1.NamespaceAll, &in.DisruptionBudgets)())
		},
		func() error {
			return optional(doctor.WebhookReads, c.listInto(ctx, MutatingWebhooks, metav1.NamespaceAll, &in.Webhooks)())
		},
		func() error {
			var problem string
			if in.Mesh, problem = c.MeshConfig(ctx); problem != "" {
				w.add("%s", problem)
			}
			return nil
		},
	}
	err := inParallel(reads...)
	in.ControlPlane = append(controlPlane[0], controlPlane[1]...)
	return in, w.sorted(), err
}

// listSelected lists r's objects in every namespace that match a label selector.
func (c *Clients) listSelected(ctx context.Context, r IstioResource, selector string, into *[]*unstructured.Unstructured) error {
	list, err := c.Dynamic.Resource(r.GVR()).Namespace(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err
	}
	for i := range list.Items {
		*into = append(*into, &list.Items[i])
	}
	return nil
}
