package mesh

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// MeshConfig reads Istio's mesh config (key "mesh" of configmap istio in istio-system): the
// root namespace and the trust domain. When it cannot be read, Istio's defaults hold, and
// problem says why unless the configmap simply does not exist (an install that sets nothing).
func (c *Clients) MeshConfig(ctx context.Context) (mc istio.MeshConfig, problem string) {
	cm, err := c.Core.ConfigMaps(istio.InstallNamespace).Get(ctx, istio.MeshConfigMap, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return istio.DefaultMeshConfig(), ""
	case err != nil && ctx.Err() != nil:
		// Read beside other requests that already failed (a namespace not found) or were
		// interrupted: their error is the news, a warning about this one would be noise.
		return istio.DefaultMeshConfig(), ""
	case err != nil:
		return istio.DefaultMeshConfig(), fmt.Sprintf("cannot read Istio's mesh config (configmap %s/%s: %s): assuming root namespace %s and trust domain %s",
			istio.InstallNamespace, istio.MeshConfigMap, readFailure(err), istio.DefaultRootNamespace, istio.DefaultTrustDomain)
	}
	mc, err = istio.ParseMeshConfig(cm.Data["mesh"])
	if err != nil {
		return mc, fmt.Sprintf("configmap %s/%s holds a mesh config that does not parse (%v): assuming Istio's defaults", istio.InstallNamespace, istio.MeshConfigMap, err)
	}
	return mc, ""
}

// readFailure is why a read failed, in one line: the connection's fate when the request got no
// answer (the command's other reads say the rest), else the API server's message.
func readFailure(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return Reason(err)
	}
	return errorMessage(err)
}
