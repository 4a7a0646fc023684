#!/usr/bin/env bash
# Builds the real components the tests run (kube-apiserver, etcd, istioctl, prometheus, jaeger, krew,
# and promtool for the scale benchmark) into .cache/bin, once. Each is rebuilt only when its
# tools module (go.mod/go.sum) changes, so a warm machine pays nothing; Go's build cache makes a
# rebuild after a clean clone quick too.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.cache/bin"

# build NAME TOOLS_MODULE_DIR PACKAGE [OUTPUT_DIR]
build() {
	local name=$1 dir=$root/hack/tools/$2 pkg=$3 bin=${4:-$bin}
	mkdir -p "$bin"
	local stamp="$bin/.$name.stamp" want
	want=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -d' ' -f1)
	if [[ -x "$bin/$name" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
		return
	fi
	echo "building $name (once; cached in ${bin#"$root/"})" >&2
	local start=$SECONDS
	(cd "$dir" && go build -trimpath -ldflags='-s -w' -o "$bin/$name" "$pkg")
	echo "$want" >"$stamp"
	echo "built $name in $((SECONDS - start))s" >&2
}

components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=(etcd kube-apiserver istioctl prometheus jaeger)
for c in "${components[@]}"; do
	case $c in
	etcd) build etcd kube ./cmd/etcd ;;
	kube-apiserver) build kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver ;;
	istioctl) build istioctl istioctl istio.io/istio/istioctl/cmd/istioctl ;;
	prometheus) build prometheus prometheus github.com/prometheus/prometheus/cmd/prometheus ;;
	promtool) build promtool prometheus github.com/prometheus/prometheus/cmd/promtool ;;
	jaeger) build jaeger jaeger github.com/jaegertracing/jaeger/cmd/jaeger ;;
	krew) build krew krew sigs.k8s.io/krew/cmd/krew ;;
	validate-krew-manifest) build validate-krew-manifest krew sigs.k8s.io/krew/cmd/validate-krew-manifest ;;
	# Only for machines without kubectl: kept in its own folder so that it never shadows one.
	kubectl) build kubectl kube k8s.io/kubernetes/cmd/kubectl "$root/.cache/kubectl" ;;
	*) echo "unknown component $c (want etcd, kube-apiserver, istioctl, prometheus, promtool, jaeger, krew, validate-krew-manifest or kubectl)" >&2; exit 2 ;;
	esac
done
