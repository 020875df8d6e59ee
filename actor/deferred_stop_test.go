package actor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// A Kill of an idle actor that owes a deferred Reply does not wait for
// the dead-letter hook told of that Reply's loss: the hook is user code,
// run on the actor's turn, not on the goroutine that asks for the stop
// (Kill does not wait; a Stop bounded by its ctx must not wait
// unbounded either). The caller still gets ErrStopped, and the hook its
// ReasonStopped dead letter. Before, the idle actor finalized on the
// killer's goroutine, which then ran the hook, and Kill returned only
// once the hook did.
func TestKillOwedReplyHookOffAsker(t *testing.T) {
	for _, kill := range []bool{true, false} {
		name := "Stop"
		if kill {
			name = "Kill"
		}
		t.Run(name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				release := make(chan struct{})
				rec := &recorder{}
				hook := func(d troupe.DeadLetter) {
					rec.Hook(d)
					if d.Reason == troupe.ReasonStopped && d.Method == "hold" {
						<-release // a hook that takes its time
					}
				}
				rt := newRuntime(t, troupe.WithDeadLetterHook(hook))
				ref, d := newDesk(t, rt)
				f := deskHold.Ask(context.Background(), ref, 1)
				<-d.out // the Reply is owed; the actor goes idle
				synctest.Wait()
				returned := make(chan struct{})
				go func() {
					defer close(returned)
					if kill {
						ref.Kill()
					} else {
						ctx, cancel := context.WithCancel(context.Background())
						cancel() // a Stop whose ctx has ended: a Kill, and returns at once
						_ = ref.Stop(ctx)
					}
				}()
				synctest.Wait()
				select {
				case <-returned:
				default:
					t.Error("the stop waits for the dead-letter hook told of the owed Reply")
				}
				close(release)
				<-returned
				<-ref.Done()
				if _, err := f.Await(context.Background()); !errors.Is(err, actor.ErrStopped) {
					t.Errorf("the owed call: got %v; want ErrStopped", err)
				}
				if n := rec.Count(troupe.ReasonStopped, "hold"); n != 1 {
					t.Errorf("%d stopped dead letters for the owed Reply; want 1", n)
				}
			})
		})
	}
}
