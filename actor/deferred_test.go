package actor_test

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// replyDesk hands the Replies of its deferred calls to the test (out), so
// that the test answers them, from its own goroutine, when it likes.
type replyDesk struct {
	out   chan *actor.Reply[int]
	via   *actor.Ref[*replyDesk] // relay: the desk it calls
	callA func(c *actor.Ctx) error
	errs  chan error // deskCallA's outcomes
}

func newDesk(t *testing.T, rt actor.Spawner) (*actor.Ref[*replyDesk], *replyDesk) {
	t.Helper()
	d := &replyDesk{out: make(chan *actor.Reply[int], 16)}
	ref, err := actor.Spawn(rt, d)
	if err != nil {
		t.Fatal(err)
	}
	return ref, d
}

var (
	// deskHold hands its Reply to the test.
	deskHold = actor.NewDeferred("hold", func(d *replyDesk, _ *actor.Ctx, _ int, r *actor.Reply[int]) {
		d.out <- r
	})
	// deskNow answers during its turn.
	deskNow = actor.NewDeferred("now", func(_ *replyDesk, _ *actor.Ctx, n int, r *actor.Reply[int]) {
		_ = r.Send(2*n, nil)
	})
	// deskPanic hands its Reply out, then panics without sending it.
	deskPanic = actor.NewDeferred("panic", func(d *replyDesk, _ *actor.Ctx, _ int, r *actor.Reply[int]) {
		d.out <- r
		panic("boom")
	})
	// deskOnly admits deskHold only.
	deskOnly = actor.NewMethod("only", func(_ *replyDesk, c *actor.Ctx, _ int) (int, error) {
		return 0, c.Only(deskHold)
	})
	// deskSelf calls a deferred method of its own actor.
	deskSelf = actor.NewMethod("self", func(_ *replyDesk, c *actor.Ctx, n int) (int, error) {
		return deskNow.Call(c.Context(), actor.Self[*replyDesk](c), n)
	})
	// deskRelay calls deskHold on d.via from its handler, with its Context.
	deskRelay = actor.NewMethod("relay", func(d *replyDesk, c *actor.Ctx, n int) (int, error) {
		return deskHold.Call(c.Context(), d.via, n)
	})
	deskPing = actor.NewMethod("ping", func(_ *replyDesk, _ *actor.Ctx, n int) (int, error) { return n, nil })

	errDesk = errors.New("desk error")
)

// A deferred reply reaches its caller whenever and from wherever it is
// sent; only the first Send counts.
func TestDeferredSend(t *testing.T) {
	tests := []struct {
		name    string
		send    func(r *actor.Reply[int]) []error // the Sends' results
		want    int
		wantErr error
		sends   []error
	}{
		{"value from another goroutine", func(r *actor.Reply[int]) []error { return []error{r.Send(7, nil)} }, 7, nil, []error{nil}},
		{"error", func(r *actor.Reply[int]) []error { return []error{r.Send(0, errDesk)} }, 0, errDesk, []error{nil}},
		{"second Send", func(r *actor.Reply[int]) []error {
			return []error{r.Send(1, nil), r.Send(2, nil), r.Send(3, errDesk)}
		}, 1, nil, []error{nil, actor.ErrReplied, actor.ErrReplied}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newRuntime(t)
			ref, d := newDesk(t, rt)
			f := deskHold.Ask(context.Background(), ref, 0)
			errs := tt.send(<-d.out)
			got, err := f.Await(context.Background())
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("got %d, %v; want %d, %v", got, err, tt.want, tt.wantErr)
			}
			for i, e := range errs {
				if !errors.Is(e, tt.sends[i]) || (e == nil) != (tt.sends[i] == nil) {
					t.Errorf("Send #%d = %v; want %v", i+1, e, tt.sends[i])
				}
			}
		})
	}
	t.Run("during the turn", func(t *testing.T) {
		rt := newRuntime(t)
		ref, _ := newDesk(t, rt)
		if got, err := deskNow.Call(context.Background(), ref, 21); got != 42 || err != nil {
			t.Errorf("got %d, %v; want 42, nil", got, err)
		}
	})
}

