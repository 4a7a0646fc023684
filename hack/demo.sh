#!/usr/bin/env bash
# `make demo`: starts the sandbox, walks the Istio tutorial with kubectl mesh as a user would
# (observe, canary, traces, lockdown and what it would cut, why, doctor, undo, rollback), printing each command and what it shows, then
# stops the sandbox; then the same mesh over two clusters (graph and lockdown of both).
# CLUSTERS=1 or CLUSTERS=2 runs only that part.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
go build -o "$work/sandbox" ./hack/sandbox
sandbox=
stop_sandbox() {
	if [[ -n "$sandbox" ]]; then
		kill "$sandbox" 2>/dev/null && wait "$sandbox" 2>/dev/null || true
		sandbox=
	fi
}
stop() {
	stop_sandbox
	rm -rf "$work"
}
trap stop EXIT
# start_sandbox N starts a sandbox of N clusters and exports the lines it prints.
start_sandbox() {
	rm -f "$work/env"
	"$work/sandbox" -clusters "$1" -dir "$work/run$1" -env-file "$work/env" >"$work/sandbox.out" 2>"$work/sandbox.err" &
	sandbox=$!
	echo "starting the sandbox of $1 cluster(s) (etcd, kube-apiserver, Prometheus, simulated sidecars)..."
	until [[ -s "$work/env" ]]; do
		if ! kill -0 "$sandbox" 2>/dev/null; then
			cat "$work/sandbox.err" >&2
			exit 1
		fi
		sleep 0.5
	done
	# shellcheck disable=SC1091
	source "$work/env"
}
export PATH="$root/bin:$PATH"

bold='' plain=''
if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then bold=$'\033[1m' plain=$'\033[0m'; fi
step() {
	printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"
	"$@" || true
}
graph() { step kubectl mesh graph -n default --window 30s; }
wait_for_window() { sleep 35; } # let a 30s rate window fill with the new configuration

one_cluster() {
	start_sandbox 1
	step kubectl get pods -n default
	step kubectl get destinationrules -n default
	graph
	step kubectl mesh canary reviews 10
	step kubectl mesh canary reviews
	wait_for_window
	graph
	# Tracing, the tutorial's fourth view: the slowest requests through reviews, span by span, and
	# the hop that loses the trace (the sandbox's reviews does not forward the headers).
	step kubectl mesh traces reviews -n default --slowest 2
	step kubectl mesh traces -n default --check
	step kubectl mesh lockdown default --window 2m
	step kubectl mesh lockdown default --window 2m --force --dry-run
	step kubectl mesh lockdown default --window 2m --what-if
	step kubectl mesh lockdown default --window 2m --force
	step kubectl mesh lockdown default --status
	step kubectl mesh why productpage reviews -n default --path /reviews/0 --window 2m
	step kubectl mesh why details reviews -n default --path /reviews/0
	step kubectl mesh why outside svc/productpage -n default --path /productpage --window 2m
	# The tutorial's antipatterns and verify-install's questions, across the cluster: the
	# sandbox keeps one example of each (mongodb a StatefulSet with a classic sidecar, one istiod
	# replica, untuned sidecars, legacy labelled after its pod started, mTLS turned off there).
	step kubectl mesh doctor -A
	wait_for_window
	graph
	step kubectl mesh lockdown default --undo
	step kubectl mesh canary reviews --rollback
	step kubectl annotate deployment reviews-v2 -n default sandbox.kubectl-mesh.dev/error-rate=0.3
	# The sandbox's traffic is light: a handful of canary requests per interval is enough data.
	step kubectl mesh canary reviews --auto --steps 20,50,100 --interval 20s --min-requests 5 --max-error-rate 1
	step kubectl mesh canary reviews --auto --canary v3 --steps 50,100 --interval 20s --min-requests 5 --max-p99 500ms

	# The same task on Gateway API, as Istio's traffic-shifting task teaches it today: one Service
	# per version and an HTTPRoute attached to reviews.
	gwapi=bookinfo-gateway-api
	step kubectl get services,httproutes -n "$gwapi"
	step kubectl mesh canary reviews 10 -n "$gwapi"
	step kubectl mesh canary reviews 50 --canary v3 -n "$gwapi"
	step kubectl mesh canary reviews -n "$gwapi"
	step kubectl mesh canary reviews --promote -n "$gwapi"
	step kubectl get httproute reviews -n "$gwapi" -o yaml

	# Ambient mode: no sidecars; ztunnel carries the traffic, a waypoint serves reviews.
	amb=bookinfo-ambient
	step kubectl get pods,gateways.gateway.networking.k8s.io -n "$amb"
	step kubectl mesh graph -n "$amb" --window 30s -o wide
	step kubectl mesh canary reviews 20 -n "$amb"
	step kubectl mesh lockdown "$amb" --window 2m
	step kubectl mesh lockdown "$amb" --window 2m --force
	step kubectl mesh lockdown "$amb" --status
	wait_for_window
	step kubectl mesh graph -n "$amb" --window 30s -o wide
	step kubectl mesh lockdown "$amb" --undo
	stop_sandbox
	rm -rf "$work/run1"
}

# Two clusters, one mesh (multi-primary, two networks): bookinfo in east, reviews-v3 and a
# ratings in west, so a third of productpage's calls to reviews cross to west. The contexts are
# east and west; the clusters are named by their istiods' IDs, cluster-east and cluster-west.
# Each cluster has its own Prometheus; MESH_PROMETHEUS_URL is the global one federating both.
two_clusters() {
	start_sandbox 2
	step kubectl config get-contexts east west
	step kubectl --context east get pods -n default
	step kubectl --context west get pods -n default
	wait_for_window
	step kubectl mesh graph -A --contexts east,west --window 30s
	step kubectl mesh doctor -A --contexts east,west
	# A namespace is the same namespace in every cluster: lock it down in both, or in neither.
	step kubectl mesh lockdown default --contexts east,west --window 2m --dry-run
	step kubectl mesh lockdown default --contexts east,west --window 2m
	step kubectl mesh lockdown default --contexts east,west --status
	wait_for_window
	# Cross-cluster calls keep their callers' identities, so they still pass under the lockdown.
	step kubectl mesh graph -A --contexts east,west --window 30s
	step kubectl mesh lockdown default --contexts east,west --undo
	stop_sandbox
}

case "${CLUSTERS:-}" in
1) one_cluster ;;
2) two_clusters ;;
*)
	one_cluster
	two_clusters
	;;
esac
echo
echo "demo done; the sandbox is stopped"
