package main

import (
	"fmt"
	"io"
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
			a, aok := res.value(r.work, sys, "allocs/op")
			if ok {
				vals[sys] = v
			}
			if aok && r.perOp > 0 {
				allocs[sys] = a / r.perOp
			}
			cells = append(cells, cell(v, ok), allocCell(allocs, sys, aok && r.perOp > 0))
		}
		cells = append(cells, ratioCell(vals, raw), ratioCell(vals, proto))
		for _, t := range r.targets { // a peer without a column: a reference run
			if v, ok := res.value(r.work, t.peer, r.unit); ok && t.peer == direct {
				vals[t.peer] = v
			}
		}
		goals, met := check(r, vals, allocs)
		cells = append(cells, goals, met)
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Times are medians of the runs; allocs are per message (per op where one op is one message). Ratios below 1 mean troupe is faster or smaller.")
	fmt.Fprintln(w, "Targets marked * come from the issues (7, then 12–18); the others from DESIGN.md. met: ✅ all targets met, ❌ one or more missed, – no target.")
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

func ratioCell(vals map[string]float64, peer string) string {
	t, ok1 := vals[troupe]
	p, ok2 := vals[peer]
	if !ok1 || !ok2 || p == 0 {
		return "–"
	}
	return fmt.Sprintf("%.3g×", t/p)
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
func check(r row, vals, allocs map[string]float64) (goals, met string) {
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
		case t.absolute:
			parts = append(parts, fmt.Sprintf("≤ %g %s%s", t.max, r.unit, star))
			got, ok = vals[troupe]
		default:
			parts = append(parts, fmt.Sprintf("≤ %g× %s%s", t.max, peerName(t.peer), star))
			tv, ok1 := vals[troupe]
			pv, ok2 := vals[t.peer]
			ok = ok1 && ok2 && pv > 0
			if ok {
				got = tv / pv
			}
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
