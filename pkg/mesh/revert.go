package mesh

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// outcomeUnknown tells whether a failed write may have been made all the same: the answer
// was lost (connection reset, timeout, interrupt, something that is not Kubernetes JSON) or
// the server failed (5xx) after perhaps storing it. A 4xx, or a 429 the client gave up on,
// was refused before anything was stored.
func outcomeUnknown(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true
	}
	return status.Status().Code >= 500
}

// revert undoes applied changes (After as stored), newest first, after settling whether
// uncertain (a write whose answer was lost) was made. The error says what failed, what was
// put back, and, when something could not be, what is in force and what to run next.
func (w *Writer) revert(applied []change.Change, uncertain *change.Change, failure error) error {
	// The caller's context may be what failed (Ctrl-C, timeout): reverting must still run.
	ctx := context.Background()
	var problems, inForce []string
	if uncertain != nil {
		made, err := w.settle(ctx, *uncertain)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("could not tell whether %s was %s: %v", uncertain.Ref(), uncertain.Verb(), Explain(err)))
			inForce = append(inForce, uncertain.Ref()+" perhaps "+uncertain.Verb())
		case made != nil:
			applied = append(applied, *made)
		}
	}
	var reverted []string
	for i := len(applied) - 1; i >= 0; i-- {
		c := applied[i]
		if err := w.undo(ctx, c); err != nil {
			problems = append(problems, fmt.Sprintf("could not revert %s: %v", c.Ref(), Explain(err)))
			inForce = append(inForce, c.Ref()+" "+c.Verb())
			continue
		}
		reverted = append(reverted, c.Ref())
	}
	if len(problems) == 0 {
		outcome := "nothing was left changed"
		if len(reverted) > 0 {
			outcome = "reverted, in this order: " + strings.Join(reverted, ", ") + "; " + outcome
		}
		return fmt.Errorf("%w\n%s", failure, outcome)
	}
	var b strings.Builder
	if len(reverted) > 0 {
		fmt.Fprintf(&b, "reverted: %s\n", strings.Join(reverted, ", "))
	}
	fmt.Fprintf(&b, "%s\nin force now: %s", strings.Join(problems, "\n"), strings.Join(inForce, ", "))
	if w.Recovery != "" {
		fmt.Fprintf(&b, "\nonce the cluster answers: %s", w.Recovery)
	}
	// The failure stays wrapped, so callers can still tell a conflict from a denial.
	return fmt.Errorf("%w\n%s", failure, b.String())
}

// undo reverses one change that was made.
func (w *Writer) undo(ctx context.Context, c change.Change) error {
	switch {
	case c.Before == nil:
		return w.Delete(ctx, c.After)
	case c.After == nil:
		_, err := w.Create(ctx, change.ForCreate(c.Before))
		return err
	}
	return w.restore(ctx, c.Before, c.After)
}

// settle reads the object of a write whose answer was lost and returns the change as made,
// or nil when it was not: a create made is ours (our label, our spec), an update made
// carries our spec, a delete made left nothing.
func (w *Writer) settle(ctx context.Context, c change.Change) (*change.Change, error) {
	obj := c.Object()
	resource, err := w.resource(obj)
	if err != nil {
		return nil, err
	}
	current, err := resource.Namespace(obj.GetNamespace()).Get(ctx, obj.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if c.After == nil {
			return &c, nil
		}
		return nil, nil
	case err != nil:
		return nil, err
	case c.After == nil:
		return nil, nil
	}
	if !sameContent(current, c.After) || (c.Before != nil && sameContent(current, c.Before)) {
		return nil, nil
	}
	// A create made is ours only if the API server says our write set our label: another
	// writer's object of the same content is not.
	if c.Before == nil && (!istio.IsManagedByUs(current) || !change.SetBy(current, w.FieldManager, "metadata", "labels", istio.ManagedByLabel)) {
		return nil, nil
	}
	made := c
	made.After = current
	return &made, nil
}

// sameContent compares what we write: spec and labels.
func sameContent(a, b *unstructured.Unstructured) bool {
	return equality.Semantic.DeepEqual(a.Object["spec"], b.Object["spec"]) && equality.Semantic.DeepEqual(a.GetLabels(), b.GetLabels())
}
