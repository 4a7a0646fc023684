// Command sandbox runs the mesh sandbox until interrupted: etcd, kube-apiserver with Istio's
// CRDs, bookinfo, Prometheus, and the simulated data plane. `make sandbox` runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
)

func main() {
	dir := flag.String("dir", "", "working directory (default: a new temporary one)")
	envFile := flag.String("env-file", "", "also write the export lines to this file once traffic flows")
	scrape := flag.Duration("scrape", 5*time.Second, "Prometheus scrape interval")
	flag.Parse()
	stopWithParent()
	if err := run(*dir, *envFile, *scrape); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func run(dir, envFile string, scrape time.Duration) (err error) {
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
	sb, err := sandbox.Start(ctx, sandbox.Options{RepoRoot: root, Dir: dir, Scrape: scrape})
	if err != nil {
		return err
	}
	defer sb.Stop() // before the directory goes: deferred calls run last first
	exports := fmt.Sprintf("export KUBECONFIG=%s\nexport MESH_PROMETHEUS_URL=%s\nexport MESH_JAEGER_URL=%s\n", sb.Cluster.Kubeconfig, sb.PrometheusURL, sb.JaegerURL)
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
