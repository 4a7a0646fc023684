package mesh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/canary"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// ReadCanaryInput reads what canary planning needs, in the service's namespace, in two rounds
// of parallel requests. First the Service, the namespace (its labels say whether it is
// ambient), the routes of both APIs, the DestinationRules, the namespace's Services and
// EndpointSlices (version Services and what is ready behind them), and its Argo Rollouts
// (one may drive the route); then what the first round
// names: the service's pods and, in ambient mode, the Gateways of the waypoint's namespace
// and the waypoints' GatewayClass.
// The count of requests does not grow with the namespace. No discovery request comes first:
// a cluster without Istio answers the list of VirtualServices 404, which says so.
// Warnings say what could not be read.
func (c *Clients) ReadCanaryInput(ctx context.Context, svc istio.Service) (canary.Input, []string, error) {
	in := canary.Input{Service: svc}
	w := warnings{namespace: svc.Namespace, unreadableMeans: "Gateway API routes for " + svc.Name + " are not considered"}
	if err := c.readCanaryNamespace(ctx, &in, &w); err != nil {
		return in, nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	if len(in.ServiceSelector) > 0 {
		g.Go(func() error {
			selector := labels.SelectorFromSet(in.ServiceSelector).String()
			list, err := c.Core.Pods(svc.Namespace).List(gctx, metav1.ListOptions{LabelSelector: selector})
			if err == nil {
				in.Pods = list.Items
			}
			return err
		})
	}
	ref, usesWaypoint := istio.UseWaypoint("Service", svc.Name, svc.Namespace, in.ServiceLabels, in.NamespaceLabels)
	var class waypointClass
	if usesWaypoint && istio.NamespaceIsAmbient(in.NamespaceLabels) {
		g.Go(c.listOptional(gctx, K8sGateways, ref.Namespace, &w, &in.Waypoints))
		g.Go(c.readWaypointClass(gctx, &class))
	}
	err := g.Wait()
	in.GatewayClasses = class.classes
	for _, gw := range in.Waypoints {
		if gw.GetName() == ref.Name {
			class.warn(&w, []*unstructured.Unstructured{gw})
		}
	}
	return in, w.sorted(), err
}

// readCanaryNamespace is the first round: everything of the namespace that does not depend
// on the Service. Errors are gathered, not raced: that Istio is missing explains the others.
func (c *Clients) readCanaryNamespace(ctx context.Context, in *canary.Input, w *warnings) error {
	svc := in.Service
	reads := []func() error{
		// The namespace first: of the errors, the first wins, and a namespace that does not
		// exist explains a Service not found in it.
		func() error { return c.readNamespaceLabels(ctx, in, w) },
		func() error { return c.readService(ctx, in) },
		c.listInto(ctx, VirtualServices, svc.Namespace, &in.VirtualServices),
		func() error {
			list, err := c.Networking.DestinationRules(svc.Namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return notServed(DestinationRules, err)
			}
			for i := range list.Items {
				in.DestinationRules = append(in.DestinationRules, list.Items[i])
			}
			return nil
		},
		func() error {
			list, err := c.Core.Services(svc.Namespace).List(ctx, metav1.ListOptions{})
			if err == nil {
				in.Services = list.Items
			}
			return err
		},
		func() error {
			list, err := c.EndpointSlice.EndpointSlices(svc.Namespace).List(ctx, metav1.ListOptions{})
			switch {
			case err == nil:
				in.EndpointSlices = list.Items
			case apierrors.IsForbidden(err):
				// Needed only to tell whether version Services have ready endpoints: the plan
				// refuses to send them traffic on that ground, unless --force.
				in.EndpointsUnreadable = true
				return nil
			}
			return err
		},
	}
	routes := make([][]*unstructured.Unstructured, 2)
	for i, r := range []IstioResource{HTTPRoutes, GRPCRoutes} {
		reads = append(reads, c.listOptional(ctx, r, svc.Namespace, w, &routes[i]))
	}
	reads = append(reads, func() error {
		err := c.listInto(ctx, ArgoRollouts, svc.Namespace, &in.Rollouts)()
		switch {
		case apierrors.IsNotFound(err): // Argo Rollouts is not installed
			return nil
		case apierrors.IsForbidden(err):
			w.add("you may not list %s in %s: an Argo Rollout that drives the route would go unseen", ArgoRollouts.QualifiedName(), svc.Namespace)
			return nil
		}
		return err
	})
	err := inParallel(reads...)
	in.Routes = append(routes[0], routes[1]...)
	return err
}

// inParallel runs reads at once and waits for all of them; of their errors, Istio's absence
// first.
func inParallel(reads ...func() error) error {
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, read := range reads {
		wg.Go(func() { errs[i] = read() })
	}
	wg.Wait()
	return IstioMissing(errs...)
}

// readService reads the Service, which must exist.
func (c *Clients) readService(ctx context.Context, in *canary.Input) error {
	svc := in.Service
	service, err := c.Core.Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("service %q not found in namespace %q:%s check the name (kubectl get services -n %s), or pick the namespace with -n",
			svc.Name, svc.Namespace, c.didYouMean(ctx, svc.Namespace, svc.Name), svc.Namespace)
	}
	if err != nil {
		return err
	}
	in.ServiceSelector, in.ServiceLabels = service.Spec.Selector, service.Labels
	for _, p := range service.Spec.Ports {
		in.ServicePorts = append(in.ServicePorts, p.Port)
	}
	return nil
}

// readNamespaceLabels reads the labels of the Service's namespace: whether it is ambient.
func (c *Clients) readNamespaceLabels(ctx context.Context, in *canary.Input, w *warnings) error {
	ns, err := c.Core.Namespaces().Get(ctx, in.Service.Namespace, metav1.GetOptions{})
	switch {
	case err == nil:
		in.NamespaceLabels = ns.Labels
	case apierrors.IsNotFound(err):
		return &NamespaceNotFoundError{Namespace: in.Service.Namespace}
	case apierrors.IsForbidden(err):
		w.add("you may not get namespace %s: whether it is in ambient mode (and needs a waypoint for a split) is not checked", in.Service.Namespace)
	default:
		return err
	}
	return nil
}

// listOptional lists r (of Gateway API, which a cluster may not serve) in namespace into
// *into: nothing when it is not installed, a warning when the user may not list it.
func (c *Clients) listOptional(ctx context.Context, r IstioResource, namespace string, w *warnings, into *[]*unstructured.Unstructured) func() error {
	return func() error {
		err := c.listInto(ctx, r, namespace, into)()
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case apierrors.IsForbidden(err):
			w.forbidden(&w.unreadable, r.QualifiedName())
			return nil
		}
		return err
	}
}

// PutBack undoes changes this writer made (After as stored), newest first, each putting back
// only what it did: how a change over several clusters is taken back from the clusters
// already written when a later one fails. done names what was put back; the error, what
// could not be.
func (w *Writer) PutBack(ctx context.Context, applied []change.Change) (done []string, err error) {
	var problems []string
	for i := len(applied) - 1; i >= 0; i-- {
		c := applied[i]
		if err := w.undo(ctx, c); err != nil {
			problems = append(problems, fmt.Sprintf("could not put back %s (%v): it stays %s", c.Ref(), Explain(err), c.Verb()))
			continue
		}
		done = append(done, c.Ref())
	}
	if len(problems) > 0 {
		return done, errors.New(strings.Join(problems, "; "))
	}
	return done, nil
}
