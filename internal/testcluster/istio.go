package testcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/kubectl-mesh/kubectl-mesh/internal/manifest"
)

// IstioCRDFile finds Istio's CRDs in the istio.io/api module that our istio.io/client-go
// pins, so that the test cluster serves exactly the schema our clients were generated from.
// repoRoot is the main module's directory.
func IstioCRDFile(repoRoot string) (string, error) {
	dir, err := moduleDir(repoRoot, "istio.io/api")
	if err != nil {
		return "", err
	}
	return dir + "/kubernetes/customresourcedefinitions.gen.yaml", nil
}

// GatewayAPICRDFiles finds the standard channel's CRDs of Gateway API in the version of the
// sigs.k8s.io/gateway-api module that Istio pins (the istioctl tools module's), as users
// install them before Istio's Gateway API support.
func GatewayAPICRDFiles(repoRoot string) ([]string, error) {
	dir, err := moduleDir(filepath.Join(repoRoot, "hack", "tools", "istioctl"), "sigs.k8s.io/gateway-api")
	if err != nil {
		return nil, err
	}
	return filepath.Glob(filepath.Join(dir, "config", "crd", "standard", "gateway.networking.k8s.io_*.yaml"))
}

// moduleDir is where the module's source is, in the version the module at dir requires
// (downloaded if need be).
func moduleDir(dir, module string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("go list -m %s: %s", module, exit.Stderr)
		}
		return "", fmt.Errorf("go list -m %s: %w", module, err)
	}
	if d := strings.TrimSpace(string(out)); d != "" {
		return d, nil
	}
	download := exec.Command("go", "mod", "download", module)
	download.Dir = dir
	if out, err := download.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go mod download %s: %v: %s", module, err, out)
	}
	return moduleDir(dir, module)
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRDs creates every CustomResourceDefinition in files and waits until the API server
// serves each of them (in its storage version).
func InstallCRDs(ctx context.Context, cfg *rest.Config, files ...string) error {
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	want := map[string]string{} // group version -> resource, one per CRD
	for _, file := range files {
		data, err := os.ReadFile(file)
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
			group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
			plural, _, _ := unstructured.NestedString(obj.Object, "spec", "names", "plural")
			versions, _, _ := unstructured.NestedSlice(obj.Object, "spec", "versions")
			for _, v := range versions {
				if stored, _ := v.(map[string]any)["storage"].(bool); stored {
					want[group+"/"+v.(map[string]any)["name"].(string)+"/"+plural] = plural
				}
			}
		}
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		for key, resource := range want {
			gv := key[:strings.LastIndex(key, "/")]
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

// InstallMeshCRDs installs what a cluster running Istio serves: Istio's CRDs and Gateway API's
// standard channel, in the versions the project pins.
func InstallMeshCRDs(ctx context.Context, cfg *rest.Config, repoRoot string) error {
	istioCRDs, err := IstioCRDFile(repoRoot)
	if err != nil {
		return err
	}
	gatewayCRDs, err := GatewayAPICRDFiles(repoRoot)
	if err != nil {
		return err
	}
	if len(gatewayCRDs) == 0 {
		return errors.New("no Gateway API CRDs found in sigs.k8s.io/gateway-api's config/crd/standard")
	}
	if err := InstallCRDs(ctx, cfg, append([]string{istioCRDs}, gatewayCRDs...)...); err != nil {
		return fmt.Errorf("installing Istio's and Gateway API's CRDs: %w", err)
	}
	return nil
}
