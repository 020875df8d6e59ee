package actor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
)

// TestPoolOnlyWorkerReplaced: while the only worker of a running pool,
// which stopped itself (or panicked under Terminate), is being replaced,
// the pool is not stopped, and its calls have the outcomes the docs give:
// CallPool, AskPool, BroadcastPool and CastPool are refused with
// ErrStopped alone (not ErrPoolStopped: "the only one is being
// replaced"), and a refused CastPool is a dead letter with its payload;
// with Balancing, calls and casts wait in the shared queue and the
// replacement runs them (BroadcastPool, which bypasses the queue, is
// refused). None is lost, and the replacement then takes calls.
func TestPoolOnlyWorkerReplaced(t *testing.T) {
	for _, s := range []namedStrategy{
		{"round robin", actor.RoundRobin()},
		{"hash", actor.Hash(func(int) string { return "k" })},
		{"first", actor.First(0)},
		{"balancing", actor.Balancing()},
	} {
		for _, how := range []string{"stops itself", "panics under Terminate"} {
			t.Run(s.name+"/"+how, func(t *testing.T) {
				bubble(t, func(t *testing.T) {
					var letters testkit.Letters
					rt := testkit.NewRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
					ctx := context.Background()
					var made atomic.Int32
					release := make(chan struct{})
					p, err := actor.NewPool(rt, 1, func() *pw {
						n := made.Add(1)
						if n == 2 { // the replacement: made once released
							<-release
						}
						return &pw{id: int(n)}
					}, s.opt, actor.WithWorkerSupervision(actor.Supervision{Directive: actor.Terminate}))
					if err != nil {
						t.Fatal(err)
					}
					stop := pwQuit
					if how != "stops itself" {
						stop = pwBoom
					}
					_, _ = actor.CallPool(ctx, stop, p, 0)
					synctest.Wait() // the replacement is being made
					if p.Stopped() {
						t.Fatal("the pool stopped while its only worker is being replaced")
					}
					queued := s.name == "balancing"
					wantRefused := func(verb string, err error) {
						t.Helper()
						if queued && verb != "BroadcastPool" {
							if err != nil {
								t.Errorf("%s: %v; want it queued for the replacement", verb, err)
							}
							return
						}
						if !errors.Is(err, actor.ErrStopped) || errors.Is(err, actor.ErrPoolStopped) {
							t.Errorf("%s: %v; want ErrStopped alone (the only worker is being replaced)", verb, err)
						}
					}
					f := actor.AskPool(ctx, pwID, p, 0)
					var askErr error
					select {
					case <-f.Done(): // refused: a future already failed
						_, askErr = f.Await(ctx)
					default:
					}
					wantRefused("AskPool", askErr)
					wantRefused("CastPool", actor.CastPool(pwAppend, p, 7))
					_, err = actor.BroadcastPool(ctx, pwID, p, 0)
					wantRefused("BroadcastPool", err)
					if !queued {
						_, err = actor.CallPool(ctx, pwID, p, 0)
						wantRefused("CallPool", err)
						if n := letters.Count(troupe.ReasonStopped, "pw.append"); n != 1 {
							t.Errorf("refused CastPool: %d dead letters; want 1", n)
						}
					}
					close(release)
					synctest.Wait()
					if id, err := f.Await(ctx); queued && (err != nil || id != 2) {
						t.Errorf("AskPool made meanwhile: %d, %v; want run by the replacement, 2", id, err)
					}
					if log, err := actor.CallPool(ctx, pwLog, p, 0); err != nil || queued && len(log) != 1 {
						t.Errorf("replacement's log: %v, %v; want the cast made meanwhile if queued", log, err)
					}
					if id, err := actor.CallPool(ctx, pwID, p, 0); err != nil || id != 2 {
						t.Errorf("after the replacement: %d, %v; want 2", id, err)
					}
					if err := p.Stop(ctx); err != nil {
						t.Fatal(err)
					}
				})
			})
		}
	}
}
