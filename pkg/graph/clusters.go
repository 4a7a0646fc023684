package graph

import (
	"fmt"
	"slices"
	"strings"
)

// crossCluster tells whether a call went from one cluster into another: both ends' clusters
// known and different. A caller without a sidecar reports no cluster ("unknown").
func crossCluster(src, dst string) bool {
	known := func(c string) bool { return c != "" && c != "unknown" }
	return known(src) && known(dst) && src != dst
}

// ClusterIDs are the clusters the edges name, sorted.
func (g *Graph) ClusterIDs() []string {
	var ids []string
	for _, e := range g.Edges {
		for _, c := range []string{e.Source.Cluster, e.Destination.Cluster} {
			if c != "" && c != "unknown" && !slices.Contains(ids, c) {
				ids = append(ids, c)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// DropClusters clears the clusters of every edge: a graph of one cluster says nothing by
// naming it, and keeps the names and JSON of a single-cluster mesh.
func (g *Graph) DropClusters() {
	for i := range g.Edges {
		e := &g.Edges[i]
		e.Source.Cluster, e.Destination.Cluster = "", ""
		e.CrossCluster = false
		// The waypoint was named as a workload of its cluster: cluster/namespace/name.
		if parts := strings.SplitN(e.Waypoint, "/", 3); len(parts) == 3 {
			e.Waypoint = parts[1] + "/" + parts[2]
		}
	}
}

// AddClusters lists the clusters read, and any other cluster the edges name (a cluster whose
// telemetry a global Prometheus holds though no context was given for it).
func (g *Graph) AddClusters(read []Cluster) {
	g.Clusters = slices.Clone(read)
	for _, id := range g.ClusterIDs() {
		if !slices.ContainsFunc(g.Clusters, func(c Cluster) bool { return c.ID == id }) {
			g.Clusters = append(g.Clusters, Cluster{ID: id})
		}
	}
}

// clusterOf is the cluster a node's name begins with, "" for a node of no cluster.
func clusterOf(g *Graph, node string) string {
	for _, c := range g.Clusters {
		if strings.HasPrefix(node, c.ID+"/") {
			return c.ID
		}
	}
	return ""
}

// byCluster sorts the graph's nodes into their clusters, in the order nodes() gives; loose
// are the nodes of no cluster (callers without a sidecar, a graph of one cluster).
func byCluster(g *Graph) (groups map[string][]string, loose []string) {
	groups = map[string][]string{}
	for _, n := range nodes(g) {
		if c := clusterOf(g, n); c != "" {
			groups[c] = append(groups[c], n)
		} else {
			loose = append(loose, n)
		}
	}
	return groups, loose
}

// writeNodes writes the graph's nodes, one line each as node says, those of each cluster
// between the lines open and close (indented under them), then the nodes of no cluster: the
// shape DOT and Mermaid share.
func writeNodes(b *strings.Builder, g *Graph, open func(int, Cluster) string, close string, node func(string) string) {
	groups, loose := byCluster(g)
	for i, c := range g.Clusters {
		if len(groups[c.ID]) == 0 {
			continue
		}
		fmt.Fprintf(b, "  %s\n", open(i, c))
		for _, n := range groups[c.ID] {
			fmt.Fprintf(b, "    %s\n", node(n))
		}
		fmt.Fprintf(b, "  %s\n", close)
	}
	for _, n := range loose {
		fmt.Fprintf(b, "  %s\n", node(n))
	}
}
