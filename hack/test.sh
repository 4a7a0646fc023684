#!/usr/bin/env bash
# make test, stage by stage: the unit tests, each fuzz target for 3 s, the test components
# (built once into .cache/), then every package under test/ in one `go test`: test/e2e and
# test/sandbox run side by side (each starts its own etcd, kube-apiserver, Prometheus and
# Jaeger on free loopback ports in its own temporary folder: they share nothing but the
# machine). A failed stage stops the run, as make would; at the end, pass or fail, it prints
# how long each stage took.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GO=${GO:-go}

# Each stage's time and result, by its index in stages (indexed arrays: macOS's bash 3.2
# has no associative ones).
stages=(unit fuzz components end-to-end sandbox)
took=() result=()
begin=$SECONDS
log=$(mktemp)

index() {
	local i
	for i in "${!stages[@]}"; do
		[[ ${stages[$i]} == "$1" ]] && echo "$i" && return
	done
}

# record NAME SECONDS RESULT
record() {
	local i
	i=$(index "$1")
	took[i]=$2 result[i]=$3
}

report() {
	printf '\nmake test: time per stage\n'
	printf '  %-12s %9s  %s\n' STAGE TIME RESULT
	local i
	for i in "${!stages[@]}"; do
		if [[ -n ${took[i]:-} ]]; then
			printf '  %-12s %5dm%02ds  %s\n' "${stages[i]}" $((took[i] / 60)) $((took[i] % 60)) "${result[i]}"
		else
			printf '  %-12s %9s  %s\n' "${stages[i]}" - "not run"
		fi
	done
	if [[ -n ${suites:-} ]]; then
		printf '  %-12s %5dm%02ds  (end-to-end and sandbox side by side, with their builds)\n' "test/..." $((suites / 60)) $((suites % 60))
	fi
	local total=$((SECONDS - begin))
	printf '  %-12s %5dm%02ds\n' total $((total / 60)) $((total % 60))
	rm -f "$log"
}
trap report EXIT

# stage NAME COMMAND...: runs and times one stage; a failure ends the run.
stage() {
	local name=$1 start=$SECONDS ok=ok
	shift
	echo "== $name: $*"
	"$@" || ok=FAILED
	record "$name" $((SECONDS - start)) "$ok"
	[[ $ok == ok ]] || exit 1
}

# The end-to-end tests use the kubectl on PATH; a machine without one gets it built from the
# same Kubernetes release as the test API server.
own_kubectl=false
if ! command -v kubectl >/dev/null; then
	own_kubectl=true
	export PATH="$root/.cache/kubectl:$PATH"
fi
components() {
	hack/build-test-components.sh || return
	if $own_kubectl; then hack/build-test-components.sh kubectl; fi
}

stage unit "$GO" test ./...
stage fuzz hack/fuzz.sh 3s
stage components components

# Every package under test/, as before; -p lets the two suites overlap whatever the number of
# cores. Each suite's own time is the elapsed time go test prints for its package.
echo "== end-to-end, sandbox: $GO test -tags e2e -count=1 -timeout 30m -p 2 ./test/..."
start=$SECONDS
"$GO" test -tags e2e -count=1 -timeout 30m -p 2 ./test/... 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
suites=$((SECONDS - start))
for s in end-to-end sandbox; do
	pkg=e2e
	[[ $s == sandbox ]] && pkg=sandbox
	line=$(grep -E "^(ok|FAIL)[[:space:]]+[^[:space:]]+/test/$pkg[[:space:]]+[0-9.]+s" "$log" | tail -1)
	if [[ -z $line ]]; then
		record "$s" "$suites" "FAILED (no result for test/$pkg)"
		continue
	fi
	secs=$(awk '{ sub(/s$/, "", $3); printf "%d", $3 + 0.5 }' <<<"$line")
	if [[ $line == ok* ]]; then record "$s" "$secs" ok; else record "$s" "$secs" FAILED; fi
done
exit "$rc"
