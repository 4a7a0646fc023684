package mesh

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
)

// DryRun is kubectl's --dry-run: none writes, client prints what would be written without a
// request, server has the API server validate and admit the write without persisting it.
type DryRun string

// The --dry-run values.
const (
	DryRunNone   DryRun = "none"
	DryRunClient DryRun = "client"
	DryRunServer DryRun = "server"
)

// ParseDryRun accepts kubectl's values; "" means none.
func ParseDryRun(s string) (DryRun, error) {
	switch DryRun(s) {
	case "", DryRunNone:
		return DryRunNone, nil
	case DryRunClient, DryRunServer:
		return DryRun(s), nil
	}
	return "", fmt.Errorf(`invalid --dry-run value %q: use "none", "client" or "server"`, s)
}

// Suffix is what kubectl appends to messages about writes that did not happen.
func (d DryRun) Suffix() string {
	switch d {
	case DryRunClient:
		return " (dry run)"
	case DryRunServer:
		return " (server dry run)"
	}
	return ""
}

// Writer is the one place that writes to the API server. Updates carry the object's
// resourceVersion, so a concurrent change makes them fail with a conflict instead of
// overwriting it; callers re-read and re-plan inside RetryOnConflict.
type Writer struct {
	Dynamic dynamic.Interface
	DryRun  DryRun
	// FieldManager names us in managedFields.
	FieldManager string
	// Recovery is what to run when a revert fails and some changes stay in force, e.g.
	// "kubectl mesh lockdown shop --undo".
	Recovery string
}

// NewWriter returns a Writer for clients.
func NewWriter(clients *Clients, dryRun DryRun) *Writer {
	return &Writer{Dynamic: clients.Dynamic, DryRun: dryRun, FieldManager: change.FieldManager}
}

// resource is the dynamic client for obj's kind.
func (w *Writer) resource(obj *unstructured.Unstructured) (dynamic.NamespaceableResourceInterface, error) {
	r, ok := ResourceFor(obj.GroupVersionKind())
	if !ok {
		return nil, fmt.Errorf("internal error: kubectl mesh does not write %s", obj.GroupVersionKind())
	}
	return w.Dynamic.Resource(r.GVR()), nil
}

// Create creates obj; with a client dry run it returns obj untouched.
func (w *Writer) Create(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	resource, err := w.resource(obj)
	if err != nil || w.DryRun == DryRunClient {
		return obj, err
	}
	return resource.Namespace(obj.GetNamespace()).Create(ctx, obj, metav1.CreateOptions{DryRun: w.dryRunOption(), FieldManager: w.FieldManager})
}

// Update writes obj if its resourceVersion is still current.
func (w *Writer) Update(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if obj.GetResourceVersion() == "" {
		return nil, fmt.Errorf("internal error: update of %s %s without a resourceVersion", obj.GetKind(), obj.GetName())
	}
	resource, err := w.resource(obj)
	if err != nil || w.DryRun == DryRunClient {
		return obj, err
	}
	return resource.Namespace(obj.GetNamespace()).Update(ctx, obj, metav1.UpdateOptions{DryRun: w.dryRunOption(), FieldManager: w.FieldManager})
}

func (w *Writer) dryRunOption() []string {
	if w.DryRun == DryRunServer {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// conflictBackoff allows many more attempts than client-go's retry.DefaultRetry (5): several
// plugins racing on one object each need a turn, with jitter to spread them out.
var conflictBackoff = wait.Backoff{Steps: 12, Duration: 20 * time.Millisecond, Factor: 1.5, Jitter: 0.5, Cap: 2 * time.Second}

// RetryOnConflict runs readPlanWrite until it succeeds or fails with something other than a
// conflict. A create that loses a race to another creator counts as a conflict too: the next
// attempt reads the object the other one created.
func RetryOnConflict(readPlanWrite func() error) error {
	return retry.OnError(conflictBackoff, func(err error) bool {
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
	}, readPlanWrite)
}
