package testcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/kubectl-mesh/kubectl-mesh/internal/manifest"
)

// IstioCRDFile finds Istio's CRDs in the istio.io/api module that our istio.io/client-go
// pins, so that the test cluster serves exactly the schema our clients were generated from.
// moduleDir is any directory inside the main module.
func IstioCRDFile(moduleDir string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "istio.io/api")
	cmd.Dir = moduleDir
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("go list -m istio.io/api: %s", exit.Stderr)
		}
		return "", fmt.Errorf("go list -m istio.io/api: %w", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", errors.New("go list -m istio.io/api: module not downloaded (run go mod download)")
	}
	return dir + "/kubernetes/customresourcedefinitions.gen.yaml", nil
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRDs creates every CustomResourceDefinition in file and waits until the API server
// serves networking.istio.io/v1 and security.istio.io/v1.
func InstallCRDs(ctx context.Context, cfg *rest.Config, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	objects, err := manifest.Decode(data)
	if err != nil {
		return fmt.Errorf("decoding %s: %w", file, err)
	}
	for _, obj := range objects {
		if obj.GetKind() != "CustomResourceDefinition" {
			continue
		}
		_, err := client.Resource(crdResource).Create(ctx, obj, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating CRD %s: %w", obj.GetName(), err)
		}
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	want := map[string]string{"networking.istio.io/v1": "virtualservices", "security.istio.io/v1": "authorizationpolicies"}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		for gv, resource := range want {
			list, err := disc.ServerResourcesForGroupVersion(gv)
			if err != nil {
				return false, nil
			}
			found := false
			for _, r := range list.APIResources {
				found = found || r.Name == resource
			}
			if !found {
				return false, nil
			}
		}
		return true, nil
	})
}
