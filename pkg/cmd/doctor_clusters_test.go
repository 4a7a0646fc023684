package cmd

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/doctor"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// newDoctorClusters is a mesh of two doctorLayout clusters: context fake (cluster ID east,
// istiod 1.24.2) and context west (cluster ID west, istiod of version westVersion).
func newDoctorClusters(t *testing.T, westVersion string) *fakeCluster {
	east := newDriftCluster(t, "east", "1.24.2")
	east.contexts = map[string]*fakeCluster{"west": newDriftCluster(t, "west", westVersion)}
	return east
}

// newDriftCluster is newDoctorCluster with istiod's cluster ID and version, and a dynamic
// client that also serves what the drift checks read.
func newDriftCluster(t *testing.T, id, version string) *fakeCluster {
	f := newDoctorCluster(t)
	var objects []runtime.Object
	for _, r := range []mesh.IstioResource{mesh.Deployments, mesh.DisruptionBudgets, mesh.MutatingWebhooks} {
		list, err := f.dynamic.Resource(r.GVR()).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			if obj.GetName() == "istiod" && r == mesh.Deployments {
				containers := []any{map[string]any{"name": "discovery", "image": "pilot:" + version,
					"env": []any{map[string]any{"name": "CLUSTER_ID", "value": id}}}}
				if err := unstructured.SetNestedSlice(obj.Object, containers, "spec", "template", "spec", "containers"); err != nil {
					t.Fatal(err)
				}
			}
			objects = append(objects, obj)
		}
	}
	kinds := map[schema.GroupVersionResource]string{}
	for _, r := range []mesh.IstioResource{mesh.PeerAuthentications, mesh.DestinationRules, mesh.Sidecars, mesh.Deployments, mesh.StatefulSets,
		mesh.DisruptionBudgets, mesh.MutatingWebhooks, mesh.VirtualServices, mesh.HTTPRoutes, mesh.AuthorizationPolicies, mesh.Gateways, mesh.K8sGateways} {
		kinds[r.GVR()] = r.Kind + "List"
	}
	f.dynamic = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), kinds, objects...)
	return f
}

func TestDoctorClustersDrift(t *testing.T) {
	stdout, stderr, code := run(newDoctorClusters(t, "1.25.0"), "doctor", "-A", "--contexts", "fake,west", "-o", "json")
	var report doctor.Report
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("exit %d, no report: %v\n%s", code, err, stderr)
	}
	var got []string
	for _, f := range report.Findings {
		var ids []string
		for _, c := range f.Clusters {
			ids = append(ids, c.ID+"@"+c.Context)
		}
		got = append(got, f.Check+" "+f.Object.String()+" "+strings.Join(ids, ","))
	}
	want := []string{
		"drift-version Deployment/istio-system/istiod east@fake,west@west",
		"injection Pod/shop/web east@fake", "injection Pod/shop/web west@west",
		"ops-planning Deployment/istio-system/istiod east@fake", "ops-planning Deployment/istio-system/istiod west@west",
	}
	if !slices.Equal(got, want) || code != 0 {
		t.Errorf("exit %d, findings:\n got %q\nwant %q\n%s", code, got, want, stderr)
	}
	if len(report.Clusters) != 2 {
		t.Errorf("the report names the clusters checked: %v", report.Clusters)
	}
	table, _, _ := run(newDoctorClusters(t, "1.25.0"), "doctor", "-A", "--contexts", "fake,west")
	if !strings.Contains(table, "CLUSTER") || !strings.Contains(table, "east,west") {
		t.Errorf("the table names each finding's clusters:\n%s", table)
	}
	single, _, _ := run(newDoctorCluster(t), "doctor", "-A")
	if strings.Contains(single, "CLUSTER") {
		t.Errorf("without --contexts the table is as before:\n%s", single)
	}
}

// A cluster that cannot be reached is an error finding, and the others are checked.
func TestDoctorClustersUnreachable(t *testing.T) {
	stdout, stderr, code := run(newDoctorClusters(t, "1.24.2"), "doctor", "-A", "--contexts", "fake,nowhere", "-o", "wide")
	if code != 1 || !strings.Contains(stdout, "cluster nowhere was not checked: context \"nowhere\" is not in the kubeconfig") ||
		!strings.Contains(stdout, "ops-planning") || strings.Contains(stderr, ".go:") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// The clusters are read in parallel, and only read: one round trip for the cluster IDs, one
// for everything doctor reads, whatever the number of clusters.
func TestDoctorClustersReadInParallel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newDoctorClusters(t, "1.25.0")
		f.slow, f.contexts["west"].slow = true, true
		start := time.Now()
		_, stderr, code := run(f, "doctor", "-A", "--contexts", "fake,west")
		if n := int(time.Since(start) / time.Second); n != 2 || code != 0 {
			t.Errorf("%d sequential round trips, want 2 (exit %d: %s)", n, code, stderr)
		}
		for _, c := range []*fakeCluster{f, f.contexts["west"]} {
			for _, a := range append(c.kube.Actions(), c.dynamic.Actions()...) {
				if verb := a.GetVerb(); verb != "list" && verb != "get" {
					t.Errorf("doctor made a %s request", verb)
				}
			}
		}
	})
}

// What a user may not read in one cluster is said once, with the cluster, and the checks that
// need it are skipped there rather than guessed.
func TestDoctorClustersForbidden(t *testing.T) {
	f := newDoctorClusters(t, "1.24.2")
	for _, resource := range []string{"virtualservices", "httproutes"} {
		f.contexts["west"].dynamic.PrependReactor("list", resource, func(action k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", errors.New("RBAC"))
		})
	}
	_, stderr, code := run(f, "doctor", "-A", "--contexts", "fake,west")
	want := "warning: cluster west: you may not list " + doctor.RouteReads + ": the checks that need them are skipped"
	if code != 0 || strings.Count(stderr, want) != 1 {
		t.Errorf("exit %d, want the warning %q once:\n%s", code, want, stderr)
	}
}
