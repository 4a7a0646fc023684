// Command sandbox runs the mesh sandbox until interrupted: etcd, kube-apiserver with Istio's
// CRDs, bookinfo, Prometheus, and the simulated data plane. `make sandbox` runs it;
// `make sandbox CLUSTERS=2` (-clusters 2) runs a mesh of two clusters.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
)

func main() {
	dir := flag.String("dir", "", "working directory (default: a new temporary one)")
	envFile := flag.String("env-file", "", "also write the export lines to this file once traffic flows")
	scrape := flag.Duration("scrape", 5*time.Second, "Prometheus scrape interval")
	clusters := flag.Int("clusters", clustersFromEnv(), "clusters the mesh spans, 1 or 2 (default $CLUSTERS, else 1)")
	flag.Parse()
	stopWithParent()
	if err := run(*dir, *envFile, *scrape, *clusters); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

// clustersFromEnv is $CLUSTERS, as make passes it (1 when unset or not a number).
func clustersFromEnv() int {
	n, err := strconv.Atoi(os.Getenv("CLUSTERS"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

func run(dir, envFile string, scrape time.Duration, clusters int) (err error) {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "kubectl-mesh-sandbox-"); err != nil {
			return err
		}
		// Ours, so gone once everything in it has stopped: etcd's and Prometheus's data and
		// the logs come to over 100 MB. A directory given with -dir is the caller's to keep.
		defer removeUnlessFailed(dir, &err)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "sandbox: starting etcd, kube-apiserver, Prometheus, Jaeger and the simulated data plane in %s\n", dir)
	sb, err := sandbox.Start(ctx, sandbox.Options{RepoRoot: root, Dir: dir, Scrape: scrape, Clusters: clusters})
	if err != nil {
		return err
	}
	defer sb.Stop() // before the directory goes: deferred calls run last first
	exports := fmt.Sprintf("export KUBECONFIG=%s\nexport MESH_PROMETHEUS_URL=%s\nexport MESH_JAEGER_URL=%s\n", sb.Cluster.Kubeconfig, sb.PrometheusURL, sb.JaegerURL)
	if clusters > 1 {
		exports = clusterExports(sb)
	}
	fmt.Print(exports)
	if envFile != "" {
		if err := os.WriteFile(filepath.Clean(envFile), []byte(exports), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintln(os.Stderr, "sandbox: traffic is flowing; Ctrl-C stops everything")
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "sandbox: stopping")
	return nil
}

// removeUnlessFailed deletes the sandbox's directory, unless the sandbox failed: its logs
// (etcd.log, kube-apiserver.log, prometheus.log) then say why, and stderr says where.
func removeUnlessFailed(dir string, failed *error) {
	if *failed != nil && !errors.Is(*failed, context.Canceled) {
		fmt.Fprintf(os.Stderr, "sandbox: logs kept in %s\n", dir)
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: could not remove %s: %v\n", dir, err)
	}
}

// clusterExports are the lines to export for a mesh of several clusters: the kubeconfig of
// them all, the global Prometheus as the mesh's one URL, each cluster's own Prometheus, and
// the contexts with the cluster IDs their istiods run with.
func clusterExports(sb *sandbox.Sandbox) string {
	var b strings.Builder
	var contexts, perCluster []string
	for _, m := range sb.Members {
		contexts = append(contexts, m.Context)
		perCluster = append(perCluster, m.ID+"="+m.PrometheusURL)
		fmt.Fprintf(&b, "# context %s: cluster ID %s, network %s, its own Prometheus %s\n", m.Context, m.ID, m.Network, m.PrometheusURL)
		fmt.Fprintf(&b, "export MESH_PROMETHEUS_URL_%s=%s\n", strings.ToUpper(m.Context), m.PrometheusURL)
	}
	fmt.Fprintf(&b, "# per cluster instead of the global one: export MESH_PROMETHEUS_URL=%s\n", strings.Join(perCluster, ","))
	fmt.Fprintf(&b, "export KUBECONFIG=%s\n", sb.Kubeconfig)
	fmt.Fprintf(&b, "export MESH_CONTEXTS=%s\n", strings.Join(contexts, ","))
	fmt.Fprintf(&b, "export MESH_PROMETHEUS_URL=%s\n", sb.GlobalPrometheusURL)
	fmt.Fprintf(&b, "export MESH_JAEGER_URL=%s\n", sb.JaegerURL)
	return b.String()
}