func TestDeferredBadInput(t *testing.T) {
	var nilReply *actor.Reply[int]
	var zeroReply actor.Reply[int]
	for _, tt := range []struct {
		name string
		r    *actor.Reply[int]
	}{{"nil", nilReply}, {"zero", &zeroReply}} {
		if err := tt.r.Send(1, nil); !errors.Is(err, actor.ErrReplied) {
			t.Errorf("%s Reply: Send = %v; want ErrReplied", tt.name, err)
		}
		if err := tt.r.Context().Err(); err == nil {
			t.Errorf("%s Reply: Context not cancelled; want cancelled", tt.name)
		}
	}
	rt := newRuntime(t)
	ref, _ := newDesk(t, rt)
	ctx := context.Background()
	noFn := actor.NewDeferred[*replyDesk, int, int]("nil", nil)
	if _, err := noFn.Call(ctx, ref, 1); !errors.Is(err, actor.ErrNilHandler) {
		t.Errorf("nil handler: got %v; want ErrNilHandler", err)
	}
	badName := actor.NewDeferred("", func(*replyDesk, *actor.Ctx, int, *actor.Reply[int]) {})
	if err := badName.Cast(ref, 1); !errors.Is(err, actor.ErrInvalidName) {
		t.Errorf("empty name: got %v; want ErrInvalidName", err)
	}
}

// The caller's deadline bounds the wait; a reply after the caller gave up
// is discarded as late; the Reply's Context ends when the caller gives up.
func TestDeferredLate(t *testing.T) {
	tests := []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		giveUp  time.Duration
		wantErr error
	}{
		{"ctx deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Second)
		}, time.Second, actor.ErrTimeout},
		{"default call timeout", func() (context.Context, context.CancelFunc) {
			return context.Background(), func() {}
		}, 2 * time.Second, actor.ErrTimeout},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(1500*time.Millisecond, cancel)
			return ctx, cancel
		}, 1500 * time.Millisecond, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rec := &recorder{}
				rt := newRuntime(t, troupe.WithCallTimeout(2*time.Second), troupe.WithDeadLetterHook(rec.Hook))
				ref, d := newDesk(t, rt)
				ctx, cancel := tt.ctx()
				defer cancel()
				start := time.Now()
				f := deskHold.Ask(ctx, ref, 0)
				r := <-d.out
				rctx := r.Context()
				<-f.Done()
				if d := time.Since(start); d != tt.giveUp {
					t.Errorf("caller gave up after %v; want %v", d, tt.giveUp)
				}
				if _, err := f.Await(context.Background()); !errors.Is(err, tt.wantErr) {
					t.Errorf("caller got %v; want %v", err, tt.wantErr)
				}
				<-rctx.Done()
				if d := time.Since(start); d > tt.giveUp+time.Millisecond {
					t.Errorf("Reply.Context ended after %v; want by %v", d, tt.giveUp+time.Millisecond)
				}
				time.Sleep(time.Second)
				if err := r.Send(5, nil); !errors.Is(err, actor.ErrLateReply) {
					t.Errorf("late Send = %v; want ErrLateReply", err)
				}
				if n := rec.Count(troupe.ReasonLate, "hold"); n != 1 {
					t.Errorf("late dead letters = %d; want 1", n)
				}
			})
		})
	}
}

// A Reply dropped without an answer fails its caller with ErrStopped when
// the actor stops, not at the caller's deadline.
func TestDeferredDroppedAtStop(t *testing.T) {
	tests := []struct {
		name string
		stop func(ref *actor.Ref[*replyDesk]) error
	}{
		{"stop", func(ref *actor.Ref[*replyDesk]) error { return ref.Stop(context.Background()) }},
		{"kill", func(ref *actor.Ref[*replyDesk]) error { ref.Kill(); <-ref.Done(); return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rec := &recorder{}
				rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
				ref, d := newDesk(t, rt)
				start := time.Now()
				f := deskHold.Ask(context.Background(), ref, 0) // default deadline: 5 s
				r := <-d.out                                    // and never sent
				time.Sleep(time.Second)
				if err := tt.stop(ref); err != nil {
					t.Fatal(err)
				}
				select {
				case <-f.Done():
				default:
					t.Fatal("caller still waits after the stop; want ErrStopped at once")
				}
				if _, err := f.Await(context.Background()); !errors.Is(err, actor.ErrStopped) {
					t.Errorf("caller got %v; want ErrStopped", err)
				}
				if d := time.Since(start); d != time.Second {
					t.Errorf("caller failed after %v; want 1s (the stop), not the deadline", d)
				}
				if err := r.Context().Err(); err == nil {
					t.Error("Reply.Context not cancelled by the stop")
				}
				if n := rec.Count(troupe.ReasonStopped, "hold"); n != 1 {
					t.Errorf("stopped dead letters = %d; want 1", n)
				}
				if err := r.Send(1, nil); !errors.Is(err, actor.ErrLateReply) {
					t.Errorf("Send after the stop = %v; want ErrLateReply", err)
				}
			})
		})
	}
}

