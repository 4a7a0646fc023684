package mesh

import (
	"context"
	"errors"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
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

// controlPlaneSelectors pick the Deployments of the control plane doctor judges: istiod, and
// ingress gateways installed by istioctl or the gateway chart, or by istiod for a Gateway API
// Gateway.
var controlPlaneSelectors = []string{"app=istiod", "istio=ingressgateway", doctor.GatewayManagedLabel + "=" + doctor.ManagedGateway}

// ReadDoctorInput reads, in one round of parallel requests, what doctor checks: in scope ("" for
// every namespace) the pods, StatefulSets and DestinationRules; everywhere the namespaces, the
// PeerAuthentications and Sidecars, the control plane's Deployments, the PodDisruptionBudgets,
// the mutating webhooks and the mesh config. A cluster without Istio's CRDs is a finding, not
// an error; so is a scope that names no namespace. What the user may not read is a warning,
// and the checks that need it are skipped rather than guessed.
func (c *Clients) ReadDoctorInput(ctx context.Context, scope string) (doctor.Input, []string, error) {
	r := doctorReads{in: doctor.Input{Scope: scope, IstioServed: true, Unknown: map[string]bool{}}, w: &warnings{namespace: scope}}
	in := &r.in
	controlPlane := make([][]*unstructured.Unstructured, len(controlPlaneSelectors))
	reads := []func() error{
		func() error {
			err := c.listInto(ctx, PeerAuthentications, metav1.NamespaceAll, &in.PeerAuthentications)()
			var missing *ErrIstioNotInstalled
			if errors.As(err, &missing) {
				in.IstioServed = false
				return nil
			}
			return r.optional(doctor.PolicyReads, err)
		},
		r.servedOptional(DestinationRules.QualifiedName(), c.listInto(ctx, DestinationRules, scope, &in.DestinationRules)),
		r.servedOptional(doctor.SidecarReads, c.listInto(ctx, Sidecars, metav1.NamespaceAll, &in.Sidecars)),
		func() error {
			list, err := c.Core.Namespaces().List(ctx, metav1.ListOptions{})
			if err == nil {
				in.Namespaces = list.Items
			}
			return r.optional("namespaces", err)
		},
		func() error {
			list, err := c.Core.Pods(scope).List(ctx, metav1.ListOptions{})
			if err == nil {
				in.Pods = list.Items
			}
			return err
		},
		r.servedOptional(StatefulSets.QualifiedName(), c.listInto(ctx, StatefulSets, scope, &in.StatefulSets)),
		r.servedOptional(doctor.BudgetReads, c.listInto(ctx, DisruptionBudgets, metav1.NamespaceAll, &in.DisruptionBudgets)),
		r.servedOptional(doctor.WebhookReads, c.listInto(ctx, MutatingWebhooks, metav1.NamespaceAll, &in.Webhooks)),
		func() error {
			var problem string
			if in.Mesh, problem = c.MeshConfig(ctx); problem != "" {
				r.w.add("%s", problem)
			}
			return nil
		},
	}
	for i, selector := range controlPlaneSelectors {
		reads = append(reads, func() error {
			return r.optional(doctor.ControlPlaneReads, c.listSelected(ctx, Deployments, selector, &controlPlane[i]))
		})
	}
	err := inParallel(reads...)
	in.ControlPlane = slices.Concat(controlPlane...)
	if err == nil && scope != "" && !in.Unknown["namespaces"] && !slices.ContainsFunc(in.Namespaces, func(ns corev1.Namespace) bool { return ns.Name == scope }) {
		err = &NamespaceNotFoundError{Namespace: scope}
	}
	return r.in, r.w.sorted(), err
}

// doctorReads gathers doctor's parallel reads and what they could not read.
type doctorReads struct {
	in doctor.Input
	w  *warnings
	mu sync.Mutex
}

// optional turns a forbidden read into a warning and an unknown: the checks needing it skip.
func (r *doctorReads) optional(what string, err error) error {
	if !apierrors.IsForbidden(err) {
		return err
	}
	r.w.add("you may not list %s: the checks that need them are skipped", what)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.in.Unknown[what] = true
	return nil
}

// servedOptional is read, optional, and empty where its API is not served: Istio missing is
// said once, by the PeerAuthentications' read.
func (r *doctorReads) servedOptional(what string, read func() error) func() error {
	return func() error {
		err := read()
		if apierrors.IsNotFound(err) {
			return nil
		}
		return r.optional(what, err)
	}
}

// listSelected lists r's objects in every namespace that match a label selector.
func (c *Clients) listSelected(ctx context.Context, r IstioResource, selector string, into *[]*unstructured.Unstructured) (err error) {
	*into, err = c.list(ctx, r, metav1.NamespaceAll, metav1.ListOptions{LabelSelector: selector})
	return err
}
