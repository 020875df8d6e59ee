package main

import (
	"bufio"
	"slices"
	"strconv"
	"strings"
)

// results holds every sample of every metric, by benchmark and unit:
// results["Oneway1to1"]["troupe"]["ns/op"] lists one value per run.
type results struct {
	notes []string // run.sh's "# " header lines: date, go version, machine
	cpu   string   // the "cpu:" header line, if any
	bench map[string]map[string]map[string][]float64
}

// parse reads go test -bench output. Lines that are not benchmark results
// are skipped, except the cpu header.
func parse(sc *bufio.Scanner) (*results, error) {
	r := &results{bench: make(map[string]map[string]map[string][]float64)}
	for sc.Scan() {
		line := sc.Text()
		if note, ok := strings.CutPrefix(line, "# "); ok {
			r.notes = append(r.notes, note)
			continue
		}
		if cpu, ok := strings.CutPrefix(line, "cpu: "); ok {
			r.cpu = strings.TrimSpace(cpu)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		// name, iterations, then (value, unit) pairs.
		if len(f) < 4 || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		work, sys, ok := splitName(f[0])
		if !ok {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			r.add(work, sys, f[i+1], v)
		}
	}
	return r, sc.Err()
}

// splitName turns "BenchmarkOneway1to1/troupe-2" into ("Oneway1to1",
// "troupe").
func splitName(name string) (work, sys string, ok bool) {
	name = strings.TrimPrefix(name, "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	work, sys, ok = strings.Cut(name, "/")
	return work, sys, ok && work != "" && sys != ""
}

func (r *results) add(work, sys, unit string, v float64) {
	w := r.bench[work]
	if w == nil {
		w = make(map[string]map[string][]float64)
		r.bench[work] = w
	}
	s := w[sys]
	if s == nil {
		s = make(map[string][]float64)
		w[sys] = s
	}
	s[unit] = append(s[unit], v)
}

// value is the median of a metric's samples; ok is false if there are
// none.
func (r *results) value(work, sys, unit string) (float64, bool) {
	return median(r.bench[work][sys][unit])
}

// allocs is the median of a benchmark's allocations per op: its
// exact-allocs/op if it reports them, else go test's allocs/op, an
// integer rounded down (0.9 allocations per op show as 0).
func (r *results) allocs(work, sys string) (float64, bool) {
	if v, ok := r.value(work, sys, "exact-allocs/op"); ok {
		return v, true
	}
	return r.value(work, sys, "allocs/op")
}

// ratios are the ratios of sys's samples of a metric to peer's, sample by
// sample, when both have the same number of them (run.sh runs rounds:
// each round measures every system once, within seconds, so the i-th
// samples saw the same machine); nil otherwise.
func (r *results) ratios(work, sys, peer, unit string) []float64 {
	a, b := r.bench[work][sys][unit], r.bench[work][peer][unit]
	if len(a) == 0 || len(a) != len(b) {
		return nil
	}
	rs := make([]float64, len(a))
	for i := range a {
		if b[i] == 0 {
			return nil
		}
		rs[i] = a[i] / b[i]
	}
	return rs
}

// ratio is sys's metric over peer's: the median of the round-by-round
// ratios when the samples pair up, else the ratio of the medians.
func (r *results) ratio(work, sys, peer, unit string) (float64, bool) {
	if m, ok := median(r.ratios(work, sys, peer, unit)); ok {
		return m, true
	}
	a, ok1 := r.value(work, sys, unit)
	b, ok2 := r.value(work, peer, unit)
	if !ok1 || !ok2 || b == 0 {
		return 0, false
	}
	return a / b, true
}

// median is the median of vs; ok is false if vs is empty.
func median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	vs = slices.Clone(vs)
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2], true
	}
	return (vs[n/2-1] + vs[n/2]) / 2, true
}
