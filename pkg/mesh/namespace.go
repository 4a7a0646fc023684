package mesh

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NamespaceNotFoundError is a namespace the API server says does not exist. Every command
// says it the same way and exits 1, whether or not it would have found anything else to
// show there (graph's "no traffic" would hide a typo).
type NamespaceNotFoundError struct{ Namespace string }

func (e *NamespaceNotFoundError) Error() string {
	return fmt.Sprintf("namespace %q not found: check the name (kubectl get namespaces)", e.Namespace)
}

// CheckNamespace returns a *NamespaceNotFoundError when the namespace does not exist, and nil
// when it does or when the user may not read it: a role bound in that namespace alone may lack
// get on namespaces, and the command's own reads then say what they can. Any other failure
// (an unreachable server) is returned as it is.
func (c *Clients) CheckNamespace(ctx context.Context, name string) error {
	_, err := c.Core.Namespaces().Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return &NamespaceNotFoundError{Namespace: name}
	case apierrors.IsForbidden(err):
		return nil
	}
	return err
}
