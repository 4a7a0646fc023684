package cmd

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/managedfields"
)

// recordManagers makes dyn record managedFields on creates and updates as the API server
// does: lockdown knows the objects it made by them.
func recordManagers(dyn *dynamicfake.FakeDynamicClient) {
	dyn.PrependReactor("create", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		create := action.(k8stesting.CreateActionImpl)
		if obj, ok := create.Object.(*unstructured.Unstructured); ok {
			*obj = *managedfields.Write(nil, obj, create.CreateOptions.FieldManager)
		}
		return false, nil, nil // the tracker stores it
	})
	dyn.PrependReactor("update", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		update := action.(k8stesting.UpdateActionImpl)
		obj, ok := update.Object.(*unstructured.Unstructured)
		if !ok {
			return false, nil, nil
		}
		current, err := dyn.Tracker().Get(update.Resource, update.Namespace, obj.GetName())
		if live, isUnstructured := current.(*unstructured.Unstructured); err == nil && isUnstructured {
			*obj = *managedfields.Write(live, obj, update.UpdateOptions.FieldManager)
		}
		return false, nil, nil
	})
}
