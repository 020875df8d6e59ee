package fsm_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Busy holds the actor's turn for a while (fake time in a bubble).
var Busy = actor.NewMethod("busy", func(b *bot, c *actor.Ctx, d time.Duration) (struct{}, error) {
	time.Sleep(d)
	return struct{}{}, nil
})

// A state timeout whose tick is lost to a full mailbox — refused by a
// Reject or Block one, or evicted from a DropOldest one by a later cast —
// is a dead letter, and is retried a full timeout later, like a refused
// one. Before, the timer was one-shot: the machine stayed in its state for
// ever.
func TestTimeoutLostToFullMailboxIsRetried(t *testing.T) {
	for _, pol := range []actor.Overflow{actor.Reject, actor.Block, actor.DropOldest} {
		t.Run(pol.String(), func(t *testing.T) {
			var dl letters
			bubble(t, func(t *testing.T, rt *troupe.Runtime) {
				ref := spawn(t, rt, timed(t, false), newBot(), actor.WithMailbox(1, pol))
				expect(t, ref, A, "enter a", "fn a")
				if err := Busy.Cast(ref, 12*time.Second); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				if pol != actor.DropOldest {
					_ = Note.Cast(ref, "x") // fills the mailbox: the tick is refused
				}
				time.Sleep(11 * time.Second) // the tick at 10 s
				synctest.Wait()
				if pol == actor.DropOldest {
					_ = Note.Cast(ref, "x") // evicts the queued tick
				}
				time.Sleep(2 * time.Second) // Busy returns; what is queued runs
				synctest.Wait()
				expect(t, ref, A, "x")
				if n := len(dl.All()); n != 1 {
					t.Fatalf("dead letters %v; want the lost tick", dl.All())
				}
				time.Sleep(7*time.Second + 5*time.Millisecond) // 20 s: the retry
				synctest.Wait()
				expect(t, ref, C, "exit a", "enter c", "fn c")
			}, troupe.WithDeadLetterHook(dl.Hook))
		})
	}
}
