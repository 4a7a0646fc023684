//go:build e2e

// Package e2e runs the plugin binaries the way users do: through the kubectl on PATH (which
// finds them by plugin lookup) against a real kube-apiserver and etcd with Istio's CRDs, and
// judges the cluster afterwards with the real istioctl analyze.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

var (
	repoRoot  string
	binDir    string // the test components: etcd, kube-apiserver, istioctl
	pluginDir string // our four plugin binaries, put first on PATH
	workDir   string

	cluster *testcluster.Cluster // Istio's CRDs installed, bookinfo in default
	fixture *testcluster.Fixture
)

func TestMain(m *testing.M) {
	os.Exit(setUpAndRun(m))
}

func setUpAndRun(m *testing.M) int {
	var err error
	if repoRoot, err = filepath.Abs("../.."); err != nil {
		return fail(err)
	}
	binDir = filepath.Join(repoRoot, ".cache", "bin")
	if workDir, err = os.MkdirTemp("", "kubectl-mesh-e2e-"); err != nil {
		return fail(err)
	}
	keep := os.Getenv("E2E_KEEP") != ""
	defer func() {
		if !keep {
			os.RemoveAll(workDir)
		}
	}()

	pluginDir = filepath.Join(workDir, "plugins")
	build := exec.Command("go", "build", "-o", pluginDir+"/", "./cmd/...")
	build.Dir, build.Stdout, build.Stderr = repoRoot, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fail(fmt.Errorf("building plugins: %w", err))
	}
	// kubectl finds plugins on PATH; ours come first. Tests never read a user's kubeconfig.
	os.Setenv("PATH", pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	os.Setenv("KUBECONFIG", filepath.Join(workDir, "no-such-kubeconfig"))
	os.Unsetenv("MESH_PROMETHEUS_URL") // nor a user's Prometheus or Jaeger
	os.Unsetenv("MESH_JAEGER_URL")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if cluster, err = startCluster(ctx, "istio"); err != nil {
		return fail(err)
	}
	defer cluster.Stop()
	admin, err := cluster.RESTConfig("admin")
	if err != nil {
		return fail(err)
	}
	if err := testcluster.InstallMeshCRDs(ctx, admin, repoRoot); err != nil {
		return fail(err)
	}
	if fixture, err = testcluster.NewFixture(admin); err != nil {
		return fail(err)
	}
	if err := fixture.LoadIngressGateway(ctx); err != nil {
		return fail(fmt.Errorf("loading the ingress gateway: %w", err))
	}
	if err := fixture.LoadBookinfo(ctx, "default"); err != nil {
		return fail(fmt.Errorf("loading bookinfo: %w", err))
	}
	if err := fixture.LoadBookinfoGateway(ctx, "default"); err != nil {
		return fail(fmt.Errorf("loading bookinfo's gateway: %w", err))
	}
	code := m.Run()
	stopBareCluster()
	stopTwo()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "cluster logs: %s (set E2E_KEEP=1 to keep them)\n", cluster.Dir())
	}
	return code
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "e2e setup:", err)
	return 1
}

func startCluster(ctx context.Context, name string) (*testcluster.Cluster, error) {
	dir := filepath.Join(workDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return testcluster.Start(ctx, testcluster.Options{BinDir: binDir, Dir: dir})
}

// A second cluster without Istio's CRDs, started on first use.
var (
	bareOnce sync.Once
	bare     *testcluster.Cluster
	bareErr  error
)

func bareCluster(t *testing.T) *testcluster.Cluster {
	t.Helper()
	bareOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		bare, bareErr = startCluster(ctx, "bare")
	})
	if bareErr != nil {
		t.Fatalf("starting a cluster without Istio: %v", bareErr)
	}
	return bare
}

func stopBareCluster() {
	if bare != nil {
		bare.Stop()
	}
}

// result is what a command printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// command is one program to run, as a user's shell would: its arguments, and what to add to
// the test's environment and feed on stdin.
type command struct {
	name  string
	args  []string
	env   []string
	stdin string
}

// run runs c and returns what it printed and how it exited. Every program a test runs goes
// through here.
func run(t *testing.T, c command) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.name, c.args...)
	cmd.Env = append(os.Environ(), c.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(c.stdin)
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		exit, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %s: %v", c.name, strings.Join(c.args, " "), err)
		}
		r.code = exit.ExitCode()
	}
	return r
}

// kubectl runs the real kubectl against the test cluster as the admin user.
func kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, command{name: "kubectl", args: append([]string{"--kubeconfig", cluster.Kubeconfig}, args...)})
}

// plugin runs `kubectl ARGS...` with --kubeconfig after the plugin's own arguments: kubectl
// hands everything after a plugin's name to the plugin, which parses the flag itself.
func plugin(t *testing.T, c *testcluster.Cluster, args ...string) result {
	t.Helper()
	return run(t, command{name: "kubectl", args: append(args, "--kubeconfig", c.Kubeconfig)})
}

// apply creates or updates the objects in manifest with kubectl apply, as the admin.
func apply(t *testing.T, manifest string) {
	t.Helper()
	mustSucceed(t, run(t, command{name: "kubectl", args: []string{"--kubeconfig", cluster.Kubeconfig, "apply", "-f", "-"}, stdin: manifest}))
}

// mustSucceed fails the test unless r exited 0.
func mustSucceed(t *testing.T, r result) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("command failed:\n%s", r)
	}
	return r
}

// analysis is one istioctl analyze message.
type analysis struct {
	Code    string `json:"code"`
	Level   string `json:"level"`
	Origin  string `json:"origin"`
	Message string `json:"message"`
}

func (a analysis) String() string {
	return fmt.Sprintf("%s [%s] (%s) %s", a.Level, a.Code, a.Origin, a.Message)
}

// analyze runs the real istioctl analyze on namespace ns and returns its messages at level Error.
func analyze(t *testing.T, ns string) []analysis {
	t.Helper()
	r := run(t, command{name: filepath.Join(binDir, "istioctl"), args: []string{"analyze", "--kubeconfig", cluster.Kubeconfig, "-n", ns, "-o", "json"}})
	// istioctl analyze exits 79 when it finds issues at --failure-threshold (Error by default).
	if r.code != 0 && r.code != 79 {
		t.Fatalf("istioctl analyze failed:\n%s", r)
	}
	var all []analysis
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		t.Fatalf("istioctl analyze -o json printed something else (%v):\n%s", err, r)
	}
	var errs []analysis
	for _, a := range all {
		if a.Level == "Error" {
			errs = append(errs, a)
		}
	}
	return errs
}
