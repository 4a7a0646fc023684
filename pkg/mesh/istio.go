package mesh

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Istio resources the plugins depend on, by the API version we speak (networking.istio.io/v1
// and security.istio.io/v1 are served since Istio 1.22).
var (
	VirtualServices       = IstioResource{schema.GroupVersion{Group: "networking.istio.io", Version: "v1"}, "virtualservices", "VirtualService"}
	Gateways              = IstioResource{schema.GroupVersion{Group: "networking.istio.io", Version: "v1"}, "gateways", "Gateway"}
	DestinationRules      = IstioResource{schema.GroupVersion{Group: "networking.istio.io", Version: "v1"}, "destinationrules", "DestinationRule"}
	PeerAuthentications   = IstioResource{schema.GroupVersion{Group: "security.istio.io", Version: "v1"}, "peerauthentications", "PeerAuthentication"}
	AuthorizationPolicies = IstioResource{schema.GroupVersion{Group: "security.istio.io", Version: "v1"}, "authorizationpolicies", "AuthorizationPolicy"}

	// Gateway API, which Istio implements: Gateways and the routes that attach to them (or,
	// for mesh traffic, to Services).
	gatewayAPI  = schema.GroupVersion{Group: "gateway.networking.k8s.io", Version: "v1"}
	K8sGateways = IstioResource{gatewayAPI, "gateways", "Gateway"}
	HTTPRoutes  = IstioResource{gatewayAPI, "httproutes", "HTTPRoute"}
	GRPCRoutes  = IstioResource{gatewayAPI, "grpcroutes", "GRPCRoute"}
	TLSRoutes   = IstioResource{gatewayAPI, "tlsroutes", "TLSRoute"}
	TCPRoutes   = IstioResource{gatewayAPI, "tcproutes", "TCPRoute"}
	// ReferenceGrants let routes of other namespaces send to a namespace's Services (v1beta1:
	// served by every Gateway API release that has them).
	ReferenceGrants = IstioResource{schema.GroupVersion{Group: "gateway.networking.k8s.io", Version: "v1beta1"}, "referencegrants", "ReferenceGrant"}
)

// ArgoRollouts are Argo Rollouts' Rollouts, read (where served) to find one that drives a
// route's weights.
var ArgoRollouts = IstioResource{schema.GroupVersion{Group: "argoproj.io", Version: "v1alpha1"}, "rollouts", "Rollout"}

// RouteResources are the Gateway API route kinds that can attach to a Gateway.
var RouteResources = []IstioResource{HTTPRoutes, GRPCRoutes, TLSRoutes, TCPRoutes}

// IstioResource names one custom resource of Istio (or of Gateway API, which Istio
// implements) as the API server serves it.
type IstioResource struct {
	GroupVersion schema.GroupVersion
	Resource     string
	Kind         string
}

// ErrIstioNotInstalled is returned when the cluster lacks an Istio API we need: the API
// server answered 404 to a list of it (a list of a resource it serves is never 404). No
// discovery request is made beforehand; the first request for Istio's objects tells.
type ErrIstioNotInstalled struct {
	Missing IstioResource
	err     error // the API server's answer
}

func (e *ErrIstioNotInstalled) Error() string {
	return fmt.Sprintf("Istio is not installed in this cluster (the API server does not serve %s %s): "+
		"install Istio with `istioctl install`, or check that --context names the right cluster",
		e.Missing.GroupVersion, e.Missing.Kind)
}

// Unwrap keeps the API server's answer: apierrors.IsNotFound still holds, for the callers to
// whom a missing Gateway API is no error.
func (e *ErrIstioNotInstalled) Unwrap() error { return e.err }

// notServed turns the 404 of a list of r into ErrIstioNotInstalled.
func notServed(r IstioResource, err error) error {
	if apierrors.IsNotFound(err) {
		return &ErrIstioNotInstalled{Missing: r, err: err}
	}
	return err
}

// IstioMissing is the first ErrIstioNotInstalled among errs, else the first error: when
// parallel reads fail, that Istio is missing explains the rest.
func IstioMissing(errs ...error) error {
	var first error
	for _, err := range errs {
		var missing *ErrIstioNotInstalled
		if errors.As(err, &missing) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// QualifiedName is the resource as kubectl names it unambiguously: gateways.networking.istio.io.
func (r IstioResource) QualifiedName() string {
	return r.Resource + "." + r.GroupVersion.Group
}

// GVR is the resource's group, version and resource name, for the dynamic client.
func (r IstioResource) GVR() schema.GroupVersionResource {
	return r.GroupVersion.WithResource(r.Resource)
}

// GVK is the resource's kind, for printing.
func (r IstioResource) GVK() schema.GroupVersionKind {
	return r.GroupVersion.WithKind(r.Kind)
}

// ResourceFor is the Istio resource that serves objects of gvk.
func ResourceFor(gvk schema.GroupVersionKind) (IstioResource, bool) {
	for _, r := range []IstioResource{VirtualServices, Gateways, DestinationRules, PeerAuthentications, AuthorizationPolicies, HTTPRoutes, GRPCRoutes} {
		if r.GVK() == gvk {
			return r, true
		}
	}
	return IstioResource{}, false
}

// ListIstio lists one resource as unstructured objects (metav1.NamespaceAll: every namespace).
func (c *Clients) ListIstio(ctx context.Context, r IstioResource, namespace string) ([]*unstructured.Unstructured, error) {
	out, err := c.list(ctx, r, namespace, metav1.ListOptions{})
	if err != nil {
		return nil, notServed(r, err)
	}
	return out, nil
}

// list lists r's objects in namespace ("" for all) that opts select.
func (c *Clients) list(ctx context.Context, r IstioResource, namespace string, opts metav1.ListOptions) ([]*unstructured.Unstructured, error) {
	list, err := c.Dynamic.Resource(r.GVR()).Namespace(namespace).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}
