package mesh

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/doctor"
)

// ReadClusterDoctorInput reads what doctor checks in one cluster of a mesh: ReadDoctorInput's
// objects and, beside them in parallel, what the drift checks compare between clusters: the
// VirtualServices, HTTPRoutes and AuthorizationPolicies in scope, and everywhere the Gateways
// (Istio's and Gateway API's) and the east-west gateways' Deployments and Services. Kinds the
// cluster does not serve are empty; those the user may not read are warnings and unknowns.
func (c *Clients) ReadClusterDoctorInput(ctx context.Context, scope string) (doctor.Input, doctor.DriftInput, []string, error) {
	var (
		in       doctor.Input
		warned   []string
		err      error
		wg       sync.WaitGroup
		drift    doctor.DriftInput
		eastWest [2][]*unstructured.Unstructured
	)
	wg.Go(func() { in, warned, err = c.ReadDoctorInput(ctx, scope) })
	r := doctorReads{in: doctor.Input{Unknown: map[string]bool{}}, w: &warnings{namespace: scope}}
	driftErr := inParallel(
		r.servedOptional(doctor.RouteReads, c.listInto(ctx, VirtualServices, scope, &drift.VirtualServices)),
		r.servedOptional(doctor.RouteReads, c.listInto(ctx, HTTPRoutes, scope, &drift.HTTPRoutes)),
		r.servedOptional(doctor.AuthzReads, c.listInto(ctx, AuthorizationPolicies, scope, &drift.AuthorizationPolicies)),
		r.servedOptional(doctor.GatewayReads, c.listInto(ctx, K8sGateways, metav1.NamespaceAll, &drift.Gateways)),
		r.servedOptional(doctor.GatewayReads, c.listInto(ctx, Gateways, metav1.NamespaceAll, &drift.IstioGateways)),
		r.servedOptional(doctor.EastWestReads, func() error {
			return c.listSelected(ctx, Deployments, doctor.EastWestLabel, &eastWest[0])
		}),
		r.servedOptional(doctor.EastWestReads, func() error {
			list, err := c.Core.Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: doctor.EastWestLabel})
			if err == nil && len(list.Items) > 0 {
				eastWest[1] = append(eastWest[1], &unstructured.Unstructured{Object: map[string]any{"kind": "Service",
					"metadata": map[string]any{"name": list.Items[0].Name, "namespace": list.Items[0].Namespace}}})
			}
			return err
		}),
	)
	wg.Wait()
	drift.EastWest = append(eastWest[0], eastWest[1]...)
	if in.Unknown == nil {
		in.Unknown = map[string]bool{}
	}
	maps.Copy(in.Unknown, r.in.Unknown)
	// Kinds read together (VirtualServices and HTTPRoutes) share one warning: say it once.
	warned = append(warned, slices.Compact(r.w.sorted())...)
	var missing *ErrIstioNotInstalled
	if errors.As(driftErr, &missing) {
		driftErr = nil // ReadDoctorInput said it: a finding, not an error
	}
	if err == nil {
		err = driftErr
	}
	return in, drift, warned, err
}
