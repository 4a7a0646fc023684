//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

var operations = []string{"canary", "lockdown", "graph", "traces", "doctor"}

// kubectl discovers all six binaries as plugins.
func TestKubectlListsThePlugins(t *testing.T) {
	r := run(t, command{name: "kubectl", args: []string{"plugin", "list", "--name-only"}})
	for _, name := range []string{"kubectl-mesh", "kubectl-mesh_canary", "kubectl-mesh_lockdown", "kubectl-mesh_graph", "kubectl-mesh_traces", "kubectl-mesh_doctor"} {
		if !containsLine(r.stdout, name) {
			t.Errorf("kubectl plugin list does not show %s:\n%s", name, r)
		}
	}
}

// `kubectl mesh OP` (umbrella) and `kubectl mesh-OP` (own binary) are the same command: same
// help, same flags, the usage line spelled as the user called it.
func TestBothSpellingsGiveTheSameHelp(t *testing.T) {
	for _, op := range operations {
		t.Run(op, func(t *testing.T) {
			umbrella := mustSucceed(t, run(t, command{name: "kubectl", args: []string{"mesh", op, "--help"}}))
			single := mustSucceed(t, run(t, command{name: "kubectl", args: []string{"mesh-" + op, "--help"}}))
			spelledAsUmbrella := strings.NewReplacer("kubectl mesh-"+op, "kubectl mesh "+op, "help for mesh-"+op, "help for "+op).Replace(single.stdout)
			if umbrella.stdout != spelledAsUmbrella {
				t.Errorf("help differs:\n--- kubectl mesh %s --help\n%s\n--- kubectl mesh-%s --help\n%s", op, umbrella.stdout, op, single.stdout)
			}
			if !strings.Contains(umbrella.stdout, "Usage:\n  kubectl mesh "+op) {
				t.Errorf("usage line does not read `kubectl mesh %s`:\n%s", op, umbrella.stdout)
			}
			if !strings.Contains(single.stdout, "Usage:\n  kubectl mesh-"+op) {
				t.Errorf("usage line does not read `kubectl mesh-%s`:\n%s", op, single.stdout)
			}
			for _, flag := range []string{"--kubeconfig", "--context", "-n, --namespace", "--as ", "--request-timeout"} {
				if !strings.Contains(umbrella.stdout, flag) {
					t.Errorf("help lacks the connection flag %s", flag)
				}
			}
		})
	}
}

