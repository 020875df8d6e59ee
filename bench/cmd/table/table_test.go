package main

import (
	"bufio"
	"strings"
	"testing"
)

const sample = `# nproc: 2
goos: linux
goarch: amd64
pkg: github.com/troupe-go/troupe/bench
cpu: AMD EPYC
BenchmarkOneway1to1/troupe-2         	 2461936	       40.0 ns/op	      81 B/op	       0 allocs/op
BenchmarkOneway1to1/troupe-2         	 2461936	       60.0 ns/op	      81 B/op	       0 allocs/op
BenchmarkOneway1to1/troupe-2         	 2461936	       50.0 ns/op	      81 B/op	       0 allocs/op
BenchmarkOneway1to1/raw-2            	13593813	        20.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkOneway1to1/protoactor-2     	14534811	       200.0 ns/op	       5 B/op	       0 allocs/op
BenchmarkIdleActor/troupe-2         	       7	 163697893 ns/op	       408.0 B/actor	51751362 B/op	  600150 allocs/op
BenchmarkIdleActor/protoactor-2     	       2	 895014828 ns/op	       618.4 B/actor	65405036 B/op	 1400399 allocs/op
PASS
`

func TestParse(t *testing.T) {
	res, err := parse(bufio.NewScanner(strings.NewReader(sample)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.notes) != 1 || res.notes[0] != "nproc: 2" {
		t.Errorf("notes: got %q; want [\"nproc: 2\"]", res.notes)
	}
	if res.cpu != "AMD EPYC" {
		t.Errorf("cpu: got %q; want %q", res.cpu, "AMD EPYC")
	}
	tests := []struct {
		work, sys, unit string
		want            float64
	}{
		{"Oneway1to1", "troupe", "ns/op", 50}, // the median of three
		{"Oneway1to1", "raw", "ns/op", 20},
		{"Oneway1to1", "protoactor", "B/op", 5},
		{"IdleActor", "troupe", "B/actor", 408},
	}
	for _, tt := range tests {
		got, ok := res.value(tt.work, tt.sys, tt.unit)
		if !ok || got != tt.want {
			t.Errorf("%s/%s %s: got %v, %v; want %v", tt.work, tt.sys, tt.unit, got, ok, tt.want)
		}
	}
	if _, ok := res.value("IdleActor", "raw", "B/actor"); ok {
		t.Error("IdleActor/raw: got a value; want none")
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct{ in, work, sys string }{
		{"BenchmarkOneway1to1/troupe-2", "Oneway1to1", "troupe"},
		{"BenchmarkCall/protoactor", "Call", "protoactor"},
		{"BenchmarkFanOut/raw-16", "FanOut", "raw"},
	}
	for _, tt := range tests {
		work, sys, ok := splitName(tt.in)
		if !ok || work != tt.work || sys != tt.sys {
			t.Errorf("splitName(%q): got %q, %q, %v; want %q, %q", tt.in, work, sys, ok, tt.work, tt.sys)
		}
	}
	if _, _, ok := splitName("BenchmarkLonely-2"); ok {
		t.Error("splitName without a system: got ok; want not ok")
	}
}

func TestRender(t *testing.T) {
	res, err := parse(bufio.NewScanner(strings.NewReader(sample)))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	render(&out, res, rows)
	got := out.String()
	for _, want := range []string{
		"| oneway 1→1 | ns/op | 50.0 | 0 | 20.0 | 0 | 200 | 0 | 2.5× | 0.25× |",
		"❌", // 2.5× raw Go misses the ≤ 2× raw target
		"| idle actor | B/actor | 408 | – | – | – | 618 | – | – | 0.66× | ≤ 256 B/actor* | ❌ |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q; got:\n%s", want, got)
		}
	}
	if strings.Contains(got, "spawn+stop") {
		t.Errorf("table has a row for a workload not in the run:\n%s", got)
	}
}

// rounds is three rounds of run.sh: each measures troupe, raw Go and
// protoactor-go once, and the second ran on a slower machine for all.
const rounds = `BenchmarkOneway1to1/troupe-2   	1	40.0 ns/op
BenchmarkOneway1to1/raw-2      	1	100.0 ns/op
BenchmarkOneway1to1/protoactor-2	1	100.0 ns/op
BenchmarkOneway1to1/troupe-2   	1	80.0 ns/op
BenchmarkOneway1to1/raw-2      	1	200.0 ns/op
BenchmarkOneway1to1/protoactor-2	1	120.0 ns/op
BenchmarkOneway1to1/troupe-2   	1	45.0 ns/op
BenchmarkOneway1to1/raw-2      	1	100.0 ns/op
BenchmarkOneway1to1/protoactor-2	1	100.0 ns/op
BenchmarkPoolCall/troupe-2     	1	120.0 ns/op
BenchmarkPoolCall/direct-2     	1	100.0 ns/op
BenchmarkPoolCall/troupe-2     	1	110.0 ns/op
`