// A handler that panics before sending: its caller gets the *PanicError,
// a later Send is late, and the stop has nothing more to fail.
func TestDeferredPanic(t *testing.T) {
	rec := &recorder{}
	rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
	ref, d := newDesk(t, rt)
	_, err := deskPanic.Call(context.Background(), ref, 0)
	var pe *actor.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" || pe.Method != "panic" {
		t.Fatalf("got %v; want a *PanicError of panic with value boom", err)
	}
	r := <-d.out
	if err := r.Send(1, nil); !errors.Is(err, actor.ErrLateReply) {
		t.Errorf("Send after the panic = %v; want ErrLateReply", err)
	}
	if err := ref.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := rec.Count(troupe.ReasonStopped, "panic"); n != 0 {
		t.Errorf("stopped dead letters = %d; want 0 (the caller had the panic)", n)
	}
}

// A Reply handed out by a handler that then panicked is owed to nobody:
// its caller has the *PanicError. Its Context ends (Reply.Context: when
// the actor stops with the Reply unsent, at the latest), so that work done
// on its behalf stops; before, it lived until the caller's deadline,
// across the actor's stop, as the Reply never joined the owed ones.
func TestDeferredPanicEndsReplyContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, d := newDesk(t, rt)
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		for _, taken := range []bool{false, true} {
			f := deskPanic.Ask(ctx, ref, 0)
			r := <-d.out
			var rc context.Context
			if taken {
				rc = r.Context() // taken before the panic
			}
			var pe *actor.PanicError
			if _, err := f.Await(ctx); !errors.As(err, &pe) {
				t.Fatalf("got %v; want a *PanicError", err)
			}
			if err := ref.Stop(context.Background()); err != nil && !errors.Is(err, actor.ErrStopped) {
				t.Fatal(err)
			}
			if !taken {
				rc = r.Context()
			}
			if rc.Err() == nil {
				t.Errorf("Context taken before the panic %v: live after the actor stopped", taken)
			}
			if err := r.Send(1, nil); !errors.Is(err, actor.ErrLateReply) {
				t.Errorf("Send after the panic = %v; want ErrLateReply", err)
			}
			ref, d = newDesk(t, rt)
		}
	})
}

// replyFront hands each job to a worker, which answers the front's
// caller directly: the front's turn is free for the next job.
type replyFront struct {
	workers []*actor.Ref[*replyWorker]
	next    int
}

type replyWorker struct{}

type replyJob struct {
	n int
	r *actor.Reply[int]
}

// Started spawns two workers as children, so that a graceful stop of the
// front lets them finish first.
func (f *replyFront) Started(c *actor.Ctx) {
	if len(f.workers) > 0 {
		return
	}
	for range 2 {
		w, err := actor.Spawn(c, &replyWorker{})
		if err != nil {
			panic(err)
		}
		f.workers = append(f.workers, w)
	}
}

