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
// of troupe, raw and protoactor. With -count above 1 each figure is the
// median of the runs. Workloads not in the run are left out.
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
