package jobs_test

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

// A stream job cancelled while its stream's opening turn runs keeps its
// slot until its stream has ended, even though the runner's Open gave up
// and never got a reader: the queue's next job starts only then. The
// producer here keeps its Out past the turn and ignores its Context.
// Before the fix (in actor: an Open that gives up mid-turn ends the
// stream nobody can read) the runner waited for the opening turn only,
// the next job started, and the cancelled job's stream stayed open, its
// producer sending on with no slot held (and into a journal nobody read).
func TestStreamJobCancelledInOpeningTurn(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		e := newEnv(t, 1)
		outs := make(chan *actor.Out[string], 1)
		release := make(chan struct{})
		opening := actor.NewStream("opening", func(_ *agent, _ *actor.Ctx, _ int, out *actor.Out[string]) error {
			outs <- out
			<-release
			return nil // the stream stays open: its producer keeps out
		})
		ref, err := actor.Spawn(e.rt, &agent{p: e.p})
		if err != nil {
			t.Fatal(err)
		}
		if err := jobs.RegisterStream(e.d, jobs.Ref("b", ref), opening); err != nil {
			t.Fatal(err)
		}
		j := e.submit(t, "b", "opening", 0, jobs.Queue("one", 1))
		next := e.submit(t, "a0", "echo", "next", jobs.Queue("one", 1))
		out := <-outs
		j.Cancel()
		synctest.Wait() // Open gave up; the runner waits for the opening turn
		if st := j.Status(); st.State != jobs.Cancelled || !st.Overrunning {
			t.Fatalf("cancelled in the opening turn: got %+v; want cancelled, overrunning", st)
		}
		if got := state(next); got != jobs.Queued {
			t.Fatalf("next job during the opening turn: got %s; want queued", got)
		}
		close(release)
		synctest.Wait()
		if got := state(next); got != jobs.Queued {
			if err := out.Send("late"); !errors.Is(err, actor.ErrStreamClosed) {
				t.Fatalf("next job %s while the cancelled job's stream is open (its Send: %v); want the slot held until the stream ends", got, err)
			}
		}
		if _, err := result(t, next); err != nil {
			t.Fatal(err)
		}
		if st := j.Status(); st.State != jobs.Cancelled || st.Overrunning {
			t.Fatalf("after the opening turn: got %+v; want cancelled, not overrunning", st)
		}
	})
}