func TestUmbrellaHelpListsEveryCommand(t *testing.T) {
	r := mustSucceed(t, run(t, command{name: "kubectl", args: []string{"mesh", "--help"}}))
	if !strings.Contains(r.stdout, "kubectl mesh [command]") {
		t.Errorf("usage line does not read `kubectl mesh [command]`:\n%s", r.stdout)
	}
	for _, sub := range append(operations, "version", "completion") {
		if !strings.Contains(r.stdout, "\n  "+sub+" ") {
			t.Errorf("kubectl mesh --help does not list %q:\n%s", sub, r.stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	r := mustSucceed(t, run(t, command{name: "kubectl", args: []string{"mesh", "version"}}))
	if !strings.HasPrefix(r.stdout, "kubectl-mesh ") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("unexpected version output:\n%s", r)
	}
}

func TestCompletionScript(t *testing.T) {
	r := mustSucceed(t, run(t, command{name: "kubectl", args: []string{"mesh", "completion", "bash"}}))
	if !strings.Contains(r.stdout, "bash completion") {
		t.Errorf("kubectl mesh completion bash printed no bash completion script:\n%.300s", r.stdout)
	}
}

// On a cluster without Istio's CRDs every operation, by either spelling, stops with one clear
// error and no stack trace; doctor reports it as its finding, and traces, which reads Jaeger
// alone, says where it looked for Jaeger.
func TestClusterWithoutIstio(t *testing.T) {
	c := bareCluster(t)
	args := map[string][]string{"canary": {"reviews", "10"}, "lockdown": {"default"}, "graph": nil}
	for _, op := range operations {
		for _, spelling := range [][]string{{"mesh", op}, {"mesh-" + op}} {
			t.Run(strings.Join(spelling, " "), func(t *testing.T) {
				r := plugin(t, c, append(spelling, args[op]...)...)
				if r.code != 1 {
					t.Fatalf("want exit 1, got:\n%s", r)
				}
				assertNoStackTrace(t, r)
				if op == "traces" {
					if !strings.HasPrefix(r.stderr, "error: no Jaeger found") {
						t.Errorf("traces on a cluster without Jaeger:\n%s", r)
					}
					return
				}
				if op == "doctor" {
					if !strings.Contains(r.stdout, "Istio's CRDs are not served") || !strings.Contains(r.stderr, "error: findings at or above --fail-on error") {
						t.Errorf("doctor does not report the missing install:\n%s", r)
					}
					return
				}
				want := "error: Istio is not installed in this cluster"
				if !strings.HasPrefix(r.stderr, want) {
					t.Errorf("stderr does not start with %q:\n%s", want, r)
				}
			})
		}
	}
}

func TestUnreachableCluster(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	// Port 1 on loopback: nothing listens there.
	config := `apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
current-context: gone
`
	if err := os.WriteFile(kubeconfig, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, command{name: "kubectl", args: []string{"mesh", "canary", "reviews", "10", "--kubeconfig", kubeconfig}})
	if r.code != 1 || !strings.Contains(r.stderr, "cannot reach the API server at https://127.0.0.1:1") {
		t.Errorf("want a clear connection error, got:\n%s", r)
	}
	assertNoStackTrace(t, r)
}

func TestUnknownFlag(t *testing.T) {
	for _, spelling := range [][]string{{"mesh", "canary"}, {"mesh-canary"}} {
		r := run(t, command{name: "kubectl", args: append(spelling, "--bogus")})
		if r.code != 1 || !strings.Contains(r.stderr, "unknown flag: --bogus") || !strings.Contains(r.stderr, "kubectl "+strings.Join(spelling, " ")+" --help") {
			t.Errorf("%v --bogus: want a usage error pointing at the help, got:\n%s", spelling, r)
		}
	}
}

// The fixture itself is sound: istioctl analyze finds no error in bookinfo as loaded.
func TestBookinfoFixturePassesAnalyze(t *testing.T) {
	if errs := analyze(t, "default"); len(errs) > 0 {
		t.Errorf("istioctl analyze reports errors on the fixture: %v", errs)
	}
	r := mustSucceed(t, kubectl(t, "get", "pods", "-n", "default", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}"))
	for _, pod := range []string{"productpage-v1-0", "details-v1-0", "ratings-v1-0", "reviews-v1-0", "reviews-v2-0", "reviews-v3-0"} {
		if !containsLine(r.stdout, pod+" True") {
			t.Errorf("pod %s is not Ready:\n%s", pod, r.stdout)
		}
	}
}

func assertNoStackTrace(t *testing.T, r result) {
	t.Helper()
	for _, marker := range []string{"goroutine ", "panic:", ".go:"} {
		if strings.Contains(r.stderr, marker) {
			t.Errorf("stderr carries a stack trace (%q):\n%s", marker, r.stderr)
		}
	}
}

func containsLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// The oracle can fail: istioctl analyze on this cluster does report a VirtualService that
// routes to a subset the DestinationRule lacks (IST0101).
func TestAnalyzeCatchesAMissingSubset(t *testing.T) {
	ns := "oracle-check"
	if err := fixture.EnsureNamespace(t.Context(), ns, map[string]string{"istio-injection": "enabled"}); err != nil {
		t.Fatal(err)
	}
	if err := fixture.LoadApp(t.Context(), ns, testcluster.Workload{App: "web", Version: "v1", ServiceAccount: "web", Replicas: 1, Ready: 1}); err != nil {
		t.Fatal(err)
	}
	apply(t, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: oracle-check}
spec:
  hosts: [web]
  http:
  - route:
    - destination: {host: web, subset: v9}
`)
	errs := analyze(t, ns)
	if len(errs) != 1 || errs[0].Code != "IST0101" || !strings.Contains(errs[0].Message, "v9") {
		t.Errorf("want one IST0101 naming subset v9, got %v", errs)
	}
}

// kubectl completes plugin arguments by running kubectl_complete-mesh: services and
// namespaces come from the cluster.
func TestShellCompletionThroughKubectl(t *testing.T) {
	complete := func(args ...string) string {
		t.Helper()
		r := run(t, command{name: "kubectl", args: append([]string{"__complete"}, args...), env: []string{"KUBECONFIG=" + cluster.Kubeconfig}})
		mustSucceed(t, r)
		return r.stdout
	}
	if got := complete("mesh", "canary", "re"); !strings.HasPrefix(got, "reviews\n:4\n") {
		t.Errorf("kubectl mesh canary re<TAB>:\n%s", got)
	}
	if got := complete("mesh", "canary", "reviews", "--canary", ""); !strings.HasPrefix(got, "v1\nv2\nv3\n:4\n") {
		t.Errorf("kubectl mesh canary reviews --canary <TAB>:\n%s", got)
	}
	if got := complete("mesh", "lockdown", "istio-"); !strings.HasPrefix(got, "istio-system\n:4\n") {
		t.Errorf("kubectl mesh lockdown istio-<TAB>:\n%s", got)
	}
	if got := complete("mesh", "c"); !strings.Contains(got, "canary") || !strings.Contains(got, "completion") {
		t.Errorf("kubectl mesh c<TAB>:\n%s", got)
	}
}
