package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// defaultCluster is the cluster ID of a one-cluster install, which the one-cluster mesh keeps.
const defaultCluster = "Kubernetes"

// twoClusters are the contexts and cluster IDs of the two-cluster run.
var twoClusters = [2]struct{ context, id string }{{"east", defaultCluster}, {"west", "cluster-west"}}

// runTwoClusters measures graph --contexts over two clusters, each a real API server with its
// own Prometheus holding N namespaces, beside each cluster's graph alone: the clusters are read
// in parallel, so the pair should cost the slower cluster plus a small constant.
func (o options) runTwoClusters(ctx context.Context) error {
	var urls [2]string
	var at time.Time
	work, err := os.MkdirTemp("", "benchscale-clusters-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	members := make([]testcluster.MeshMember, 2)
	for i, c := range twoClusters {
		dir := filepath.Join(o.cache, fmt.Sprintf("n%d", o.namespaces))
		if c.id != defaultCluster {
			dir += "-" + c.id
		}
		// The second mesh ends where the first does, so that one instant sees both.
		if at, _, err = o.prepare(ctx, dir, c.id, at); err != nil {
			return err
		}
		baseURL, stop, err := startPrometheus(ctx, filepath.Join(o.components, "prometheus"), filepath.Join(dir, "data"))
		if err != nil {
			return err
		}
		defer stop()
		urls[i] = c.context + "=" + baseURL
		apiDir := filepath.Join(work, c.context)
		if err := os.MkdirAll(apiDir, 0o755); err != nil {
			return err
		}
		cluster, err := testcluster.Start(ctx, testcluster.Options{BinDir: o.components, Dir: apiDir})
		if err != nil {
			return fmt.Errorf("starting %s's API server: %w", c.context, err)
		}
		defer cluster.Stop()
		admin, err := cluster.RESTConfig("admin")
		if err != nil {
			return err
		}
		if err := testcluster.InstallMeshCRDs(ctx, admin, "."); err != nil {
			return fmt.Errorf("installing Istio's CRDs in %s: %w", c.context, err)
		}
		members[i] = testcluster.MeshMember{Context: c.context, Cluster: cluster}
	}
	kubeconfig := filepath.Join(work, "kubeconfig")
	if err := testcluster.WriteMeshKubeconfig(kubeconfig, members...); err != nil {
		return err
	}
	graph := func(args ...string) (measurement, error) {
		args = append([]string{"graph", "-A", "-o", "json", "--window", o.window, "--time", at.UTC().Format(time.RFC3339)}, args...)
		return repeat(o.runs, func() (run, error) { return runPlugin(ctx, o.graph, kubeconfig, args...) })
	}
	var results [3]measurement
	for i, args := range [][]string{
		{"--context", "east", "--prometheus-url", strings.TrimPrefix(urls[0], "east=")},
		{"--context", "west", "--prometheus-url", strings.TrimPrefix(urls[1], "west=")},
		{"--contexts", "east,west", "--prometheus-url", urls[0], "--prometheus-url", urls[1]},
	} {
		if results[i], err = graph(args...); err != nil {
			return err
		}
	}
	o.reportTwoClusters(results)
	return nil
}

func (o options) reportTwoClusters(r [3]measurement) {
	fmt.Printf("two clusters of %d namespaces each (%d edges each), each its own API server and Prometheus; window %s; %d runs each (median); %d cores\n\n",
		o.namespaces, 4*o.namespaces, o.window, o.runs, runtime.NumCPU())
	fmt.Println("| N per cluster | graph -A --context east | --context west | --contexts east,west | pair - slower | peak RSS pair |")
	fmt.Println("|---|---|---|---|---|---|")
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + " s" }
	slower := max(r[0].median, r[1].median)
	fmt.Printf("| %d | %s | %s | %s | %+.3f s | %.0f MiB |\n", o.namespaces, secs(r[0].median), secs(r[1].median), secs(r[2].median),
		(r[2].median - slower).Seconds(), float64(r[2].maxRSS)/(1<<20))
}
