package mesh

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/lockdown"
)

// ReadLockdownInput reads what lockdown planning needs: the namespace (which must exist) and
// the mesh config, then in parallel the namespace's pods, services and security policies, the
// mesh-wide PeerAuthentications, and the Gateways and VirtualServices of all namespaces; last,
// the pods the Gateways routing into the namespace select and, when a waypoint leaves what it
// carries to its class, the waypoints' GatewayClass. The count of requests does not grow with
// the namespace's size. Warnings say what could not be read and what that leaves out.
func (c *Clients) ReadLockdownInput(ctx context.Context, namespace string) (lockdown.Input, []string, error) {
	in := lockdown.Input{Namespace: namespace}
	w := warnings{namespace: namespace}
	err := c.readNamespaceAndMesh(ctx, &in, &w)
	if err == nil {
		err = c.readPolicyObjects(ctx, &in, &w)
	}
	if err == nil {
		err = c.readGatewayPodsAndClass(ctx, &in, &w)
	}
	return in, w.sorted(), err
}

// readGatewayPodsAndClass is the last round: the gateways' pods and, when a waypoint leaves
// what it carries to its GatewayClass, that class.
func (c *Clients) readGatewayPodsAndClass(ctx context.Context, in *lockdown.Input, w *warnings) error {
	used := usedWaypoints(*in)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		in.GatewayPods, err = c.gatewayPods(gctx, *in)
		return err
	})
	var class waypointClass
	if len(waypointsLeavingTrafficToClass(used)) > 0 {
		g.Go(c.readWaypointClass(gctx, &class))
	}
	err := g.Wait()
	in.GatewayClasses = class.classes
	class.warn(w, used)
	return err
}

// warnings collects, from parallel reads, what could not be read.
type warnings struct {
	mu   sync.Mutex
	list []string
	// Resources the user may list in their namespace only, and Gateway API resources they
	// may not list at all: said in one line each, not one per resource.
	namespaceOnly, unreadable []string
	namespace                 string
	// unreadableMeans says what the unreadable resources leave out.
	unreadableMeans string
}

func (w *warnings) add(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, fmt.Sprintf(format, args...))
}

func (w *warnings) forbidden(into *[]string, resource string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	*into = append(*into, resource)
}

func (w *warnings) sorted() []string {
	if len(w.namespaceOnly) > 0 {
		sort.Strings(w.namespaceOnly)
		w.list = append(w.list, fmt.Sprintf("you may not list %s in all namespaces: only those in %s are considered for ingress gateway callers", strings.Join(w.namespaceOnly, ", "), w.namespace))
	}
	if len(w.unreadable) > 0 {
		sort.Strings(w.unreadable)
		means := w.unreadableMeans
		if means == "" {
			means = "Gateway API routes into " + w.namespace + " are not considered"
		}
		w.list = append(w.list, fmt.Sprintf("you may not list %s: %s", strings.Join(w.unreadable, ", "), means))
	}
	sort.Strings(w.list)
	return w.list
}

// readNamespaceAndMesh checks that the namespace exists and reads the mesh config, which says
// where mesh-wide policy lives.
func (c *Clients) readNamespaceAndMesh(ctx context.Context, in *lockdown.Input, w *warnings) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		ns, err := c.Core.Namespaces().Get(gctx, in.Namespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace %q not found: check the name (kubectl get namespaces)", in.Namespace)
		}
		if err == nil {
			in.NamespaceLabels = ns.Labels
		}
		return err
	})
	g.Go(func() error {
		var problem string
		if in.Mesh, problem = c.MeshConfig(gctx); problem != "" {
			w.add("%s", problem)
		}
		return nil
	})
	return g.Wait()
}

// readPolicyObjects reads, in parallel, the namespace's workloads and policies, the mesh-wide
// policies, and the routing objects of every namespace that may send ingress traffic into it.
func (c *Clients) readPolicyObjects(ctx context.Context, in *lockdown.Input, w *warnings) error {
	namespace, root := in.Namespace, in.Mesh.RootNamespace
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		list, err := c.Core.Pods(namespace).List(gctx, metav1.ListOptions{})
		if err == nil {
			in.Pods = list.Items
		}
		return err
	})
	g.Go(func() error {
		list, err := c.Core.Services(namespace).List(gctx, metav1.ListOptions{})
		if err == nil {
			in.Services = list.Items
		}
		return err
	})
	g.Go(c.listInto(gctx, PeerAuthentications, namespace, &in.PeerAuthentications))
	g.Go(c.listInto(gctx, AuthorizationPolicies, namespace, &in.AuthorizationPolicies))
	// Mesh-wide policy lives in the root namespace: without the right to read it, the lockdown
	// is planned without it, and the user told.
	for r, into := range map[IstioResource]*[]*unstructured.Unstructured{PeerAuthentications: &in.MeshPeerAuthentications, AuthorizationPolicies: &in.MeshAuthorizationPolicies} {
		g.Go(func() error {
			err := c.listInto(gctx, r, root, into)()
			if apierrors.IsForbidden(err) {
				w.add("you may not list %s in the root namespace %s: mesh-wide policy is left out", r.Resource, root)
				return nil
			}
			return err
		})
	}
	// What routes traffic in through gateways may live in any namespace.
	routes := make([][]*unstructured.Unstructured, len(RouteResources))
	for r, into := range map[IstioResource]*[]*unstructured.Unstructured{VirtualServices: &in.VirtualServices, Gateways: &in.Gateways, K8sGateways: &in.K8sGateways} {
		g.Go(c.listEverywhere(gctx, r, namespace, w, into))
	}
	for i, r := range RouteResources {
		g.Go(c.listEverywhere(gctx, r, namespace, w, &routes[i]))
	}
	// A route of another namespace reaches this one's Services only through a ReferenceGrant
	// here: without the right to read them, none is assumed (fewer ingress callers, never more).
	g.Go(func() error {
		err := c.listInto(gctx, ReferenceGrants, namespace, &in.ReferenceGrants)()
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case apierrors.IsForbidden(err):
			w.forbidden(&w.unreadable, ReferenceGrants.QualifiedName())
			return nil
		}
		return err
	})
	err := g.Wait()
	in.Routes = slices.Concat(routes...)
	return err
}