var (
	frontSubmit = actor.NewDeferred("submit", func(f *replyFront, _ *actor.Ctx, n int, r *actor.Reply[int]) {
		w := f.workers[f.next%len(f.workers)]
		f.next++
		if err := workerJob.Cast(w, replyJob{n, r}); err != nil {
			_ = r.Send(0, err)
		}
	})
	// frontSubmitSync is the same front without deferred replies: it waits
	// for each worker in its own turn.
	frontSubmitSync = actor.NewMethod("submit sync", func(f *replyFront, c *actor.Ctx, n int) (int, error) {
		w := f.workers[f.next%len(f.workers)]
		f.next++
		return workerJobSync.Call(c.Context(), w, n)
	})
	frontGate = actor.NewMethod("gate", func(_ *replyFront, _ *actor.Ctx, gate chan struct{}) (int, error) {
		<-gate
		return 0, nil
	})
	workerJob = actor.NewMethod("job", func(_ *replyWorker, _ *actor.Ctx, j replyJob) (struct{}, error) {
		time.Sleep(time.Millisecond)
		return struct{}{}, j.r.Send(2*j.n, nil)
	})
	workerJobSync = actor.NewMethod("job sync", func(_ *replyWorker, _ *actor.Ctx, n int) (int, error) {
		time.Sleep(time.Millisecond)
		return 2 * n, nil
	})
)

// The motivation: a front actor hands 1,000 jobs of 1 ms to 8
// workers. With deferred replies the workers run in parallel (~125 ms of
// fake time); calling them synchronously from the front's turn runs one
// job at a time (~1 s).
func TestDeferredFrontWorkers(t *testing.T) {
	const jobs, workers = 1000, 8
	tests := []struct {
		name     string
		submit   *actor.Method[*replyFront, int, int]
		min, max time.Duration
	}{
		{"deferred", frontSubmit, jobs / workers * time.Millisecond, jobs / workers * time.Millisecond * 12 / 10},
		{"sync", frontSubmitSync, jobs * time.Millisecond, 2 * jobs * time.Millisecond},
	}
	// One P per worker and one for the front, as on the 8-core
	// machine: the scheduler starts that many loops at once (time.Sleep is
	// a wait it cannot see, so on fewer Ps its watchdog would add loops a
	// few per millisecond, and the ramp would be measured too).
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(workers + 1))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				f := &replyFront{}
				for range workers {
					w, err := actor.Spawn(rt, &replyWorker{})
					if err != nil {
						t.Fatal(err)
					}
					f.workers = append(f.workers, w)
				}
				front, err := actor.Spawn(rt, f)
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				start := time.Now()
				futures := make([]*actor.Future[int], jobs)
				for i := range futures {
					futures[i] = tt.submit.Ask(ctx, front, i)
				}
				got, err := actor.AwaitAll(ctx, futures...)
				took := time.Since(start)
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range got {
					if v != 2*i {
						t.Fatalf("job %d: got %d; want %d", i, v, 2*i)
					}
				}
				t.Logf("makespan %v of fake time", took)
				if took < tt.min || took > tt.max {
					t.Errorf("makespan %v of fake time; want within [%v, %v]", took, tt.min, tt.max)
				}
			})
		})
	}
}

// A graceful stop runs what is queued, deferred calls too, and their
// Replies handed to children are answered as the children stop first:
// nothing is failed that could still be answered. Here the front's first
// deferred call runs while the front is already stopping.
func TestDeferredGracefulStop(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		front, err := actor.Spawn(rt, &replyFront{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		open := make(chan struct{})
		close(open)
		if _, err := frontGate.Call(ctx, front, open); err != nil { // Started has run
			t.Fatal(err)
		}
		gate := make(chan struct{})
		if err := frontGate.Cast(front, gate); err != nil {
			t.Fatal(err)
		}
		futures := []*actor.Future[int]{frontSubmit.Ask(ctx, front, 1), frontSubmit.Ask(ctx, front, 2), frontSubmit.Ask(ctx, front, 3)}
		stopped := make(chan error)
		go func() { stopped <- front.Stop(ctx) }()
		synctest.Wait()
		if !front.Stopped() {
			t.Fatal("front not stopping")
		}
		close(gate)
		got, err := actor.AwaitAll(ctx, futures...)
		if err != nil || len(got) != 3 || got[0] != 2 || got[1] != 4 || got[2] != 6 {
			t.Errorf("got %v, %v; want [2 4 6], nil", got, err)
		}
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
	})
}

