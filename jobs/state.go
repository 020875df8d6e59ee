package jobs

import (
	"sync"

	"github.com/troupe-go/troupe/fsm"
)

// State is where a job is in its life:
//
//	queued → running → done | failed | cancelled | expired
//	queued → cancelled
//
// The four last are terminal. The table is an [fsm.Definition], validated
// when first used, and every change of a job's state is checked against
// it: a transition it does not declare is refused with a
// *fsm.TransitionError (the job keeps its state). States marshal as their
// names.
type State string

// The states of a job.
const (
	Queued    State = "queued"    // waiting in its queue for a free slot
	Running   State = "running"   // handed to its host; has a start time
	Done      State = "done"      // the procedure returned a value
	Failed    State = "failed"    // it returned an error, panicked, or its host was unreachable
	Cancelled State = "cancelled" // Cancel, or the dispatcher closed
	Expired   State = "expired"   // max exec time or read timeout passed
)

// Terminal reports whether s is one of the four end states.
func (s State) Terminal() bool {
	return s == Done || s == Failed || s == Cancelled || s == Expired
}

// valid reports whether s is one of the six states.
func (s State) valid() bool { return s.index() >= 0 }

// life is the state type the job machine is defined on. Jobs are not
// actors (see the package doc): the definition serves as the validated
// table that every job's transitions are checked against, and to draw the
// machine.
type life struct{ fsm.Machine[State] }

func stay(*life, *fsm.Ctx[State]) fsm.Step[State] { return fsm.Step[State]{} }

// lifecycle is the job machine and its table, defined once per process.
var lifecycle = sync.OnceValues(func() (*fsm.Definition[*life, State], error) {
	return fsm.Define[*life]("job", Queued,
		fsm.State(Queued, stay, fsm.To(Running, Cancelled)),
		fsm.State(Running, stay, fsm.To(Done, Failed, Cancelled, Expired)),
		fsm.State(Done, stay, fsm.Terminal()),
		fsm.State(Failed, stay, fsm.Terminal()),
		fsm.State(Cancelled, stay, fsm.Terminal()),
		fsm.State(Expired, stay, fsm.Terminal()),
	)
})

// index numbers the states for the table; -1 for a string that is none.
func (s State) index() int {
	switch s {
	case Queued:
		return 0
	case Running:
		return 1
	case Done:
		return 2
	case Failed:
		return 3
	case Cancelled:
		return 4
	case Expired:
		return 5
	}
	return -1
}

// table is the transitions the definition declares, for an O(1) check.
type table [6][6]bool

var transitions = sync.OnceValues(func() (*table, error) {
	def, err := lifecycle()
	if err != nil {
		return nil, err
	}
	t := new(table)
	for _, from := range def.States() {
		for _, to := range def.Exits(from) {
			t[from.index()][to.index()] = true
		}
	}
	return t, nil
})

// check reports whether a job may go from one state to another, as a
// *fsm.TransitionError wrapping fsm.ErrTerminal or
// fsm.ErrInvalidTransition when it may not. O(1).
func (t *table) check(from, to State) error {
	if i, j := from.index(), to.index(); i >= 0 && j >= 0 && t[i][j] {
		return nil
	}
	err := fsm.ErrInvalidTransition
	if from.Terminal() {
		err = fsm.ErrTerminal
	}
	return &fsm.TransitionError[State]{Machine: "job", From: from, To: to, Err: err}
}

// StateDiagram draws the job machine in Mermaid, as [fsm.Definition]
// draws any machine. It does not block; O(states).
func StateDiagram() string {
	def, err := lifecycle()
	if err != nil {
		return err.Error()
	}
	return def.Mermaid()
}
