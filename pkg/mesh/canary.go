package mesh

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/canary"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// ReadCanaryInput reads what canary planning needs, in the service's namespace, with four
// requests: the Service, then its VirtualServices, DestinationRules and pods in parallel.
func (c *Clients) ReadCanaryInput(ctx context.Context, svc istio.Service) (canary.Input, error) {
	in := canary.Input{Service: svc}
	service, err := c.Core.Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return in, fmt.Errorf("service %q not found in namespace %q: check the name, or pick the namespace with -n", svc.Name, svc.Namespace)
	}
	if err != nil {
		return in, err
	}
	in.ServiceSelector = service.Spec.Selector

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		list, err := c.Dynamic.Resource(VirtualServices.GVR()).Namespace(svc.Namespace).List(gctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for i := range list.Items {
			in.VirtualServices = append(in.VirtualServices, &list.Items[i])
		}
		return nil
	})
	g.Go(func() error {
		list, err := c.Networking.DestinationRules(svc.Namespace).List(gctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for i := range list.Items {
			in.DestinationRules = append(in.DestinationRules, list.Items[i])
		}
		return nil
	})
	if len(service.Spec.Selector) > 0 {
		g.Go(func() error {
			selector := labels.SelectorFromSet(service.Spec.Selector).String()
			list, err := c.Core.Pods(svc.Namespace).List(gctx, metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				return err
			}
			in.Pods = list.Items
			return nil
		})
	}
	return in, g.Wait()
}
