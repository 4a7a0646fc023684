package cmd

import (
	"context"
	"errors"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// meshPolicy is what edges are checked against: every PeerAuthentication, and the root
// namespace that makes some of them mesh-wide. Empty when there is no cluster to read.
type meshPolicy struct {
	peerAuthentications []*unstructured.Unstructured
	rootNamespace       string
}

// connect resolves the namespace and the Prometheus to query, and starts reading the
// PeerAuthentications to check edges against: the returned policy waits for them, so that
// they are read while Prometheus answers. Without a cluster, a Prometheus given by flag or
// environment still draws the graph, without the policy check. Warnings go to stderr.
func (o *GraphOptions) connect(ctx context.Context) (*telemetry.Prometheus, func() (meshPolicy, error), error) {
	promGiven := o.prom.given()
	if err := o.completeCluster(); err != nil {
		if !promGiven {
			return nil, nil, err
		}
		o.clients = nil // no cluster to search either
		o.warn(fmt.Sprintf("no cluster to read PeerAuthentications from (%v): mTLS policy checks skipped", mesh.Explain(err)))
		o.AllNamespaces = o.AllNamespaces || !o.namespaceExplicit
		prom, err := o.locator("").Locate(ctx)
		return prom, func() (meshPolicy, error) { return meshPolicy{}, nil }, err
	}
	read := make(chan func() (meshPolicy, error), 1)
	go func() {
		policy, warnings, err := o.readPolicy(ctx)
		read <- func() (meshPolicy, error) {
			o.warn(warnings...)
			return policy, err
		}
	}()
	policy := sync.OnceValues(func() (meshPolicy, error) { return (<-read)() })
	prom, err := o.locator("").Locate(ctx)
	if err != nil {
		// That Istio is missing explains more than where Prometheus is not.
		if _, istioErr := policy(); istioErr != nil {
			return nil, nil, istioErr
		}
		return nil, nil, err
	}
	return prom, policy, nil
}

// readPolicy lists every PeerAuthentication, reads the mesh config and checks that the
// namespace exists, in parallel. The error is Istio's absence or the namespace's; what else
// could not be read is a warning.
func (o *GraphOptions) readPolicy(ctx context.Context) (meshPolicy, []string, error) {
	var (
		policy   meshPolicy
		listErr  error
		nsErr    error
		problem  string
		mc       istio.MeshConfig
		wg       sync.WaitGroup
		warnings []string
	)
	wg.Go(func() { mc, problem = o.clients.MeshConfig(ctx) })
	if !o.AllNamespaces {
		// Prometheus has no traffic of a namespace that does not exist: without this, a typo
		// would read as a quiet namespace.
		wg.Go(func() { nsErr = o.clients.CheckNamespace(ctx, o.namespace) })
	}
	policy.peerAuthentications, listErr = o.clients.ListIstio(ctx, mesh.PeerAuthentications, metav1.NamespaceAll)
	wg.Wait()
	var missing *mesh.ErrIstioNotInstalled
	var noNamespace *mesh.NamespaceNotFoundError
	switch {
	case errors.As(listErr, &missing):
		return policy, nil, listErr
	case errors.As(nsErr, &noNamespace):
		return policy, nil, nsErr
	}
	policy.rootNamespace = mc.RootNamespace
	if problem != "" {
		warnings = append(warnings, problem)
	}
	if listErr != nil {
		warnings = append(warnings, fmt.Sprintf("cannot list PeerAuthentications (%v): mTLS policy checks skipped", mesh.Explain(listErr)))
	}
	return policy, warnings, nil
}
