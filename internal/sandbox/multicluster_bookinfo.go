package sandbox

import (
	"context"
	"fmt"

	apinetworking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// LoadTwoClusterBookinfo splits bookinfo over two clusters, in namespace default of each
// (namespace sameness: one namespace): east runs productpage, details, ratings, reviews v1 and
// v2 and ratings' database; west runs reviews v3 (slower, as in one cluster) and a ratings for
// it. So productpage's calls to reviews reach v3 across the clusters. Both primaries hold the
// same configuration, as Istio's multi-cluster guides ask, so that nothing drifts: an ingress
// gateway with bookinfo's Gateway and VirtualService (the sandbox's traffic enters through
// east's), the same DestinationRules (reviews names v1, v2 and v3), and every Service, with
// no endpoints where the app does not run.
func LoadTwoClusterBookinfo(ctx context.Context, east, west *testcluster.Fixture) error {
	for _, f := range []*testcluster.Fixture{east, west} {
		if err := f.EnsureNamespace(ctx, "default", map[string]string{"istio-injection": "enabled"}); err != nil {
			return err
		}
		if err := f.LoadIngressGateway(ctx); err != nil {
			return err
		}
	}
	var inEast, inWest []testcluster.Workload
	for _, w := range testcluster.Bookinfo {
		switch {
		case w.App == "reviews" && w.Version == "v3":
			w.Annotations = map[string]string{sim.LatencyAnnotation: "45"}
			inWest = append(inWest, w)
		case w.App == "ratings":
			inEast, inWest = append(inEast, w), append(inWest, w)
		default:
			inEast = append(inEast, w)
		}
	}
	inEast = append(inEast, testcluster.Workload{App: "mongodb", Version: "v1", ServiceAccount: "bookinfo-mongodb", Replicas: 1, Ready: 1, Port: 27017, TCP: true, StatefulSet: true})
	if err := east.LoadApp(ctx, "default", inEast...); err != nil {
		return fmt.Errorf("east: %w", err)
	}
	if err := west.LoadApp(ctx, "default", inWest...); err != nil {
		return fmt.Errorf("west: %w", err)
	}
	for _, f := range []*testcluster.Fixture{east, west} {
		if err := f.LoadBookinfoGateway(ctx, "default"); err != nil {
			return err
		}
	}
	if err := mirrorServices(ctx, east, west, "default"); err != nil {
		return err
	}
	for _, f := range []*testcluster.Fixture{east, west} {
		if err := setSubsets(ctx, f, "default", "reviews", "v1", "v2", "v3"); err != nil {
			return err
		}
	}
	return mirrorDestinationRules(ctx, east, west, "default")
}

// setSubsets makes the DestinationRule of host name in ns hold one subset per version.
func setSubsets(ctx context.Context, f *testcluster.Fixture, ns, name string, versions ...string) error {
	drs := f.Istio.NetworkingV1().DestinationRules(ns)
	dr, err := drs.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("destinationrule %s/%s: %w", ns, name, err)
	}
	dr.Spec.Subsets = nil
	for _, v := range versions {
		dr.Spec.Subsets = append(dr.Spec.Subsets, &apinetworking.Subset{Name: v, Labels: map[string]string{"version": v}})
	}
	if _, err := drs.Update(ctx, dr, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("destinationrule %s/%s: %w", ns, name, err)
	}
	return nil
}

// mirrorServices creates in to every Service of from's ns that to lacks, with the same
// selector and ports and no endpoints.
func mirrorServices(ctx context.Context, from, to *testcluster.Fixture, ns string) error {
	list, err := from.Kube.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, svc := range list.Items {
		if svc.Name == "kubernetes" {
			continue
		}
		copied := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Labels: svc.Labels},
			Spec:       corev1.ServiceSpec{Selector: svc.Spec.Selector, Ports: svc.Spec.Ports},
		}
		if _, err := to.Kube.CoreV1().Services(ns).Create(ctx, copied, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("service %s/%s: %w", ns, svc.Name, err)
		}
	}
	return nil
}

// mirrorDestinationRules makes to's DestinationRules in ns the same as from's.
func mirrorDestinationRules(ctx context.Context, from, to *testcluster.Fixture, ns string) error {
	list, err := from.Istio.NetworkingV1().DestinationRules(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	drs := to.Istio.NetworkingV1().DestinationRules(ns)
	for _, dr := range list.Items {
		existing, err := drs.Get(ctx, dr.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			copied := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: dr.Name}}
			dr.Spec.DeepCopyInto(&copied.Spec)
			_, err = drs.Create(ctx, copied, metav1.CreateOptions{})
		case err == nil:
			dr.Spec.DeepCopyInto(&existing.Spec)
			_, err = drs.Update(ctx, existing, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("destinationrule %s/%s in the second cluster: %w", ns, dr.Name, err)
		}
	}
	return nil
}