// Reply.Context is the caller's: it carries the call's deadline, and it
// does not make a goroutine that uses it pass for the caller's handler (a
// call made with it is no call cycle).
func TestDeferredContext(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t, troupe.WithCallTimeout(2*time.Second))
		desk, d := newDesk(t, rt)
		relay, err := actor.Spawn(rt, &replyDesk{via: desk})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ctx := context.Background()
		f := deskRelay.Ask(ctx, relay, 1)
		r := <-d.out
		if dl, ok := r.Context().Deadline(); !ok || dl.Sub(start) != 2*time.Second {
			t.Errorf("Reply.Context deadline = %v, %v; want start+2s, true", dl.Sub(start), ok)
		}
		// relay's handler waits for this reply; a call to relay made with
		// the reply's context is not relay calling itself.
		type outcome struct {
			v   int
			err error
		}
		ping := make(chan outcome, 1)
		go func() {
			v, err := deskPing.Call(context.WithoutCancel(r.Context()), relay, 9)
			ping <- outcome{v, err}
		}()
		synctest.Wait()
		if err := r.Send(3, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := f.Await(ctx); got != 3 || err != nil {
			t.Errorf("relay got %d, %v; want 3, nil", got, err)
		}
		if p := <-ping; p.v != 9 || p.err != nil {
			t.Errorf("ping with the Reply's context got %d, %v; want 9, nil", p.v, p.err)
		}
		if r.Context().Err() == nil {
			t.Error("Reply.Context not cancelled after Send")
		}
	})
}

// The caller side of a deferred method is a Method's: cycles fail at
// once, whitelists can name it.
func TestDeferredAsMethod(t *testing.T) {
	rt := newRuntime(t)
	ref, d := newDesk(t, rt)
	ctx := context.Background()
	if _, err := deskSelf.Call(ctx, ref, 1); !errors.Is(err, actor.ErrCallCycle) {
		t.Errorf("deferred call to itself: got %v; want ErrCallCycle", err)
	}
	if _, err := deskOnly.Call(ctx, ref, 0); err != nil {
		t.Fatalf("Only(deferred method) = %v; want nil", err)
	}
	held := deskNow.Ask(ctx, ref, 1)
	admitted := deskHold.Ask(ctx, ref, 2)
	r := <-d.out
	if n := ref.Held()["now"]; n != 1 {
		t.Errorf("held now calls = %d; want 1", n)
	}
	select {
	case <-held.Done():
		t.Error("a call outside the whitelist ran")
	default:
	}
	_ = r.Send(4, nil)
	if got, err := admitted.Await(ctx); got != 4 || err != nil {
		t.Errorf("admitted got %d, %v; want 4, nil", got, err)
	}
}

// A Cast of a deferred method: nobody waits; an error sent goes to the
// dead letters.
func TestDeferredCast(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		letters int
	}{{"value", nil, 0}, {"error", errDesk, 1}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
			ref, d := newDesk(t, rt)
			if err := deskHold.Cast(ref, 1); err != nil {
				t.Fatal(err)
			}
			r := <-d.out
			if err := r.Send(1, tt.err); err != nil {
				t.Errorf("Send = %v; want nil", err)
			}
			if err := r.Send(1, nil); !errors.Is(err, actor.ErrReplied) {
				t.Errorf("second Send = %v; want ErrReplied", err)
			}
			if n := rec.Count(troupe.ReasonFailed, "hold"); n != tt.letters {
				t.Errorf("failed dead letters = %d; want %d", n, tt.letters)
			}
		})
	}
}

// cycleA asks its desk b (with ask) and, once the test
// lets it, awaits the future with its Context: the desk then waits for
// it, so the Await closes a cycle and abandons the Ask.
// Its turn then reports the Await's outcome (awaited) and lasts until
// the test closes release.
type cycleA struct {
	b       *actor.Ref[*replyDesk]
	ask     *actor.Method[*replyDesk, int, int]
	proceed chan struct{}
	awaited chan error
	release chan struct{}
}

func newCycleA(t *testing.T, rt actor.Spawner, b *actor.Ref[*replyDesk], ask *actor.Method[*replyDesk, int, int]) (*actor.Ref[*cycleA], *cycleA) {
	t.Helper()
	a := &cycleA{b: b, ask: ask, proceed: make(chan struct{}), awaited: make(chan error, 1), release: make(chan struct{})}
	ref, err := actor.Spawn(rt, a)
	if err != nil {
		t.Fatal(err)
	}
	return ref, a
}

