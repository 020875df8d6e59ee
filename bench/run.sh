#!/usr/bin/env bash
# run.sh BENCH COUNT BENCHTIME: runs the peer comparison and prints the
# table. Called by `make bench` (BENCH=. COUNT=1 BENCHTIME=1s by default).
# Raw output goes to out/bench.txt, benchstat's summary (if benchstat is
# available) to out/benchstat.txt, the table to out/table.md.
set -euo pipefail
cd "$(dirname "$0")"

bench=${1:-.}
count=${2:-1}
benchtime=${3:-1s}
go=${GO:-go}

mkdir -p out
raw=out/bench.txt
{
	echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "# $($go version)"
	echo "# nproc: $(nproc 2>/dev/null || echo '?')"
	echo "# cpu model: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)"
	if rev=$(git rev-parse --short HEAD 2>/dev/null); then
		dirty=$(git status --porcelain -- .. ':!.' 2>/dev/null | wc -l)
		echo "# troupe commit: $rev ($dirty files changed outside bench/)"
	fi
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
	echo "# args: -bench '$bench' -count $count -benchtime $benchtime"
} >"$raw"
echo "bench: go test -bench '$bench' -count $count -benchtime $benchtime (raw output in bench/$raw)" >&2
$go test -run '^$' -bench "$bench" -count "$count" -benchtime "$benchtime" -benchmem -timeout 2h ./... | tee -a "$raw"
# The remote module's benchmarks (remote calls, casts and streams against
# bare nats.go, on an embedded server) feed the same table.
(cd ../remote && $go test -run '^$' -bench "$bench" -count "$count" -benchtime "$benchtime" -benchmem -timeout 1h . ./jetjobs) | { grep -v '^ok\|^PASS' || true; } | tee -a "$raw" # grep: nothing left when BENCH matches no remote benchmark

# benchstat: use it if it is on PATH or in GOPATH/bin; try to install it
# once if not; carry on without it if that fails.
gobin=$($go env GOBIN)
[ -n "$gobin" ] || gobin=$($go env GOPATH)/bin
PATH=$PATH:$gobin
if ! command -v benchstat >/dev/null 2>&1; then
	echo "bench: benchstat not found; trying go install golang.org/x/perf/cmd/benchstat@latest" >&2
	$go install golang.org/x/perf/cmd/benchstat@latest >/dev/null 2>&1 || true
fi
if command -v benchstat >/dev/null 2>&1; then
	if benchstat "$raw" >out/benchstat.txt; then
		echo
		cat out/benchstat.txt
	fi
else
	echo "bench: no benchstat; skipping its summary" >&2
fi

echo
$go run ./cmd/table "$raw" | tee out/table.md
