//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/faultproxy"
)

// fault is one row of the fault table: what the proxy does to the N-th write, and what the
// plugin must then say.
type fault struct {
	name string
	make func(signal func()) faultproxy.Fault
	args []string // added to the plugin's arguments
	// say is what the message must contain when the command fails.
	say []string
}

var faults = []fault{
	{name: "500", make: func(func()) faultproxy.Fault { return faultproxy.Fault{Status: 500} },
		say: []string{"failed: injected fault: HTTP 500"}},
	{name: "503", make: func(func()) faultproxy.Fault { return faultproxy.Fault{Status: 503} },
		say: []string{"failed: injected fault: HTTP 503"}},
	// client-go waits as told and sends the write again: the command succeeds.
	{name: "429 with Retry-After", make: func(func()) faultproxy.Fault {
		return faultproxy.Fault{Status: 429, RetryAfter: "1", Body: `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"slow down","reason":"TooManyRequests","code":429}`, ContentType: "application/json"}
	}},
	{name: "reset before the server", make: func(func()) faultproxy.Fault { return faultproxy.Fault{ResetBefore: true} },
		say: []string{"lost the connection to the API server at https://127.0.0.1:"}},
	{name: "reset after the server acted", make: func(func()) faultproxy.Fault { return faultproxy.Fault{ResetAfter: true} },
		say: []string{"lost the connection to the API server at https://127.0.0.1:"}},
	{name: "answer past --request-timeout", make: func(func()) faultproxy.Fault { return faultproxy.Fault{Delay: time.Minute} },
		args: []string{"--request-timeout", "1s"}, say: []string{"did not answer in time (--request-timeout)"}},
	{name: "a proxy's HTML page", make: func(func()) faultproxy.Fault {
		return faultproxy.Fault{Status: 200, ContentType: "text/html", Body: "<html><body>Welcome to nginx!</body></html>"}
	}, say: []string{"not Kubernetes JSON", "Welcome to nginx!"}},
	{name: "Ctrl-C after the write", make: func(signal func()) faultproxy.Fault { return faultproxy.Fault{After: signal} },
		say: []string{"interrupted (Ctrl-C or a termination signal)"}},
}

// operation is a command that moves a namespace from one state to another.
type operation struct {
	name string
	args func(ns string) []string
	// setUp puts the namespace in the state the operation starts from.
	setUp func(t *testing.T, ns string, kubeconfig string)
}

// Every operation that writes, under every fault on every one of its writes, ends in the
// state before or the state after, never between; a failure says what happened, what is in
// force and what to do; a 429 is waited out; no run waits past --request-timeout.
func TestFaultTable(t *testing.T) {
	t.Parallel()
	operations := []operation{
		{name: "lockdown", args: func(ns string) []string { return []string{"mesh", "lockdown", ns, "--allow-from", "ns/" + ns} },
			setUp: func(t *testing.T, ns, _ string) {}},
		{name: "lockdown --undo", args: func(ns string) []string { return []string{"mesh", "lockdown", ns, "--undo"} },
			setUp: func(t *testing.T, ns, kubeconfig string) {
				mustSucceed(t, run(t, command{name: "kubectl", args: []string{"mesh", "lockdown", ns, "--allow-from", "ns/" + ns, "--kubeconfig", cluster.Kubeconfig}}))
			}},
		{name: "canary", args: func(ns string) []string { return []string{"mesh", "canary", "reviews", "10", "-n", ns} },
			setUp: func(t *testing.T, ns, _ string) { apply(t, fmt.Sprintf(reviewsAllV1, ns)) }},
		{name: "canary --promote", args: func(ns string) []string { return []string{"mesh", "canary", "reviews", "-n", ns, "--promote"} },
			setUp: func(t *testing.T, ns, _ string) { apply(t, fmt.Sprintf(reviewsSplit, ns)) }},
		{name: "canary --rollback", args: func(ns string) []string { return []string{"mesh", "canary", "reviews", "-n", ns, "--rollback"} },
			setUp: func(t *testing.T, ns, _ string) { apply(t, fmt.Sprintf(reviewsSplit, ns)) }},
	}
	for i, op := range operations {
		t.Run(op.name, func(t *testing.T) {
			t.Parallel()
			ns := exposedBookinfo(t, fmt.Sprintf("faults-%d", i))
			proxy, err := faultproxy.NewTLS(cluster.URL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(proxy.Close)
			kubeconfig, err := cluster.KubeconfigVia(proxy.URL, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			op.setUp(t, ns, kubeconfig)
			before := meshState(t, ns)
			// A clean run through the proxy: the state after, and how many writes it takes.
			writes := proxy.Writes()
			mustSucceed(t, runThrough(t, kubeconfig, op.args(ns), nil))
			after, count := meshState(t, ns), proxy.Writes()-writes
			if after == before || count == 0 {
				t.Fatalf("%s changed nothing (%d writes)", op.name, count)
			}
			restore(t, ns, op, before)
			for _, f := range faults {
				for n := 1; n <= count; n++ {
					t.Run(fmt.Sprintf("%s on write %d of %d", f.name, n, count), func(t *testing.T) {
						var plugin atomic.Pointer[os.Process]
						interrupt := func() { _ = plugin.Load().Signal(syscall.SIGINT) } // Ctrl-C
						proxy.Set(&faultproxy.Rule{Match: faultproxy.Writes, Nth: n, Fault: f.make(interrupt)})
						start := time.Now()
						r := runThrough(t, kubeconfig, append(op.args(ns), f.args...), plugin.Store)
						took := time.Since(start)
						state := meshState(t, ns)
						switch {
						case state == before && r.code == 1:
							for _, want := range f.say {
								if !strings.Contains(r.stderr, want) {
									t.Errorf("the message lacks %q:\n%s", want, r)
								}
							}
							if !strings.Contains(r.stderr, "nothing was left changed") {
								t.Errorf("the message does not say the cluster is as it was:\n%s", r)
							}
						case state == after && (r.code == 0 || r.code == -1 && f.name == "Ctrl-C after the write"):
							// The write went through in the end (a 429 waited out), or the
							// Ctrl-C came after the last write, as the command ended (its
							// default action, death by the signal, once we stop catching it).
						default:
							t.Errorf("%s under %s on write %d: exit %d, and the cluster is neither as before nor as after:\n%s\nstate:\n%s\nbefore:\n%s\nafter:\n%s", op.name, f.name, n, r.code, r, state, before, after)
						}
						assertNoStackTrace(t, r)
						if len(f.args) > 0 && took > 20*time.Second {
							t.Errorf("with --request-timeout 1s the command took %s", took)
						}
						proxy.Set()
						if state == after {
							restore(t, ns, op, before)
						}
					})
				}
			}
		})
	}
}

const reviewsSplit = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: %s}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v2}
      weight: 10
