#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 3s): `make test` runs them
# briefly, `make fuzz` longer. Inputs that fail are written to the package's
# testdata/fuzz/, where plain `go test` replays them from then on.
set -euo pipefail
fuzztime=${1:-3s}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# "pkg/dir FuzzName" for every fuzz target in a test file.
grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' pkg internal |
	sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)#\1 \2#' | sort |
	while read -r dir target; do
		echo "fuzz ./$dir $target for $fuzztime"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$dir" >/tmp/fuzz.$$.log 2>&1 || {
			cat /tmp/fuzz.$$.log
			rm -f /tmp/fuzz.$$.log
			exit 1
		}
	done
rm -f /tmp/fuzz.$$.log
