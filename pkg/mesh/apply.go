package mesh

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Change is one planned write: Before nil creates After, After nil deletes Before, both set
// updates Before (whose resourceVersion the update carries) to After.
type Change struct {
	Resource IstioResource
	Before   *unstructured.Unstructured
	After    *unstructured.Unstructured
}

// Name is the object's name.
func (c Change) Name() string {
	if c.After != nil {
		return c.After.GetName()
	}
	return c.Before.GetName()
}

// Verb is what the change does, in kubectl's words.
func (c Change) Verb() string {
	switch {
	case c.Before == nil:
		return "created"
	case c.After == nil:
		return "deleted"
	}
	return "configured"
}

// Ref is "kind/name" in lower case, as kubectl prints it.
func (c Change) Ref() string { return strings.ToLower(c.Resource.Kind) + "/" + c.Name() }

// ApplyAll makes every change in order, all or nothing: when one fails, the changes already
// made are reverted in reverse order and the error says what failed and what was put back.
// It returns the objects as the API server stored them (for deletions, the deleted object).
func (w *Writer) ApplyAll(ctx context.Context, changes []Change) ([]*unstructured.Unstructured, error) {
	results := make([]*unstructured.Unstructured, 0, len(changes))
	for i, c := range changes {
		out, err := w.apply(ctx, c)
		if err != nil {
			failure := fmt.Errorf("%s %s: %w", c.Ref(), strings.TrimSuffix(c.Verb(), "d")+" failed", err)
			if w.DryRun != DryRunNone || i == 0 {
				return nil, failure
			}
			return nil, w.revert(changes[:i], results, failure)
		}
		results = append(results, out)
	}
	return results, nil
}

func (w *Writer) apply(ctx context.Context, c Change) (*unstructured.Unstructured, error) {
	switch {
	case c.Before == nil:
		return w.Create(ctx, c.Resource.GVR(), c.After)
	case c.After == nil:
		return c.Before, w.Delete(ctx, c.Resource, c.Before)
	default:
		after := c.After.DeepCopy()
		after.SetResourceVersion(c.Before.GetResourceVersion())
		return w.Update(ctx, c.Resource.GVR(), after)
	}
}

// Delete removes obj, provided it is still the object that was read (same UID), so that we
// never delete an object someone re-created meanwhile.
func (w *Writer) Delete(ctx context.Context, r IstioResource, obj *unstructured.Unstructured) error {
	if w.DryRun == DryRunClient {
		return nil
	}
	opts := metav1.DeleteOptions{DryRun: w.dryRunOption()}
	if uid := obj.GetUID(); uid != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	err := w.Dynamic.Resource(r.GVR()).Namespace(obj.GetNamespace()).Delete(ctx, obj.GetName(), opts)
	if apierrors.IsNotFound(err) {
		return nil // already gone: the goal of a delete
	}
	return err
}

// revert undoes applied changes (whose stored results are in results), newest first.
func (w *Writer) revert(applied []Change, results []*unstructured.Unstructured, failure error) error {
	// The caller's context may be what failed (Ctrl-C, timeout): reverting must still run.
	ctx := context.Background()
	var reverted []string
	var problems []error
	for i := len(applied) - 1; i >= 0; i-- {
		c, stored := applied[i], results[i]
		var err error
		switch {
		case c.Before == nil:
			err = w.Delete(ctx, c.Resource, stored)
		case c.After == nil:
			restore := c.Before.DeepCopy()
			clearServerFields(restore)
			_, err = w.Create(ctx, c.Resource.GVR(), restore)
		default:
			err = w.restore(ctx, c.Resource, c.Before)
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("could not revert %s: %w", c.Ref(), err))
			continue
		}
		reverted = append(reverted, c.Ref())
	}
	outcome := "nothing was left changed"
	if len(reverted) > 0 {
		outcome = "reverted, in this order: " + strings.Join(reverted, ", ") + "; " + outcome
	}
	if len(problems) > 0 {
		// The failure stays wrapped, so callers can still tell a conflict from a denial.
		return errors.Join(failure, errors.New("reverted what could be: "+strings.Join(reverted, ", ")), errors.Join(problems...))
	}
	return fmt.Errorf("%w\n%s", failure, outcome)
}

// restore puts the labels, annotations and spec of before back on the current object.
func (w *Writer) restore(ctx context.Context, r IstioResource, before *unstructured.Unstructured) error {
	return RetryOnConflict(func() error {
		current, err := w.Dynamic.Resource(r.GVR()).Namespace(before.GetNamespace()).Get(ctx, before.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		current.SetLabels(before.GetLabels())
		current.SetAnnotations(before.GetAnnotations())
		if spec, ok := before.Object["spec"]; ok {
			current.Object["spec"] = spec
		} else {
			delete(current.Object, "spec")
		}
		_, err = w.Update(ctx, r.GVR(), current)
		return err
	})
}

// clearServerFields removes what the API server sets, so that an object can be created again.
func clearServerFields(obj *unstructured.Unstructured) {
	for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		unstructured.RemoveNestedField(obj.Object, "metadata", f)
	}
	delete(obj.Object, "status")
}
