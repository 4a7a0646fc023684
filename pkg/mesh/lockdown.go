package mesh

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/lockdown"
)

// ReadLockdownInput reads what lockdown planning needs: the namespace (which must exist) and
// the mesh config, then in parallel the namespace's pods, services and security policies, the
// mesh-wide PeerAuthentications, and the Gateways and VirtualServices of all namespaces; last,
// the pods the Gateways routing into the namespace select. The count of requests does not grow
// with the namespace's size. Warnings say what could not be read and what that leaves out.
func (c *Clients) ReadLockdownInput(ctx context.Context, namespace string) (lockdown.Input, []string, error) {
	in := lockdown.Input{Namespace: namespace}
	var w warnings
	err := c.readNamespaceAndMesh(ctx, &in, &w)
	if err == nil {
		err = c.readPolicyObjects(ctx, &in, &w)
	}
	if err == nil {
		in.GatewayPods, err = c.gatewayPods(ctx, in)
	}
	return in, w.sorted(), err
}

// warnings collects, from parallel reads, what could not be read.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) add(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, fmt.Sprintf(format, args...))
}

func (w *warnings) sorted() []string {
	sort.Strings(w.list)
	return w.list
}

// readNamespaceAndMesh checks that the namespace exists and reads the mesh config, which says
// where mesh-wide policy lives.
func (c *Clients) readNamespaceAndMesh(ctx context.Context, in *lockdown.Input, w *warnings) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		_, err := c.Core.Namespaces().Get(gctx, in.Namespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace %q not found: check the name (kubectl get namespaces)", in.Namespace)
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
// PeerAuthentications, and the routing objects of every namespace that may send ingress
// traffic into it.
func (c *Clients) readPolicyObjects(ctx context.Context, in *lockdown.Input, w *warnings) error {
	namespace := in.Namespace
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
	g.Go(func() (err error) {
		in.PeerAuthentications, err = c.ListIstio(gctx, PeerAuthentications, namespace)
		return err
	})
	g.Go(func() (err error) {
		in.AuthorizationPolicies, err = c.ListIstio(gctx, AuthorizationPolicies, namespace)
		return err
	})
	g.Go(func() error {
		list, err := c.ListIstio(gctx, PeerAuthentications, in.Mesh.RootNamespace)
		if err != nil && !apierrors.IsForbidden(err) {
			return err
		}
		in.MeshPeerAuthentications = list
		return nil
	})
	// Gateways and the VirtualServices bound to them may live in any namespace. A user who
	// may only read their own namespace still gets a lockdown, with that said plainly.
	for _, list := range []struct {
		resource IstioResource
		into     *[]*unstructured.Unstructured
	}{{VirtualServices, &in.VirtualServices}, {Gateways, &in.Gateways}} {
		g.Go(func() error {
			objects, err := c.ListIstio(gctx, list.resource, metav1.NamespaceAll)
			if apierrors.IsForbidden(err) {
				w.add("you may not list %s in all namespaces: only those in %s are considered for ingress gateway callers", list.resource.Resource, namespace)
				objects, err = c.ListIstio(gctx, list.resource, namespace)
			}
			*list.into = objects
			return err
		})
	}
	return g.Wait()
}

// ListIstio lists one Istio resource as unstructured objects (metav1.NamespaceAll: every
// namespace).
func (c *Clients) ListIstio(ctx context.Context, r IstioResource, namespace string) ([]*unstructured.Unstructured, error) {
	list, err := c.Dynamic.Resource(r.GVR()).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// gatewayPods lists, once per distinct selector, the pods of the Gateways that VirtualServices
// bind to: their service accounts are the ingress identities to allow.
func (c *Clients) gatewayPods(ctx context.Context, in lockdown.Input) ([]corev1.Pod, error) {
	bound := map[string]bool{}
	for _, vs := range in.VirtualServices {
		names, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "gateways")
		for _, n := range names {
			if !strings.Contains(n, "/") {
				n = vs.GetNamespace() + "/" + n
			}
			bound[n] = true
		}
	}
	selectors := map[string]bool{}
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
