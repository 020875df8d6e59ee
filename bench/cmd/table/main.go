// Command table reads the output of `go test -bench -benchmem` for the
// bench module and prints one markdown table: per workload, each system's
// time and allocations, troupe's ratio to each peer, and whether troupe
// meets its targets.
//
// Usage:
//
//	go run ./cmd/table [file]   # reads stdin without a file
//
// Benchmarks are paired by name, BenchmarkWorkload/system, with system one
// of troupe, raw and protoactor (or direct, a reference run of troupe).
// With several samples each figure is their median. A ratio is the median
// of the sample-by-sample ratios when the two systems have as many
// samples (run.sh runs rounds, each measuring every system once, so that
// the i-th samples of troupe and its peer saw the same machine), else the
// ratio of the medians; below the table, the range of those ratios for
// each target. Workloads not in the run are left out.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "table:", err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	res, err := parse(bufio.NewScanner(in))
	if err != nil {
		fmt.Fprintln(os.Stderr, "table:", err)
		os.Exit(1)
	}
	render(os.Stdout, res, rows)
}
