package mesh

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/managedfields"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
)

func policy(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
		"metadata": map[string]any{"name": name, "namespace": "shop", "labels": map[string]any{"app.kubernetes.io/managed-by": "kubectl-mesh"}},
		"spec":     map[string]any{"action": "ALLOW"},
	}}
}

func policyCluster() *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{AuthorizationPolicies.GVR(): "AuthorizationPolicyList"})
}

func stored(t *testing.T, dyn *dynamicfake.FakeDynamicClient) []string {
	t.Helper()
	list, err := dyn.Resource(AuthorizationPolicies.GVR()).Namespace("shop").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, item := range list.Items {
		names = append(names, item.GetName())
	}
	return names
}

// A create whose answer was lost after the server stored it is found by reading, and
// reverted with the rest: all or nothing, even then.
func TestApplyAllRevertsAWriteWhoseAnswerWasLost(t *testing.T) {
	dyn := policyCluster()
	creates := 0
	dyn.PrependReactor("create", "authorizationpolicies", func(action clienttesting.Action) (bool, runtime.Object, error) {
		creates++
		if creates != 2 {
			return false, nil, nil
		}
		// Stored as the API server stores it: managedFields name our write's manager.
		obj := managedfields.Write(nil, action.(clienttesting.CreateAction).GetObject().(*unstructured.Unstructured), change.FieldManager)
		if err := dyn.Tracker().Create(AuthorizationPolicies.GVR(), obj, "shop"); err != nil {
			t.Fatal(err)
		}
		return true, nil, errors.New("read tcp 127.0.0.1:1234: connection reset by peer")
	})
	w := &Writer{Dynamic: dyn, DryRun: DryRunNone, FieldManager: change.FieldManager}
	_, err := w.ApplyAll(context.Background(), []change.Change{{After: policy("a")}, {After: policy("b")}, {After: policy("c")}})
	if err == nil || !strings.Contains(err.Error(), "reverted, in this order: authorizationpolicy/b, authorizationpolicy/a; nothing was left changed") {
		t.Errorf("error: %v", err)
	}
	if names := stored(t, dyn); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
}

// A revert that fails says what is in force and what to run.
func TestApplyAllSaysWhatIsInForceWhenARevertFails(t *testing.T) {
	dyn := policyCluster()
	dyn.PrependReactor("create", "authorizationpolicies", func(action clienttesting.Action) (bool, runtime.Object, error) {
		if action.(clienttesting.CreateAction).GetObject().(*unstructured.Unstructured).GetName() == "b" {
			return true, nil, apierrors.NewForbidden(AuthorizationPolicies.GVR().GroupResource(), "b", errors.New("no"))
		}
		return false, nil, nil
	})
	dyn.PrependReactor("delete", "authorizationpolicies", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("the cluster is going away")
	})
	w := &Writer{Dynamic: dyn, DryRun: DryRunNone, Recovery: "run `kubectl mesh lockdown shop --undo`"}
	_, err := w.ApplyAll(context.Background(), []change.Change{{After: policy("a")}, {After: policy("b")}})
	for _, want := range []string{
		"authorizationpolicy/b create failed",
		"could not revert authorizationpolicy/a: the cluster is going away",
		"in force now: authorizationpolicy/a created",
		"once the cluster answers: run `kubectl mesh lockdown shop --undo`",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if !apierrors.IsForbidden(err) {
		t.Errorf("the failure is no longer reachable: %v", err)
	}
}

// An interrupt during a write lets that write finish, then stops and reverts: the write in
// flight is never left to land after we looked.
func TestApplyAllTakesAnInterruptBetweenWrites(t *testing.T) {
	dyn := policyCluster()
	ctx, interrupt := context.WithCancel(context.Background())
	dyn.PrependReactor("create", "authorizationpolicies", func(action clienttesting.Action) (bool, runtime.Object, error) {
		if action.(clienttesting.CreateAction).GetObject().(*unstructured.Unstructured).GetName() == "b" {
			interrupt() // Ctrl-C while b is being written
		}
		return false, nil, nil
	})
	w := &Writer{Dynamic: dyn, DryRun: DryRunNone}
	_, err := w.ApplyAll(ctx, []change.Change{{After: policy("a")}, {After: policy("b")}, {After: policy("c")}})
	want := "interrupted (Ctrl-C or a termination signal) before authorizationpolicy/c was created\nreverted, in this order: authorizationpolicy/b, authorizationpolicy/a; nothing was left changed"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	if names := stored(t, dyn); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
}

// When a create's answer is lost and the object found carries our label but was written by
// someone else (its managedFields name another manager), it is not ours to delete.
func TestApplyAllLeavesAnotherWritersObject(t *testing.T) {
	dyn := policyCluster()
	dyn.PrependReactor("create", "authorizationpolicies", func(action clienttesting.Action) (bool, runtime.Object, error) {
		obj := managedfields.Write(nil, action.(clienttesting.CreateAction).GetObject().(*unstructured.Unstructured), "kubectl-client-side-apply")
		if err := dyn.Tracker().Create(AuthorizationPolicies.GVR(), obj, "shop"); err != nil {
			t.Fatal(err)
		}
		return true, nil, errors.New("read tcp 127.0.0.1:1234: connection reset by peer")
	})
	w := &Writer{Dynamic: dyn, DryRun: DryRunNone, FieldManager: change.FieldManager}
	if _, err := w.ApplyAll(context.Background(), []change.Change{{After: policy("a")}}); err == nil {
		t.Fatal("a lost answer is an error")
	}
	if names := stored(t, dyn); len(names) != 1 {
		t.Errorf("another writer's object deleted: %v", names)
	}
}
