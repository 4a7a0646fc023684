package sim

import (
	"context"
	"fmt"

	istioclient "istio.io/client-go/pkg/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// Several clusters, read from Istio's multi-primary documentation (not from pkg/): each
// cluster has its own API server and its own istiod, which reads routes (VirtualServices,
// DestinationRules, HTTPRoutes) and policies from its own cluster only, but discovers the
// endpoints of every cluster. A Service is one Service in every cluster where its namespace
// and name exist (namespace sameness): its endpoints are the pods its selector picks in each
// of them. A proxy reports into its own cluster's metrics, labelled with the cluster IDs of
// both ends; mutual TLS carries the caller's identity across (through the east-west gateway,
// which passes TLS through), so the destination knows who called.

// ClusterSource is one API server of a mesh spanning several clusters.
type ClusterSource struct {
	ID      string // the cluster ID its istiod runs with (CLUSTER_ID)
	Kube    kubernetes.Interface
	Istio   istioclient.Interface
	Dynamic dynamic.Interface // Gateway API's objects (nil: none)
}

// NewMeshes indexes one snapshot per cluster as one mesh: each Mesh routes with its own
// cluster's configuration and reaches the workloads of all. The first is the primary view
// (Simulator.Mesh).
func NewMeshes(snaps ...*Snapshot) []*Mesh {
	if len(snaps) == 1 {
		return []*Mesh{NewMesh(snaps[0])}
	}
	var all []*Workload
	for _, s := range snaps {
		all = append(all, s.Workloads()...)
	}
	byID := map[string]*Mesh{}
	meshes := make([]*Mesh, len(snaps))
	for i, s := range snaps {
		meshes[i] = &Mesh{Snapshot: s, Workloads: all, Cluster: s.clusterID(), clusters: byID, order: meshes}
		byID[meshes[i].Cluster] = meshes[i]
	}
	return meshes
}

// In is the view of cluster id: its configuration, the same workloads. A mesh of one cluster,
// or an id not in the mesh, is m itself.
func (m *Mesh) In(id string) *Mesh {
	if other, ok := m.clusters[id]; ok {
		return other
	}
	return m
}

// Clusters are the mesh's cluster IDs, in the order they were given.
func (m *Mesh) Clusters() []string {
	if len(m.order) == 0 {
		return []string{m.Cluster}
	}
	ids := make([]string, len(m.order))
	for i, o := range m.order {
		ids[i] = o.Cluster
	}
	return ids
}

// localService is the Service name/namespace of this mesh's own cluster.
func (m *Mesh) localService(name, namespace string) *corev1.Service {
	for i := range m.Services {
		if m.Services[i].Name == name && m.Services[i].Namespace == namespace {
			return &m.Services[i]
		}
	}
	return nil
}

// remoteService is the Service in another cluster, the first in the mesh's order: istiod
// knows the hostnames of every cluster's Services.
func (m *Mesh) remoteService(name, namespace string) *corev1.Service {
	for _, o := range m.order {
		if o == m {
			continue
		}
		if svc := o.localService(name, namespace); svc != nil {
			return svc
		}
	}
	return nil
}

// selectorsIn is, per cluster ID, the selector of svc's namespace and name there (absent
// where the Service does not exist). In one cluster it is svc's own.
func (m *Mesh) selectorsIn(svc *corev1.Service) map[string]map[string]string {
	if len(m.order) == 0 {
		return map[string]map[string]string{m.Cluster: svc.Spec.Selector}
	}
	out := map[string]map[string]string{}
	for _, o := range m.order {
		if local := o.localService(svc.Name, svc.Namespace); local != nil {
			out[o.Cluster] = local.Spec.Selector
		}
	}
	return out
}

// reporterCluster is the cluster whose proxy made the report: the caller's for a source
// report, the callee's for a destination one, and for a waypoint the callee's (its
// Service's cluster; the caller's when no callee was reached).
func (r Report) reporterCluster() string {
	switch {
	case r.Reporter == "source" && r.Source != nil:
		return r.Source.Cluster
	case r.Destination != nil:
		return r.Destination.Cluster
	case r.Source != nil:
		return r.Source.Cluster
	}
	return DefaultCluster
}

// clusterOf is a workload's cluster ID for a report's labels; an unknown peer is in the
// reporting cluster.
func clusterOf(w *Workload, reporting string) string {
	if w == nil || w.Cluster == "" {
		return reporting
	}
	return w.Cluster
}

// sources are the API servers the simulator reads: Clusters, or the one of Kube, Istio and
// Dynamic.
func (s *Simulator) sources() []ClusterSource {
	if len(s.Clusters) > 0 {
		return s.Clusters
	}
	return []ClusterSource{{ID: DefaultCluster, Kube: s.Kube, Istio: s.Istio, Dynamic: s.Dynamic}}
}

// loadMeshes reads every cluster; one that fails fails the refresh, so the mesh is never a
// mix of fresh and missing clusters.
func (s *Simulator) loadMeshes(ctx context.Context) ([]*Mesh, error) {
	var snaps []*Snapshot
	for _, c := range s.sources() {
		snap, err := Load(ctx, c.Kube, c.Istio, c.Dynamic)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.ID, err)
		}
		snap.Cluster = c.ID
		snaps = append(snaps, snap)
	}
	return NewMeshes(snaps...), nil
}

// Meshes are the views of every cluster (one for a single cluster), nil before the first read.
func (s *Simulator) Meshes() []*Mesh {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.meshes
}
