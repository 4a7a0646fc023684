package mesh

import (
	"context"
	"fmt"
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
	r, w, err := c.readWhy(ctx, q, false)
	if err != nil {
		return r.in, w.sorted(), err
	}
	if err := why.Resolve(&r.in, q.Source, q.Destination, r.srcPods, r.srcLabels); err != nil {
		return r.in, w.sorted(), err
	}
	return r.in, w.sorted(), c.readRemoteWaypoints(ctx, &r.in, w)
}

// ReadWhyCluster reads one cluster of a multi-cluster mesh as ReadWhyInput does, except that
// an end the cluster does not hold (its namespace, Service or pods) is said in the result,
// not an error: a workload may run in some clusters only.
func (c *Clients) ReadWhyCluster(ctx context.Context, q WhyQuery) (why.ClusterInput, []string, error) {
	var out why.ClusterInput
	r, w, err := c.readWhy(ctx, q, true)
	out.Input = r.in
	if err != nil {
		return out, w.sorted(), err
	}
	out.NoSource, out.NoDestination = why.ResolveEnds(&out.Input, q.Source, q.Destination, r.srcPods, r.srcLabels)
	if r.srcMissing {
		out.NoSource = fmt.Sprintf("no namespace %s", q.Source.Namespace)
	}
	if r.dstMissing {
		out.NoDestination = fmt.Sprintf("no namespace %s", q.Destination.Namespace)
		return out, w.sorted(), nil
	}
	return out, w.sorted(), c.readRemoteWaypoints(ctx, &out.Input, w)
}

// whyRead is what ReadWhyInput reads before it resolves the request's ends; with missing
// namespaces tolerated, which of the two were not found.
type whyRead struct {
	in                     why.Input
	srcPods                []corev1.Pod
	srcLabels              map[string]string
	srcMissing, dstMissing bool
}

func (c *Clients) readWhy(ctx context.Context, q WhyQuery, tolerateMissing bool) (whyRead, *warnings, error) {
	r := whyRead{in: why.Input{Namespace: q.Destination.Namespace}}
	in := &r.in
	w := &warnings{namespace: q.Destination.Namespace, unreadableMeans: "Gateway API routes and waypoints are not considered"}
	mc, problem := c.MeshConfig(ctx)
	if problem != "" {
		w.add("%s", problem)
	}
	in.Mesh = mc
	missing := func(b *bool) *bool {
		if tolerateMissing {
			return b
		}
		return nil
	}
	var dstPods []corev1.Pod
	reads := []func() error{
		c.namespaceLabels(ctx, q.Destination.Namespace, &in.NamespaceLabels, missing(&r.dstMissing)),
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
			return forgiveForbidden(err, w, "endpointslices")
		},
	}
	policyReads, gather := c.whyPolicyReads(ctx, in, w, q)
	reads = append(reads, policyReads...)
	if !q.Source.Outside && q.Source.Principal == "" {
		reads = append(reads, c.namespaceLabels(ctx, q.Source.Namespace, &r.srcLabels, missing(&r.srcMissing)))
		if q.Source.Namespace != q.Destination.Namespace {
			reads = append(reads, c.podsInto(ctx, q.Source.Namespace, &r.srcPods))
		}
	}
	if err := inParallel(reads...); err != nil {
		return r, w, err
	}
	gather()
	in.Pods = dstPods
	if q.Source.Namespace == q.Destination.Namespace {
		r.srcPods = dstPods
	}
	return r, w, nil
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

// namespaceLabels reads a namespace's labels; one not found is an error, or, given missing,
// said there.
func (c *Clients) namespaceLabels(ctx context.Context, namespace string, into *map[string]string, missing *bool) func() error {
	return func() error {
		ns, err := c.Core.Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && missing != nil {
			*missing = true
			return nil
		}
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
