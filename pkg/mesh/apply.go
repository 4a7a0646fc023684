package mesh

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
)

// ApplyAll makes every change in order, all or nothing: when one fails, the changes already
// made are reverted in reverse order and the error says what failed and what was put back.
// It returns the changes with After as the API server stored it (for a client dry run, as it
// would be sent).
//
// An interrupt (ctx ending: Ctrl-C) is taken between writes, never within one: a write cut off
// mid-flight may still land on the server after we have looked, so the write in flight is
// let finish (for up to writeGrace), then the changes made are reverted.
func (w *Writer) ApplyAll(ctx context.Context, changes []change.Change) ([]change.Change, error) {
	writeCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(writeGrace, cancel) })
	defer stop()
	applied := make([]change.Change, 0, len(changes))
	for i, c := range changes {
		if ctx.Err() != nil {
			failure := fmt.Errorf("interrupted (Ctrl-C or a termination signal) before %s was %s", c.Ref(), c.Verb())
			if i == 0 || w.DryRun != DryRunNone {
				return nil, failure
			}
			return nil, w.revert(applied, nil, failure)
		}
		stored, err := w.apply(writeCtx, c)
		if err != nil {
			failure := fmt.Errorf("%s %s: %w", c.Ref(), strings.TrimSuffix(c.Verb(), "d")+" failed", err)
			var uncertain *change.Change
			if outcomeUnknown(err) {
				uncertain = &c // the server may have made it before the answer was lost
			}
			if w.DryRun != DryRunNone || (i == 0 && uncertain == nil) {
				return nil, failure
			}
			return nil, w.revert(applied, uncertain, failure)
		}
		if c.After != nil {
			c.After = stored
		}
		applied = append(applied, c)
	}
	return applied, nil
}

// writeGrace is how long a write in flight may still take once the user has interrupted.
const writeGrace = 10 * time.Second

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

// restore puts back what one change (before -> after) did to the object as it is now, and
// nothing else: fields others changed since, or added, stay theirs.
func (w *Writer) restore(ctx context.Context, before, after *unstructured.Unstructured) error {
	resource, err := w.resource(before)
	if err != nil {
		return err
	}
	return RetryOnConflict(func() error {
		current, err := resource.Namespace(before.GetNamespace()).Get(ctx, before.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		restored, _ := change.Revert(current, before, after)
		_, err = w.Update(ctx, restored)
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