func TestRatios(t *testing.T) {
	res, err := parse(bufio.NewScanner(strings.NewReader(rounds)))
	if err != nil {
		t.Fatal(err)
	}
	// Round by round 0.4, 0.4, 0.45: the median is 0.4, where the ratio of
	// the medians (45/100) would be 0.45.
	if got, ok := res.ratio("Oneway1to1", troupe, raw, "ns/op"); !ok || got != 0.4 {
		t.Errorf("troupe/raw: got %v, %v; want 0.4 (the median of the rounds' ratios)", got, ok)
	}
	// 0.4, 0.667, 0.45: the slow round's protoactor-go figure moved alone.
	if got, ok := res.ratio("Oneway1to1", troupe, proto, "ns/op"); !ok || got != 0.45 {
		t.Errorf("troupe/protoactor: got %v, %v; want 0.45", got, ok)
	}
	// Two samples against one do not pair: the ratio of the medians.
	if got, ok := res.ratio("PoolCall", troupe, direct, "ns/op"); !ok || got != 1.15 {
		t.Errorf("pool/direct: got %v, %v; want 1.15 (115/100)", got, ok)
	}
	if rs := res.ratios("PoolCall", troupe, direct, "ns/op"); rs != nil {
		t.Errorf("pool/direct ratios: got %v; want none (the samples do not pair)", rs)
	}
	var out strings.Builder
	render(&out, res, rows)
	got := out.String()
	for _, want := range []string{
		"| oneway 1→1 | ns/op | 45.0 | – | 100 | – | 100 | – | 0.4× | 0.45× |",
		"- oneway 1→1 ÷ protoactor: 0.4–0.667; 1 of 3 rounds above the target ≤ 0.5",
		"- oneway 1→1 ÷ raw Go: 0.4–0.45; 0 of 3 rounds above the target ≤ 2",
		"| pool call round robin, 8 workers | ns/op | 115 |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q; got:\n%s", want, got)
		}
	}
}

// exact is a run where go test's allocs/op (rounded down) says 0 and 2,
// and the benchmarks' exact-allocs/op says 0.25 and 2.5.
const exact = `BenchmarkOneway1to1/troupe-2   	1000	40.0 ns/op	0.2500 exact-allocs/op	8 B/op	0 allocs/op
BenchmarkOneway1to1/raw-2      	1000	100.0 ns/op	0 exact-allocs/op	0 B/op	0 allocs/op
BenchmarkOneway1to1/protoactor-2	1000	100.0 ns/op	0.000001 exact-allocs/op	0 B/op	0 allocs/op
BenchmarkCall/troupe-2	1000	100.0 ns/op	2.500 exact-allocs/op	256 B/op	2 allocs/op
BenchmarkCall/raw-2	1000	100.0 ns/op	5.000 exact-allocs/op	368 B/op	5 allocs/op
BenchmarkStream1to1/troupe-2	1000	10.0 ns/op	0.0002 exact-allocs/op	0 B/op	0 allocs/op
BenchmarkStream1to1/raw-2	1000	100.0 ns/op	0 exact-allocs/op	0 B/op	0 allocs/op
`

func TestExactAllocs(t *testing.T) {
	res, err := parse(bufio.NewScanner(strings.NewReader(exact)))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := res.allocs("Oneway1to1", troupe); !ok || got != 0.25 {
		t.Errorf("Oneway1to1/troupe allocs: got %v, %v; want 0.25 (exact-allocs/op, not allocs/op's 0)", got, ok)
	}
	var out strings.Builder
	render(&out, res, rows)
	got := out.String()
	for _, want := range []string{
		// 0.25 per message misses ≤ 0 allocs, which allocs/op's 0 passed.
		"| oneway 1→1 | ns/op | 40.0 | 0.25 | 100 | 0 | 100 | 1e-06 | 0.4× | 0.4× | ≤ 0.5× protoactor*, ≤ 0 allocs*, ≤ 2× raw Go | ❌ |",
		// 2.5 misses ≤ 2 allocs, which allocs/op's 2 passed.
		"| call (timeout) | ns/op | 100 | 2.50 | 100 | 5.00 |",
		// Two allocations in ten thousand ops are not the workload's.
		"| stream 1→1 | ns/op | 10.0 | 0.0002 | 100 | 0 | – | – | 0.1× | – | ≤ 0.25× raw Go*, ≤ 0 allocs* | ✅ |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q; got:\n%s", want, got)
		}
	}
	if !strings.Contains(got, "| call (timeout) | ns/op | 100 | 2.50 | 100 | 5.00 | – | – | 1× | – | ≤ 0.2× protoactor*, ≤ 2 allocs*, ≤ 3× raw Go | ❌ |") {
		t.Errorf("call row: want ≤ 2 allocs missed; got:\n%s", got)
	}
}
