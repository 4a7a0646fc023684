package mesh

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/why"
)

// WhyQuery names the two ends of a request, as resolved from the command line.
type WhyQuery struct {
	Source      why.Ref
	Destination why.Ref
}

// ReadWhyInput reads what explaining one request needs, in two rounds of parallel reads
// whatever the namespaces' sizes: the mesh config; then the namespaces, their pods, the
// destination namespace's Services, EndpointSlices, routes (both APIs), DestinationRules,
// Gateways (waypoints) and security policies, and the root namespace's policies. A waypoint
// in another namespace costs one more list.
func (c *Clients) ReadWhyInput(ctx context.Context, q WhyQuery) (why.Input, []string, error) {
	in := why.Input{Namespace: q.Destination.Namespace}
	w := warnings{namespace: q.Destination.Namespace, unreadableMeans: "Gateway API routes and waypoints are not considered"}
	mc, problem := c.MeshConfig(ctx)
	if problem != "" {
		w.add("%s", problem)
	}
	in.Mesh = mc
	var srcPods, dstPods []corev1.Pod
	var srcLabels map[string]string
	reads := []func() error{
		c.namespaceLabels(ctx, q.Destination.Namespace, &in.NamespaceLabels),
		c.podsInto(ctx, q.Destination.Namespace, &dstPods),
		func() error {
			list, err := c.Core.Services(in.Namespace).List(ctx, metav1.ListOptions{})
			if err == nil {
				in.Services = list.Items
			}
			return err
		},
		func() error {
			list, err := c.EndpointSlice.EndpointSlices(in.Namespace).List(ctx, metav1.ListOptions{})
			if err == nil {
				in.EndpointSlices = list.Items
			}
			return forgiveForbidden(err, &w, "endpointslices")
		},
	}
	policyReads, gather := c.whyPolicyReads(ctx, &in, &w, q)
	reads = append(reads, policyReads...)
	if !q.Source.Outside && q.Source.Principal == "" {
		reads = append(reads, c.namespaceLabels(ctx, q.Source.Namespace, &srcLabels))
		if q.Source.Namespace != q.Destination.Namespace {
			reads = append(reads, c.podsInto(ctx, q.Source.Namespace, &srcPods))
		}
	}
	if err := inParallel(reads...); err != nil {
		return in, w.sorted(), err
	}
	gather()
	in.Pods = dstPods
	if q.Source.Namespace == q.Destination.Namespace {
		srcPods = dstPods
	}
	if err := why.Resolve(&in, q.Source, q.Destination, srcPods, srcLabels); err != nil {
		return in, w.sorted(), err
	}
	return in, w.sorted(), c.readRemoteWaypoints(ctx, &in, &w)
}

// whyPolicyReads are the routing and security lists of the destination's namespace (and the
// caller's VirtualServices and DestinationRules, which decide its routes and TLS), and what
// gathers their answers into in once they are all in.
func (c *Clients) whyPolicyReads(ctx context.Context, in *why.Input, w *warnings, q WhyQuery) ([]func() error, func()) {
	ns, root := q.Destination.Namespace, in.Mesh.RootNamespace
	namespaces := []string{ns}
	if src := q.Source.Namespace; src != "" && src != ns && !q.Source.Outside && q.Source.Principal == "" {
		namespaces = append(namespaces, src)
	}
	vs := make([][]*unstructured.Unstructured, len(namespaces))
	drs := make([][]*networkingv1.DestinationRule, len(namespaces))
	var reads []func() error
	for i, n := range namespaces {
		reads = append(reads, c.listInto(ctx, VirtualServices, n, &vs[i]), func() error {
			list, err := c.Networking.DestinationRules(n).List(ctx, metav1.ListOptions{})
			if err != nil {
				return notServed(DestinationRules, err)
			}
			drs[i] = list.Items
			return nil
		})
	}
	var routes, pas, aps [2][]*unstructured.Unstructured
	reads = append(reads,
		c.listOptional(ctx, HTTPRoutes, ns, w, &routes[0]), c.listOptional(ctx, GRPCRoutes, ns, w, &routes[1]),
		c.listOptional(ctx, K8sGateways, ns, w, &in.Waypoints),
		c.listInto(ctx, PeerAuthentications, ns, &pas[0]), c.listInto(ctx, AuthorizationPolicies, ns, &aps[0]))
	if root != ns {
		reads = append(reads, c.listInto(ctx, PeerAuthentications, root, &pas[1]), c.listInto(ctx, AuthorizationPolicies, root, &aps[1]))
	}
	return reads, func() {
		in.VirtualServices = slices.Concat(vs...)
		in.DestinationRules = slices.Concat(drs...)
		in.Routes = slices.Concat(routes[:]...)
		in.PeerAuthentications = slices.Concat(pas[:]...)
		in.AuthorizationPolicies = slices.Concat(aps[:]...)
	}
}

// readRemoteWaypoints lists the Gateways of the namespace of a waypoint the destination uses
// from another namespace (istio.io/use-waypoint-namespace).
func (c *Clients) readRemoteWaypoints(ctx context.Context, in *why.Input, w *warnings) error {
	namespace := why.WaypointNamespace(*in)
	if namespace == "" || namespace == in.Namespace {
		return nil
	}
	var more []*unstructured.Unstructured
	if err := c.listOptional(ctx, K8sGateways, namespace, w, &more)(); err != nil {
		return err
	}
	in.Waypoints = append(in.Waypoints, more...)
	return nil
}

func (c *Clients) namespaceLabels(ctx context.Context, namespace string, into *map[string]string) func() error {
	return func() error {
		ns, err := c.Core.Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return &NamespaceNotFoundError{Namespace: namespace}
		}
		if err == nil {
			*into = ns.Labels
		}
		return err
	}
}

func (c *Clients) podsInto(ctx context.Context, namespace string, into *[]corev1.Pod) func() error {
	return func() error {
		list, err := c.Core.Pods(namespace).List(ctx, metav1.ListOptions{})
		if err == nil {
			*into = list.Items
		}
		return err
	}
}

func forgiveForbidden(err error, w *warnings, resource string) error {
	if apierrors.IsForbidden(err) {
		w.add("you may not list %s: which versions have ready endpoints is read from pods only", resource)
		return nil
	}
	return err
}
