#!/usr/bin/env bash
# Checks a `make dist` output as krew users will meet it: krew's own validator accepts every
# manifest, the real krew installs each plugin from its local archive into a throw-away
# KREW_ROOT, and kubectl then runs them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dist=${1:-$root/dist}
bin=$root/.cache/bin
"$root/hack/build-test-components.sh" krew validate-krew-manifest

for manifest in "$dist"/krew/*.yaml; do
	"$bin/validate-krew-manifest" -manifest "$manifest" -skip-install
done

krew_root=$(mktemp -d)
trap 'rm -rf "$krew_root"' EXIT
export KREW_ROOT=$krew_root
platform="$(go env GOOS)_$(go env GOARCH)"
for manifest in "$dist"/krew/*.yaml; do
	plugin=$(basename "$manifest" .yaml)
	binary="kubectl-${plugin//-/_}"
	archive=$(ls "$dist"/"${binary}"_v*_"${platform}".tar.gz)
	"$bin/krew" install --manifest="$manifest" --archive="$archive"
done

export PATH="$krew_root/bin:$PATH"
check() {
	local out
	if ! out=$("$@" 2>&1); then
		echo "krew-check: '$*' failed:" >&2
		echo "$out" >&2
		exit 1
	fi
	echo "$out"
}
check kubectl mesh version
# grep reads the help to its end: with -q it would stop at the first match, and the rest of
# the help, written after, would end check with SIGPIPE (exit 141) under pipefail.
check kubectl mesh canary --help | grep '^  kubectl mesh canary SERVICE \[PERCENT\] \[flags\]$' >/dev/null
for op in canary lockdown graph traces doctor why what-if; do
	check kubectl mesh-$op --help | grep "^  kubectl mesh $op" >/dev/null
done
echo "krew-check: every manifest valid; mesh, mesh-canary, mesh-lockdown, mesh-graph, mesh-traces, mesh-doctor, mesh-why, mesh-what-if installed by krew and run through kubectl"
