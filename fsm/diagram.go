package fsm

import (
	"fmt"
	"strings"

	"github.com/troupe-go/troupe/actor"
)

// Mermaid draws the definition as a Mermaid state diagram: the initial
// state, every exit (a timeout's edge labelled "after d"), terminal states
// leading to [*], and admit sets as notes. States are shown with fmt's %v;
// a state whose text is not a plain identifier, or is one of Mermaid's
// keywords in any case ("Default", "State"), gets an id sN and its text as
// a label. The output is deterministic (declaration order). Cost: O(states
// + exits + admitted methods).
func (d *Definition[S, P]) Mermaid() string {
	if d == nil {
		d = &Definition[S, P]{}
	}
	ids := d.mermaidIDs()
	var b strings.Builder
	fmt.Fprintf(&b, "---\ntitle: %s\n---\nstateDiagram-v2\n", d.name)
	for _, p := range d.order {
		if id := ids[p]; id != fmt.Sprint(p) {
			fmt.Fprintf(&b, "    state \"%s\" as %s\n", mermaidText(fmt.Sprint(p)), id)
		}
	}
	fmt.Fprintf(&b, "    [*] --> %s\n", ids[d.initial])
	for _, p := range d.order {
		st := d.states[p]
		for _, to := range st.exits {
			if st.timed && to == st.timeoutTo {
				fmt.Fprintf(&b, "    %s --> %s: after %v\n", ids[p], ids[to], st.timeout)
			} else {
				fmt.Fprintf(&b, "    %s --> %s\n", ids[p], ids[to])
			}
		}
		if st.terminal {
			fmt.Fprintf(&b, "    %s --> [*]\n", ids[p])
		}
	}
	for _, p := range d.order {
		if st := d.states[p]; st.admitSet {
			fmt.Fprintf(&b, "    note right of %s: admits %s\n", ids[p], mermaidText(d.admitted(st)))
		}
	}
	return b.String()
}

// mermaidIDs names each state: its text if that is a plain identifier not
// used by another state nor a Mermaid keyword (in any case), else sN.
func (d *Definition[S, P]) mermaidIDs() map[P]string {
	ids := make(map[P]string, len(d.order))
	count := make(map[string]int, len(d.order))
	for _, p := range d.order {
		count[fmt.Sprint(p)]++
	}
	for i, p := range d.order {
		text := fmt.Sprint(p)
		if plainID(text) && count[text] == 1 && !mermaidKeywords[strings.ToLower(text)] {
			ids[p] = text
		} else {
			ids[p] = fmt.Sprintf("s%d", i)
		}
	}
	return ids
}

// mermaidKeywords are the words of Mermaid's state diagram syntax, in lower
// case: its lexer is case-insensitive, so "Default" or "State" is a keyword
// too, and an edge to it would not parse.
var mermaidKeywords = map[string]bool{"state": true, "note": true, "end": true, "as": true,
	"direction": true, "class": true, "classdef": true, "style": true, "click": true, "left": true, "right": true, "of": true,
	"default": true, "scale": true, "statediagram": true, "hide": true}

func plainID(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') || strings.HasPrefix(s, "s") && isDigits(s[1:]) {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// mermaidText makes s safe in a state's label and a note: a quote would
// end the label, and a colon or semicolon the note (Mermaid's entity codes
// show them).
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", ";", "#59;", ":", "#58;", "\n", " ").Replace(s)
}

// DOT draws the definition in Graphviz's DOT language: a point for the
// start, a rounded box per state (double for a terminal state, with its
// admit set under its name), an edge per exit (dashed and labelled for a
// state timeout). Nodes are s0, s1, … in declaration order, labelled with
// the states' %v text. Deterministic. Cost: O(states + exits + admitted
// methods).
func (d *Definition[S, P]) DOT() string {
	if d == nil {
		d = &Definition[S, P]{}
	}
	idx := make(map[P]int, len(d.order))
	for i, p := range d.order {
		idx[p] = i
	}
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n\trankdir=LR;\n\tnode [shape=box, style=rounded];\n", dotText(d.name))
	b.WriteString("\tstart [shape=point, label=\"\"];\n")
	for i, p := range d.order {
		st := d.states[p]
		label := dotText(fmt.Sprint(p))
		if st.admitSet {
			label = dotText(fmt.Sprint(p) + "\n" + "admits " + d.admitted(st))
		}
		extra := ""
		if st.terminal {
			extra = ", peripheries=2"
		}
		fmt.Fprintf(&b, "\ts%d [label=%s%s];\n", i, label, extra)
	}
	fmt.Fprintf(&b, "\tstart -> s%d;\n", idx[d.initial])
	for _, p := range d.order {
		st := d.states[p]
		for _, to := range st.exits {
			if st.timed && to == st.timeoutTo {
				fmt.Fprintf(&b, "\ts%d -> s%d [label=%s, style=dashed];\n", idx[p], idx[to], dotText(fmt.Sprintf("after %v", st.timeout)))
			} else {
				fmt.Fprintf(&b, "\ts%d -> s%d;\n", idx[p], idx[to])
			}
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// dotText quotes s as a DOT string; a newline becomes DOT's \n.
func dotText(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// admitted lists a state's admit set, without the machine's own methods.
func (d *Definition[S, P]) admitted(st *stateDef[S, P]) string {
	var names []string
	for _, m := range st.admit {
		if m != actor.Admitter(d.own.timeout) {
			names = append(names, m.Name())
		}
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}