// listInto lists r in namespace into *into.
func (c *Clients) listInto(ctx context.Context, r IstioResource, namespace string, into *[]*unstructured.Unstructured) func() error {
	return func() (err error) {
		*into, err = c.ListIstio(ctx, r, namespace)
		return err
	}
}

// listEverywhere lists r in every namespace into *into. A user who may only read namespace
// gets its objects alone, with that said plainly. Gateway API is optional: a cluster without
// it (or without one of its route kinds) has none of its objects, and a user who may not read
// them is told what that leaves out.
func (c *Clients) listEverywhere(ctx context.Context, r IstioResource, namespace string, w *warnings, into *[]*unstructured.Unstructured) func() error {
	return func() error {
		err := c.listInto(ctx, r, metav1.NamespaceAll, into)()
		if apierrors.IsForbidden(err) {
			if err = c.listInto(ctx, r, namespace, into)(); err == nil {
				w.forbidden(&w.namespaceOnly, r.QualifiedName())
			}
		}
		if r.GroupVersion == K8sGateways.GroupVersion {
			switch {
			case apierrors.IsNotFound(err):
				return nil
			case apierrors.IsForbidden(err):
				w.forbidden(&w.unreadable, r.QualifiedName())
				return nil
			}
		}
		return err
	}
}

// gatewayPods lists, once per distinct selector, the pods of the Istio Gateways that
// VirtualServices bind to, and once the pods Istio deployed for Gateway API Gateways: their
// service accounts are the ingress identities to allow.
func (c *Clients) gatewayPods(ctx context.Context, in lockdown.Input) ([]corev1.Pod, error) {
	bound := map[string]bool{}
	for _, vs := range in.VirtualServices {
		gateways, _ := istio.VirtualServiceGateways(vs)
		for _, ref := range gateways {
			bound[ref] = true
		}
	}
	selectors := map[string]bool{}
	if len(in.K8sGateways) > 0 {
		selectors[istio.GatewayNameLabel] = true // every pod that has the label
	}
	for _, gw := range in.Gateways {
		selector, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector")
		if bound[gw.GetNamespace()+"/"+gw.GetName()] && len(selector) > 0 {
			selectors[labels.SelectorFromSet(selector).String()] = true
		}
	}
	var (
		mu   sync.Mutex
		pods []corev1.Pod
	)
	g, gctx := errgroup.WithContext(ctx)
	for selector := range selectors {
		g.Go(func() error {
			list, err := c.Core.Pods(metav1.NamespaceAll).List(gctx, metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				return fmt.Errorf("listing the ingress gateway's pods (%s) to allow its identity: %w", selector, err)
			}
			mu.Lock()
			defer mu.Unlock()
			pods = append(pods, list.Items...)
			return nil
		})
	}
	err := g.Wait()
	sort.Slice(pods, func(i, j int) bool { return pods[i].Namespace+"/"+pods[i].Name < pods[j].Namespace+"/"+pods[j].Name })
	return pods, err
}

// NamespaceExists reports whether namespace exists; used to check --allow-from.
func (c *Clients) NamespaceExists(ctx context.Context, namespace string) (bool, error) {
	_, err := c.Core.Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err):
		return false, nil
	}
	return false, err
}

// RevertApplied undoes changes ApplyAll made (as it returned them), newest first, with the
// machinery that reverts a failed ApplyAll: how a lockdown of several clusters puts back the
// clusters already written when a later one fails. The error wraps why and says what was put
// back and, when something could not be, what is in force and what to run.
func (w *Writer) RevertApplied(applied []change.Change, why error) error {
	return w.revert(applied, nil, why)
}

// LeftChanged tells whether a failed ApplyAll or RevertApplied left changes in force: its
// report then says what ("in force now: ...").
func LeftChanged(err error) bool {
	return err != nil && strings.Contains(err.Error(), "\nin force now: ")
}
