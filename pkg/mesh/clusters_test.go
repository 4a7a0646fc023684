package mesh

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// istiod is istiod's Deployment in istio-system, with env CLUSTER_ID when id is set.
func istiod(name, id string) *unstructured.Unstructured {
	env := []any{map[string]any{"name": "PILOT_TRACE_SAMPLING", "value": "1"}}
	if id != "" {
		env = append(env, map[string]any{"name": "CLUSTER_ID", "value": id})
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": "istio-system", "labels": map[string]any{"app": "istiod"}},
		"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "discovery", "env": env}}}}},
	}}
}

func clientsWith(objects ...runtime.Object) *Clients {
	return &Clients{Dynamic: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{Deployments.GVR(): "DeploymentList"}, objects...)}
}

// contextsOf is a ClustersGetter over fixed clients by context; a context it lacks fails
// as an unreachable cluster's would.
type contextsOf map[string]*Clients

func (c contextsOf) ClientsFor(name string) (*Clients, error) {
	if clients, ok := c[name]; ok {
		return clients, nil
	}
	return nil, errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
}

func TestConnectClustersNamesClustersByTheirIstiod(t *testing.T) {
	forbidden := clientsWith()
	forbidden.Dynamic.(*dynamicfake.FakeDynamicClient).PrependReactor("list", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "", errors.New("no"))
	})
	getter := contextsOf{
		"east":      clientsWith(istiod("istiod", "cluster-east")),
		"revisions": clientsWith(istiod("istiod-canary", ""), istiod("istiod-1-28", "cluster-rev")),
		"default":   clientsWith(istiod("istiod", "")),
		"remote":    clientsWith(),
		"locked":    forbidden,
	}
	clusters := ConnectClusters(context.Background(), getter, []string{"east", "revisions", "default", "remote", "locked", "gone"})
	want := []struct{ id, note, err string }{
		{id: "cluster-east"},
		{id: "cluster-rev"}, // the first istiod that names one
		{id: DefaultClusterID},
		{id: "remote", note: "no istiod in istio-system"},
		{id: "locked", note: "you may not list deployments"},
		{err: "connection refused"},
	}
	for i, c := range clusters {
		w := want[i]
		switch {
		case w.err != "" && (c.Err == nil || !strings.Contains(c.Err.Error(), w.err)):
			t.Errorf("%s: want error %q, got %v", c.Context, w.err, c.Err)
		case w.err == "" && (c.Err != nil || c.ID != w.id || !strings.Contains(c.Note, w.note)):
			t.Errorf("%s: got ID %q note %q err %v, want ID %q note %q", c.Context, c.ID, c.Note, c.Err, w.id, w.note)
		}
	}
	if s := clusters[0].String(); s != "cluster cluster-east (context east)" {
		t.Errorf("String() = %q", s)
	}
	if dup := DuplicateIDs([]Cluster{named("a", "Kubernetes"), named("b", "Kubernetes"), named("c", "c")}); len(dup) != 1 || !strings.Contains(dup[0], "a, b") {
		t.Errorf("DuplicateIDs = %v", dup)
	}
}

func named(context, id string) Cluster {
	return Cluster{Cluster: istio.Cluster{Context: context, ID: id}}
}
