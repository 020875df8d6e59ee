package fsm_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// diagrammed has a bit of everything: a timeout, admit sets (one empty),
// a terminal state, a state named like a Mermaid keyword, one with spaces
// and quotes.
func diagrammed(t *testing.T) *fsm.Definition[*bot, phase] {
	const words, quote phase = "two words", `say "hi"`
	return define(t,
		fsm.State(A, step, fsm.To(B, words), fsm.Timeout(90*time.Second, words)),
		fsm.State(B, step, fsm.To(A, End), fsm.Admit(Move, Inspect)),
		fsm.State(words, step, fsm.To(quote), fsm.Admit()),
		fsm.State(quote, step, fsm.To(End)),
		fsm.State(End, step, fsm.Terminal()),
	)
}

func TestDiagrams(t *testing.T) {
	d := diagrammed(t)
	for _, tt := range []struct{ file, got string }{
		{"bot.mmd", d.Mermaid()},
		{"bot.dot", d.DOT()},
	} {
		t.Run(tt.file, func(t *testing.T) {
			golden(t, tt.file, tt.got)
		})
	}
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s\nwant:\n%s", file, got, want)
	}
}

// Mermaid's state diagram lexer is case-insensitive and takes "default",
// "scale", "stateDiagram" (and "state", "note", "class", … in any case) as
// keywords: a state with such a text must get an sN id and a label, or
// its edges do not parse ("a --> Default" lexes as a DEFAULT token).
func TestMermaidKeywordStates(t *testing.T) {
	texts := []phase{"Default", "default", "scale", "Scale", "State", "Note", "Class", "ClassDef", "stateDiagram", "STYLE", "Click", "Direction"}
	opts := []fsm.Option[*bot, phase]{fsm.State(A, step, fsm.To(texts...))}
	for _, p := range texts {
		opts = append(opts, fsm.State(p, step, fsm.To(A)))
	}
	m := define(t, opts...).Mermaid()
	for i, p := range texts {
		if want := fmt.Sprintf("    state %q as s%d\n", string(p), i+1); !strings.Contains(m, want) {
			t.Errorf("state %q has no sN id: no line %q in\n%s", p, want, m)
		}
	}
}

// A note's text ends at a colon in Mermaid (NOTE_TEXT is ":" then
// [^:\n;]+): an admitted method whose name has one must not cut the note.
func TestMermaidNoteColon(t *testing.T) {
	get := actor.NewMethod("kv:get", func(b *bot, c *actor.Ctx, _ int) (int, error) { return 0, nil })
	m := define(t,
		fsm.State(A, step, fsm.To(B), fsm.Admit(get, Move)),
		fsm.State(B, step, fsm.To(A)),
	).Mermaid()
	const head = "    note right of a: "
	i := strings.Index(m, head)
	if i < 0 {
		t.Fatalf("no note of a in\n%s", m)
	}
	line, _, _ := strings.Cut(m[i+len(head):], "\n")
	// Mermaid takes entity codes (#58;) out before it parses.
	if bare := regexp.MustCompile(`#\w+;`).ReplaceAllString(line, "&"); strings.ContainsAny(bare, ":;") ||
		!strings.HasPrefix(line, "admits kv") || !strings.HasSuffix(line, "get, move") {
		t.Fatalf("note text %q: want the whole list, with no ':' or ';' but in entity codes", line)
	}
}