var (
	cycleAwait = actor.NewMethod("await", func(a *cycleA, c *actor.Ctx, _ int) (int, error) {
		f := a.ask.Ask(c.Context(), a.b, 0)
		<-a.proceed
		_, err := f.Await(c.Context())
		a.awaited <- err
		<-a.release
		return 0, err
	})
	cycleAPing = actor.NewMethod("ping", func(_ *cycleA, _ *actor.Ctx, n int) (int, error) { return n, nil })
	// deskCallA waits, in the desk's handler, for A (d.callA) and tells
	// d.errs how that ended.
	deskCallA = actor.NewMethod("call a", func(d *replyDesk, c *actor.Ctx, _ int) (int, error) {
		err := d.callA(c)
		d.errs <- err
		return 0, err
	})
)

// When Await abandons an Ask because it would close a call cycle, the
// caller has given up (it got ErrCallCycle), as at a deadline or cancel:
// the asked handler's Context and its deferred Reply's Context end then,
// not only when the Ask's ctx does (here the awaiting handler's, which
// ends with its turn).
func TestCycleAbandonCancelsContexts(t *testing.T) {
	procs(t, 2) // B's handler runs while A's waits at its gate
	for _, before := range []bool{true, false} {
		// The Reply's Context made before the abandon, or first asked for
		// after it.
		t.Run(fmt.Sprintf("deferred Reply, Context made before: %v", before), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				b, d := newDesk(t, rt)
				d.errs = make(chan error, 1)
				aref, a := newCycleA(t, rt, b, deskHold)
				d.callA = func(c *actor.Ctx) error { _, err := cycleAPing.Call(c.Context(), aref, 1); return err }
				fa := cycleAwait.Ask(context.Background(), aref, 0)
				r := <-d.out // B owes the Reply; its turn is over
				if before {
					r.Context()
				}
				fb := deskCallA.Ask(context.Background(), b, 0) // B waits for A
				synctest.Wait()
				close(a.proceed)
				if err := <-a.awaited; !errors.Is(err, actor.ErrCallCycle) {
					t.Fatalf("A's Await: got %v; want ErrCallCycle", err)
				}
				if r.Context().Err() == nil {
					t.Error("the Reply's Context is not cancelled after its caller abandoned the call")
				}
				close(a.release)
				if _, err := fa.Await(context.Background()); !errors.Is(err, actor.ErrCallCycle) {
					t.Errorf("A's call: got %v; want ErrCallCycle", err)
				}
				if _, err := fb.Await(context.Background()); err != nil {
					t.Errorf("B's call to A: %v", err)
				}
				if err := r.Send(1, nil); !errors.Is(err, actor.ErrLateReply) {
					t.Errorf("Send after the abandon: got %v; want ErrLateReply", err)
				}
			})
		})
	}
	t.Run("handler Context", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			rt := newRuntime(t)
			b, d := newDesk(t, rt)
			d.errs = make(chan error, 1)
			aref, a := newCycleA(t, rt, b, deskCallA)
			d.callA = func(c *actor.Ctx) error { _, err := cycleAPing.Call(c.Context(), aref, 1); return err }
			fa := cycleAwait.Ask(context.Background(), aref, 0)
			synctest.Wait() // B's handler for A's Ask waits for A
			close(a.proceed)
			if err := <-a.awaited; !errors.Is(err, actor.ErrCallCycle) {
				t.Fatalf("A's Await: got %v; want ErrCallCycle", err)
			}
			// B's handler waits for A with its Context: that ends with the
			// abandon, so B's call fails with the cancellation at once,
			// not with A's reply once A's turn is over.
			synctest.Wait()
			select {
			case err := <-d.errs:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("B's handler's call to A: got %v; want context.Canceled", err)
				}
			default:
				t.Error("B's handler's Context is not cancelled after its caller abandoned the call: it still waits for A")
			}
			close(a.release)
			if _, err := fa.Await(context.Background()); !errors.Is(err, actor.ErrCallCycle) {
				t.Errorf("A's call: got %v; want ErrCallCycle", err)
			}
		})
	})
}
