package mesh

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
)

// ApplyAll makes every change in order, all or nothing: when one fails, the changes already
// made are reverted in reverse order and the error says what failed and what was put back.
// It returns the changes with After as the API server stored it (for a client dry run, as it
// would be sent).
func (w *Writer) ApplyAll(ctx context.Context, changes []change.Change) ([]change.Change, error) {
	applied := make([]change.Change, 0, len(changes))
	for i, c := range changes {
		stored, err := w.apply(ctx, c)
		if err != nil {
			failure := fmt.Errorf("%s %s: %w", c.Ref(), strings.TrimSuffix(c.Verb(), "d")+" failed", err)
			if w.DryRun != DryRunNone || i == 0 {
				return nil, failure
			}
			return nil, w.revert(applied, failure)
		}
		if c.After != nil {
			c.After = stored
		}
		applied = append(applied, c)
	}
	return applied, nil
}

func (w *Writer) apply(ctx context.Context, c change.Change) (*unstructured.Unstructured, error) {
	switch {
	case c.Before == nil:
		return w.Create(ctx, c.After)
	case c.After == nil:
		return nil, w.Delete(ctx, c.Before)
	default:
		after := c.After.DeepCopy()
		after.SetResourceVersion(c.Before.GetResourceVersion())
		return w.Update(ctx, after)
	}
}

// revert undoes applied changes (After as stored), newest first.
func (w *Writer) revert(applied []change.Change, failure error) error {
	// The caller's context may be what failed (Ctrl-C, timeout): reverting must still run.
	ctx := context.Background()
	var reverted []string
	var problems []error
	for i := len(applied) - 1; i >= 0; i-- {
		c := applied[i]
		var err error
		switch {
		case c.Before == nil:
			err = w.Delete(ctx, c.After)
		case c.After == nil:
			_, err = w.Create(ctx, change.ForCreate(c.Before))
		default:
			err = w.restore(ctx, c.Before)
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

// restore puts the labels, annotations and spec of before back on the object as it is now.
func (w *Writer) restore(ctx context.Context, before *unstructured.Unstructured) error {
	resource, err := w.resource(before)
	if err != nil {
		return err
	}
	return RetryOnConflict(func() error {
		current, err := resource.Namespace(before.GetNamespace()).Get(ctx, before.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		_, err = w.Update(ctx, change.Restore(current, before))
		return err
	})
}

// Delete removes obj, provided it is still the object that was read (same UID), so that we
// never delete an object someone re-created meanwhile.
func (w *Writer) Delete(ctx context.Context, obj *unstructured.Unstructured) error {
	if w.DryRun == DryRunClient {
		return nil
	}
	resource, err := w.resource(obj)
	if err != nil {
		return err
	}
	opts := metav1.DeleteOptions{DryRun: w.dryRunOption()}
	if uid := obj.GetUID(); uid != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	err = resource.Namespace(obj.GetNamespace()).Delete(ctx, obj.GetName(), opts)
	if apierrors.IsNotFound(err) {
		return nil // already gone: the goal of a delete
	}
	return err
}
