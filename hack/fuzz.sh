#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 3s): `make test` runs them
# briefly, `make fuzz` longer. Inputs that fail are written to the package's
# testdata/fuzz/, where plain `go test` replays them from then on.
#
# Each package's instrumented test binary is built once and runs each of its targets, as
# `go test -fuzz` would (same corpus cache, same testdata): one link per package instead of
# one per target, which was most of make test's fuzz stage.
set -euo pipefail
fuzztime=${1:-3s}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
module=$(go list -m)
cache=$(go env GOCACHE)/fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# "pkg/dir FuzzName" for every fuzz target in a test file.
grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' pkg internal |
	sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)#\1 \2#' | sort |
	while read -r dir target; do
		test=$work/${dir//\//_}.test
		if [[ ! -x $test ]]; then
			go test -c -fuzz "^${target}\$" -o "$test" "./$dir" >"$work/log" 2>&1 || {
				cat "$work/log"
				exit 1
			}
		fi
		echo "fuzz ./$dir $target for $fuzztime"
		(cd "$dir" && "$test" -test.run '^$' -test.fuzz "^${target}\$" -test.fuzztime "$fuzztime" \
			-test.fuzzcachedir "$cache/$module/$dir" -test.timeout 10m) >"$work/log" 2>&1 || {
			cat "$work/log"
			exit 1
		}
	done
