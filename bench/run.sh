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
	echo "# args: $count rounds of -bench '$bench' -benchtime $benchtime -count 1"
} >"$raw"
echo "bench: $count rounds of -bench '$bench' -benchtime $benchtime (raw output in bench/$raw)" >&2
# Rounds, not -count: each round runs every benchmark once, so that
# troupe and its peers are measured within seconds of each other, and a
# spell of a slow machine (this 2-core VM has them, tens of seconds long)
# slows both sides of a ratio alike; -count would measure all of
# troupe's samples, then all of the peer's. The table takes the median of
# the round-by-round ratios. The remote module's benchmarks (remote
# calls, casts and streams against bare nats.go, on an embedded server)
# feed the same table.
$go test -c -o out/bench.test .
(cd ../remote && $go test -c -o ../bench/out/remote.test . && $go test -c -o ../bench/out/jetjobs.test ./jetjobs)
args=(-test.run '^$' -test.bench "$bench" -test.count 1 -test.benchtime "$benchtime" -test.benchmem -test.timeout 2h)
for round in $(seq 1 "$count"); do
	echo "bench: round $round of $count" >&2
	./out/bench.test "${args[@]}" | { grep -v '^PASS' || true; } | tee -a "$raw"
	# grep: nothing left when BENCH matches no remote benchmark
	(cd ../remote && ../bench/out/remote.test "${args[@]}") | { grep -v '^PASS' || true; } | tee -a "$raw"
	(cd ../remote/jetjobs && ../../bench/out/jetjobs.test "${args[@]}") | { grep -v '^PASS' || true; } | tee -a "$raw"
done

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
