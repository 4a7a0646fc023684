package mesh

import (
	"context"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/whatif"
)

// ReadWhatIfInput reads what a what-if replays against, in two rounds of parallel requests
// whatever the namespaces' size: the namespaces (each must exist; nil: every namespace) and
// the mesh config; then their pods, Services, AuthorizationPolicies and PeerAuthentications,
// and the root namespace's policies, which apply mesh-wide. Warnings say what could not be
// read and what that leaves out.
func (c *Clients) ReadWhatIfInput(ctx context.Context, namespaces []string) (whatif.Cluster, whatif.Policies, []string, error) {
	cluster := whatif.Cluster{NamespaceLabels: map[string]map[string]string{}}
	var policies whatif.Policies
	w := &warnings{}
	if err := c.readWhatIfNamespaces(ctx, namespaces, &cluster, w); err != nil {
		return cluster, policies, w.sorted(), err
	}
	scopes := namespaces
	if scopes == nil {
		scopes = []string{metav1.NamespaceAll}
	}
	var mu sync.Mutex
	add := func(into *[]*unstructured.Unstructured, list []*unstructured.Unstructured) {
		mu.Lock()
		defer mu.Unlock()
		*into = append(*into, list...)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, ns := range scopes {
		g.Go(func() error {
			list, err := c.Core.Pods(ns).List(gctx, metav1.ListOptions{})
			if err == nil {
				mu.Lock()
				defer mu.Unlock()
				cluster.Pods = append(cluster.Pods, list.Items...)
			}
			return err
		})
		g.Go(func() error {
			list, err := c.Core.Services(ns).List(gctx, metav1.ListOptions{})
			if err == nil {
				mu.Lock()
				defer mu.Unlock()
				cluster.Services = append(cluster.Services, list.Items...)
			}
			return err
		})
	}
	root := cluster.Mesh.RootNamespace
	for r, into := range map[IstioResource]*[]*unstructured.Unstructured{AuthorizationPolicies: &policies.AuthorizationPolicies, PeerAuthentications: &policies.PeerAuthentications} {
		for _, ns := range scopes {
			g.Go(func() error {
				list, err := c.ListIstio(gctx, r, ns)
				add(into, list)
				return err
			})
		}
		if namespaces != nil && !slices.Contains(namespaces, root) {
			// Mesh-wide policy: without the right to read it, replayed without it, and said.
			g.Go(func() error {
				list, err := c.ListIstio(gctx, r, root)
				if apierrors.IsForbidden(err) {
					w.add("you may not list %s in the root namespace %s: mesh-wide policy is left out of the replay", r.Resource, root)
					return nil
				}
				add(into, list)
				return err
			})
		}
	}
	err := g.Wait()
	return cluster, policies, w.sorted(), err
}

// readWhatIfNamespaces reads the namespaces' labels (each named must exist) and the mesh
// config, at once.
func (c *Clients) readWhatIfNamespaces(ctx context.Context, namespaces []string, cluster *whatif.Cluster, w *warnings) error {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var problem string
		// A read cut short because another failed says nothing of the mesh config.
		if cluster.Mesh, problem = c.MeshConfig(gctx); problem != "" && gctx.Err() == nil {
			w.add("%s", problem)
		}
		return nil
	})
	if namespaces == nil {
		g.Go(func() error {
			list, err := c.Core.Namespaces().List(gctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, ns := range list.Items {
				cluster.NamespaceLabels[ns.Name] = ns.Labels
			}
			return nil
		})
	}
	for _, name := range namespaces {
		g.Go(func() error {
			ns, err := c.Core.Namespaces().Get(gctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				return &NamespaceNotFoundError{Namespace: name}
			case apierrors.IsForbidden(err):
				// A role bound in the namespace alone: its own reads say what they can.
				w.add("you may not get namespace %s: its labels (ambient mode, waypoint) are taken to be none", name)
				return nil
			case err == nil:
				mu.Lock()
				defer mu.Unlock()
				cluster.NamespaceLabels[name] = ns.Labels
			}
			return err
		})
	}
	return g.Wait()
}
