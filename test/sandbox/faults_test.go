//go:build e2e

package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/faultproxy"
	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
)

// A Prometheus that never answers, answers with an error, or is not Prometheus: graph,
// canary's status and lockdown say which, and none waits past --request-timeout. graph
// --watch outlives a failed poll. canary --auto under faults on its writes, or Ctrl-C, ends
// with the route as it was or the canary promoted.
func TestUnderFaults(t *testing.T) {
	sb := startSandbox(t)
	path := plugins(t)
	prom, err := faultproxy.New(sb.PrometheusURL)
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()

	every := func(f faultproxy.Fault) *faultproxy.Rule { return &faultproxy.Rule{Nth: 1, Every: true, Fault: f} }
	for _, tc := range []struct {
		name string
		rule *faultproxy.Rule
		say  string
	}{
		{"never answers", every(faultproxy.Fault{Delay: time.Hour}), "did not answer within 2s (--request-timeout)"},
		{"answers an error", every(faultproxy.Fault{Status: 503, ContentType: "application/json", Body: `{"status":"error","errorType":"unavailable","error":"too many queries"}`}),
			"answered with an error (unavailable, HTTP 503 Service Unavailable): too many queries"},
		{"is not Prometheus", every(faultproxy.Fault{Status: 502, ContentType: "text/html", Body: "<html>Bad Gateway</html>"}),
			"answered HTTP 502 Bad Gateway, not its API's JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prom.Set(tc.rule)
			defer prom.Set()
			flags := []string{"--prometheus-url", prom.URL, "--request-timeout", "2s"}
			for _, args := range [][]string{
				append([]string{"mesh", "graph", "-A"}, flags...),
				append([]string{"mesh", "canary", "reviews"}, flags...),
				append([]string{"mesh", "lockdown", "default", "--dry-run", "--force"}, flags...),
			} {
				start := time.Now()
				r := kubectl(t, path, sb, args...)
				if took := time.Since(start); took > 20*time.Second {
					t.Errorf("%v took %s with --request-timeout 2s", args[:3], took)
				}
				if !strings.Contains(r.stderr, tc.say) || strings.Contains(r.stderr, "cannot reach") {
					t.Errorf("%v: want %q:\n%+v", args[:3], tc.say, r)
				}
			}
		})
	}

	t.Run("graph --watch outlives a failed poll", func(t *testing.T) {
		// The second frame's five queries fail; the third frame draws again.
		prom.Set(&faultproxy.Rule{Nth: 6, Until: 10, Fault: faultproxy.Fault{Status: 503, ContentType: "application/json", Body: `{"status":"error","errorType":"unavailable","error":"restarting"}`}})
		defer prom.Set()
		frames := watchFrames(t, path, sb, prom.URL, 3)
		if !strings.Contains(frames[1], "error: Prometheus at --prometheus-url "+prom.URL+" answered with an error") || !strings.Contains(frames[1], "trying again in 1s") {
			t.Errorf("frame 2 does not show the failed poll:\n%s", frames[1])
		}
		if !strings.Contains(frames[2], "default/productpage-v1") {
			t.Errorf("frame 3 does not draw the graph again:\n%s", frames[2])
		}
	})

	t.Run("canary --auto", func(t *testing.T) {
		api, err := faultproxy.NewTLS(sb.Cluster.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer api.Close()
		kubeconfig, err := sb.Cluster.KubeconfigVia(api.URL, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		auto := []string{"mesh", "canary", "reviews", "--auto", "--canary", "v2", "--steps", "50,100", "--interval", "4s", "--min-requests", "3", "--max-error-rate", "50", "--prometheus-url", sb.PrometheusURL, "--kubeconfig", kubeconfig}
		for _, tc := range []struct {
			name  string
			fault func(interrupt func()) faultproxy.Fault
			write int
			say   string
		}{
			{"503 on step 2", func(func()) faultproxy.Fault { return faultproxy.Fault{Status: 503} }, 2, "step 2/2 could not be set"},
			{"503 on the promotion", func(func()) faultproxy.Fault { return faultproxy.Fault{Status: 503} }, 3, "promoting v2 failed"},
			{"Ctrl-C while holding step 1", func(interrupt func()) faultproxy.Fault { return faultproxy.Fault{After: interrupt} }, 1, "interrupted at step 1/2 (Ctrl-C or a termination signal); rolled back"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resetReviews(t, sb)
				cmd := exec.Command("kubectl", auto...)
				cmd.Env = append(os.Environ(), "PATH="+path, "MESH_PROMETHEUS_URL=")
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				interrupt := func() { _ = cmd.Process.Signal(syscall.SIGINT) }
				api.Set(&faultproxy.Rule{Match: faultproxy.Writes, Nth: tc.write, Fault: tc.fault(interrupt)})
				defer api.Set()
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				err := cmd.Wait()
				if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 || !strings.Contains(stderr.String(), tc.say) {
					t.Errorf("want exit 1 and %q: %v\nstdout:\n%s\nstderr:\n%s", tc.say, err, stdout.String(), stderr.String())
				}
				assertRoute(t, sb, "v1 100")
			})
		}
	})
}

// resetReviews routes all of reviews to v1 again.
func resetReviews(t *testing.T, sb *sandbox.Sandbox) {
	t.Helper()
	apply := exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "apply", "-f", "-")
	apply.Stdin = strings.NewReader(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 100
`)
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// watchFrames runs graph --watch against prometheusURL until it has drawn n frames, then
// stops it with Ctrl-C, and returns the frames.
func watchFrames(t *testing.T, path string, sb *sandbox.Sandbox, prometheusURL string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", "mesh", "graph", "-n", "default", "--window", "10s", "--watch", "--interval", "1s", "--prometheus-url", prometheusURL)
	cmd.Env = append(os.Environ(), "PATH="+path, "KUBECONFIG="+sb.Cluster.Kubeconfig)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var frames []string
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() && len(frames) <= n {
		line := scanner.Text()
		if strings.HasPrefix(line, "Every 1s: kubectl mesh graph") {
			frames = append(frames, "")
			continue
		}
		if len(frames) > 0 {
			frames[len(frames)-1] += line + "\n"
		}
	}
	_ = cmd.Process.Signal(os.Interrupt)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if err := cmd.Wait(); err != nil {
		t.Errorf("--watch did not end cleanly on Ctrl-C: %v", err)
	}
	if len(frames) < n {
		t.Fatalf("saw %d frames before the output ended", len(frames))
	}
	return frames[:n]
}
