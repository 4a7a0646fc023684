//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// twoClusters is a mesh of two clusters, each its own API server with Istio's CRDs and an
// istiod whose cluster ID is not its context's name, as in Istio's multi-primary installs.
type twoClusters struct {
	// Kubeconfig holds both clusters: contexts east and west (admin), east-USER and west-USER
	// for the other users of testcluster.Users, and gone, whose API server does not answer.
	Kubeconfig string
	East, West *meshCluster
}

// meshCluster is one member of twoClusters.
type meshCluster struct {
	Context string // its admin context in twoClusters.Kubeconfig
	ID      string // istiod's CLUSTER_ID
	Cluster *testcluster.Cluster
	Fixture *testcluster.Fixture
}

// Cluster IDs and the unreachable context of the two-cluster mesh.
const (
	eastID      = "cluster-east"
	westID      = "cluster-west"
	goneContext = "gone"
)

var (
	twoOnce sync.Once
	two     *twoClusters
	twoErr  error
)

// meshOfTwo starts the two clusters on first use; tests share them, each in namespaces of its
// own (created in both clusters, e.g. with bookinfoInBoth).
func meshOfTwo(t *testing.T) *twoClusters {
	t.Helper()
	twoOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		two, twoErr = startTwoClusters(ctx)
	})
	if twoErr != nil {
		t.Fatalf("starting two clusters: %v", twoErr)
	}
	return two
}

func startTwoClusters(ctx context.Context) (*twoClusters, error) {
	m := &twoClusters{East: &meshCluster{Context: "east", ID: eastID}, West: &meshCluster{Context: "west", ID: westID}}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []*meshCluster{m.East, m.West} {
		wg.Go(func() { errs[i] = c.start(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			m.stop()
			return nil, err
		}
	}
	stopTwo = m.stop
	var err error
	m.Kubeconfig, err = m.writeKubeconfig()
	return m, err
}

// stopTwo stops the two clusters when they were started (TestMain calls it).
var stopTwo = func() {}

func (m *twoClusters) stop() {
	for _, c := range []*meshCluster{m.East, m.West} {
		if c.Cluster != nil {
			c.Cluster.Stop()
		}
	}
}

// start runs the cluster's API server, installs Istio's CRDs and istiod with its cluster ID.
func (c *meshCluster) start(ctx context.Context) error {
	var err error
	if c.Cluster, err = startCluster(ctx, "mesh-"+c.Context); err != nil {
		return err
	}
	admin, err := c.Cluster.RESTConfig("admin")
	if err != nil {
		return err
	}
	if err := testcluster.InstallMeshCRDs(ctx, admin, repoRoot); err != nil {
		return err
	}
	if c.Fixture, err = testcluster.NewFixture(admin); err != nil {
		return err
	}
	if err := c.Fixture.LoadControlPlane(ctx, 1); err != nil {
		return err
	}
	return c.Fixture.SetIstiodEnv(ctx, "CLUSTER_ID", c.ID)
}

// writeKubeconfig writes one kubeconfig of both clusters (contexts east, west, east-USER,
// west-USER) and of gone, a cluster whose API server does not answer.
func (m *twoClusters) writeKubeconfig() (string, error) {
	path := filepath.Join(workDir, "kubeconfig-two-clusters")
	members := []testcluster.MeshMember{{Context: m.East.Context, Cluster: m.East.Cluster}, {Context: m.West.Context, Cluster: m.West.Cluster}}
	if err := testcluster.WriteMeshKubeconfig(path, members...); err != nil {
		return "", err
	}
	merged, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return "", err
	}
	// Nothing listens on port 1 of loopback.
	merged.Clusters[goneContext] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", InsecureSkipTLSVerify: true}
	merged.AuthInfos[goneContext] = &clientcmdapi.AuthInfo{Token: "none"}
	merged.Contexts[goneContext] = &clientcmdapi.Context{Cluster: goneContext, AuthInfo: goneContext, Namespace: "default"}
	return path, clientcmd.WriteToFile(*merged, path)
}

// both runs fn for each cluster, east then west, failing the test on the first error.
func (m *twoClusters) both(t *testing.T, what string, fn func(c *meshCluster) error) {
	t.Helper()
	for _, c := range []*meshCluster{m.East, m.West} {
		if err := fn(c); err != nil {
			t.Fatalf("%s in %s: %v", what, c.Context, err)
		}
	}
}

// kubectl runs the real kubectl against one cluster as its admin.
func (c *meshCluster) kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, command{name: "kubectl", args: append([]string{"--kubeconfig", c.Cluster.Kubeconfig}, args...)})
}

// apply applies manifest in one cluster as its admin.
func (c *meshCluster) apply(t *testing.T, manifest string) {
	t.Helper()
	mustSucceed(t, run(t, command{name: "kubectl", args: []string{"--kubeconfig", c.Cluster.Kubeconfig, "apply", "-f", "-"}, stdin: manifest}))
}

// mesh runs `kubectl ARGS...` (a plugin) with the two clusters' kubeconfig.
func (m *twoClusters) mesh(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, command{name: "kubectl", args: append(args, "--kubeconfig", m.Kubeconfig)})
}

// bookinfoInBoth loads bookinfo into namespace ns of both clusters: the same namespace in
// each, as namespace sameness has it.
func (m *twoClusters) bookinfoInBoth(t *testing.T, ns string) string {
	t.Helper()
	m.both(t, "loading bookinfo into "+ns, func(c *meshCluster) error { return c.Fixture.LoadBookinfo(t.Context(), ns) })
	return ns
}