`

// restore brings ns back to before, without faults, and checks that it is.
func restore(t *testing.T, ns string, op operation, before string) {
	t.Helper()
	switch {
	case strings.HasPrefix(op.name, "lockdown --undo"):
		mustSucceed(t, run(t, command{name: "kubectl", args: []string{"mesh", "lockdown", ns, "--allow-from", "ns/" + ns, "--kubeconfig", cluster.Kubeconfig}}))
	case strings.HasPrefix(op.name, "lockdown"):
		mustSucceed(t, run(t, command{name: "kubectl", args: []string{"mesh", "lockdown", ns, "--undo", "--kubeconfig", cluster.Kubeconfig}}))
	case op.name == "canary":
		apply(t, fmt.Sprintf(reviewsAllV1, ns))
	default:
		apply(t, fmt.Sprintf(reviewsSplit, ns))
	}
	if got := meshState(t, ns); got != before {
		t.Fatalf("could not restore %s:\n%s\nwant:\n%s", ns, got, before)
	}
}

// runThrough runs `kubectl ARGS...` with kubeconfig; started, when set, is handed the
// process, which is the plugin's (kubectl execs the plugin in its place).
func runThrough(t *testing.T, kubeconfig string, args []string, started func(*os.Process)) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append(args, "--kubeconfig", kubeconfig)...)
	cmd.Env = os.Environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if started != nil {
		started(cmd.Process)
	}
	err := cmd.Wait()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if exit, ok := err.(*exec.ExitError); ok {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// meshState is what kubectl mesh writes in ns, one line per object: kind/name, labels and
// spec, without what the API server adds (uid, resourceVersion, timestamps).
func meshState(t *testing.T, ns string) string {
	t.Helper()
	r := mustSucceed(t, kubectl(t, "get", "virtualservices.networking.istio.io,destinationrules.networking.istio.io,peerauthentications.security.istio.io,authorizationpolicies.security.istio.io", "-n", ns, "-o", "json"))
	return stateOf(t, r.stdout, false)
}

// stateOf is a kubectl get -o json list as one sorted line per object: kind/name, labels
// (and, with annotations, the annotations but kubectl apply's own) and spec.
func stateOf(t *testing.T, listJSON string, annotations bool) string {
	t.Helper()
	var list struct {
		Items []struct {
			Kind     string
			Metadata struct {
				Name        string
				Labels      map[string]string
				Annotations map[string]string
			}
			Spec json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(listJSON), &list); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, item := range list.Items {
		meta, _ := json.Marshal(item.Metadata.Labels)
		if annotations {
			delete(item.Metadata.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
			meta, _ = json.Marshal(item.Metadata)
		}
		var spec any
		_ = json.Unmarshal(item.Spec, &spec)
		canonical, _ := json.Marshal(spec)
		lines = append(lines, fmt.Sprintf("%s/%s %s %s", item.Kind, item.Metadata.Name, meta, canonical))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
