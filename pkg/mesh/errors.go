package mesh

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Explain turns errors from the API server or the network into messages that say what went
// wrong and what to do. Errors it does not recognise pass through unchanged.
func Explain(err error) error {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s\n(your user lacks an RBAC permission: ask a cluster admin to grant it, or pass --as/--context for an account that has it)", errorMessage(err))
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the API server rejected your credentials (401 Unauthorized): log in again, or check --kubeconfig and --context")
	case errors.As(err, &status):
		return err
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		var netErr net.Error
		if errors.As(err, &netErr) || strings.Contains(err.Error(), "connection refused") {
			return fmt.Errorf("cannot reach the API server at %s: %v\n(is the cluster up? check --kubeconfig, --context or --server)", hostOf(urlErr.URL), urlErr.Err)
		}
	}
	return err
}

func errorMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return err.Error()
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Scheme + "://" + u.Host
}
