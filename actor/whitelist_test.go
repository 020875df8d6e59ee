package actor_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Whitelist controls for Account. A test that holds calls back keeps wlOnly
// or wlAll admitted, so that it can lift the whitelist again.
var (
	wlOnly = actor.NewMethod("only", func(_ *Account, c *actor.Ctx, ms []actor.Admitter) (struct{}, error) {
		return struct{}{}, c.Only(ms...)
	})
	wlAll = actor.NewMethod("all", func(_ *Account, c *actor.Ctx, _ struct{}) (struct{}, error) {
		c.AdmitAll()
		return struct{}{}, nil
	})
	wlLog = actor.NewMethod("log", func(a *Account, _ *actor.Ctx, _ struct{}) ([]int, error) {
		return slices.Clone(a.log), nil
	})
	wlTake = actor.NewMethod("take", func(a *Account, _ *actor.Ctx, n int) (int, error) {
		a.balance -= n
		a.log = append(a.log, -n)
		return a.balance, nil
	})
)

// bubbleRuntime runs f in a bubble (see bubble) with a runtime made inside
// it, so that its timer wheel and pool run on the fake clock, and shut down
// inside it.
func bubbleRuntime(t *testing.T, f func(t *testing.T, rt *troupe.Runtime), opts ...troupe.Option) {
	t.Helper()
	bubble(t, func(t *testing.T) {
		rt, err := troupe.New(opts...)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := rt.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		}()
		f(t, rt)
	})
}

// withDeadline is a context that expires after d, cancelled when the test
// ends.
func withDeadline(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// mustCall calls m and fails the test on error.
func mustCall[S, Q, R any](t *testing.T, ctx context.Context, m *actor.Method[S, Q, R], to *actor.Ref[S], req Q) R {
	t.Helper()
	r, err := m.Call(ctx, to, req)
	if err != nil {
		t.Fatalf("%s: %v", m.Name(), err)
	}
	return r
}

// mustCast casts to m and fails the test on error.
func mustCast[S, Q, R any](t *testing.T, m *actor.Method[S, Q, R], to *actor.Ref[S], req Q) {
	t.Helper()
	if err := m.Cast(to, req); err != nil {
		t.Fatalf("%s.Cast: %v", m.Name(), err)
	}
}

// lettersFor returns the dead letters r recorded with this reason and
// method, in the order they were reported.
func lettersFor(r *recorder, why troupe.Reason, method string) []troupe.DeadLetter {
	var out []troupe.DeadLetter
	for _, d := range r.All() {
		if d.Reason == why && d.Method == method {
			out = append(out, d)
		}
	}
	return out
}

// payloadsFor returns the payloads (oneways only) of lettersFor.
func payloadsFor(r *recorder, why troupe.Reason, method string) []any {
	var out []any
	for _, d := range lettersFor(r, why, method) {
		if d.Payload != nil {
			out = append(out, d.Payload)
		}
	}
	return out
}

func TestOnlyHoldsInArrivalOrder(t *testing.T) {
	bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
		ctx := withDeadline(t, time.Minute)
		acct := spawnAccount(t, rt)
		mustCall(t, ctx, wlOnly, acct, []actor.Admitter{Balance, wlAll, wlLog})
		for i := 1; i <= 3; i++ {
			mustCast(t, Deposit, acct, i)
		}
		if got := mustCall(t, ctx, Balance, acct, struct{}{}); got != 0 {
			t.Fatalf("balance with deposits held: got %d; want 0", got)
		}
		if got, want := acct.Held(), map[string]int{"deposit": 3}; !maps.Equal(got, want) {
			t.Fatalf("Held: got %v; want %v", got, want)
		}
		// All is queued ahead of a newer deposit: the held ones run first,
		// in arrival order, then the newer one.
		mustCast(t, wlAll, acct, struct{}{})
		mustCast(t, Deposit, acct, 4)
		if got, want := mustCall(t, ctx, wlLog, acct, struct{}{}), []int{1, 2, 3, 4}; !slices.Equal(got, want) {
			t.Fatalf("run order: got %v; want %v", got, want)
		}
		if got := acct.Held(); len(got) != 0 {
			t.Fatalf("Held after All: got %v; want empty", got)
		}
	})
}

func TestOnlyAdmittedMethodsInterleaveByArrival(t *testing.T) {
	bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
		ctx := withDeadline(t, time.Minute)
		acct := spawnAccount(t, rt)
		mustCall(t, ctx, wlOnly, acct, []actor.Admitter{wlOnly, wlLog})
		mustCast(t, Deposit, acct, 1)
		mustCast(t, wlTake, acct, 2)
		mustCast(t, Balance, acct, struct{}{})
		mustCast(t, Deposit, acct, 3)
		mustCast(t, wlTake, acct, 4)
		if got := mustCall(t, ctx, wlLog, acct, struct{}{}); len(got) != 0 {
			t.Fatalf("log with everything held: got %v; want empty", got)
		}
		if got, want := acct.Held(), map[string]int{"deposit": 2, "take": 2, "balance": 1}; !maps.Equal(got, want) {
			t.Fatalf("Held: got %v; want %v", got, want)
		}
		mustCall(t, ctx, wlOnly, acct, []actor.Admitter{Deposit, wlTake, wlOnly, wlLog})
		if got, want := mustCall(t, ctx, wlLog, acct, struct{}{}), []int{1, -2, 3, -4}; !slices.Equal(got, want) {
			t.Fatalf("run order: got %v; want %v", got, want)
		}
		if got, want := acct.Held(), map[string]int{"balance": 1}; !maps.Equal(got, want) {
			t.Fatalf("Held after admitting deposit and take: got %v; want %v", got, want)
		}
	})
}

func TestOnlyHeldCallDeadline(t *testing.T) {
	var letters recorder
	bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
		ctx := withDeadline(t, time.Minute)
		acct := spawnAccount(t, rt)
		mustCall(t, ctx, wlOnly, acct, []actor.Admitter{wlAll, wlLog})
		const wait = 100 * time.Millisecond
		start := time.Now()
		_, err := Deposit.Call(withDeadline(t, wait), acct, 7)
		if !errors.Is(err, actor.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("held call past its deadline: got %v; want ErrTimeout matching context.DeadlineExceeded", err)
		}
		if got := time.Since(start); got != wait {
			t.Fatalf("held call failed after %v; want %v (fake time)", got, wait)
		}
		if got := acct.Held(); len(got) != 0 {
			t.Fatalf("Held counts an expired call: got %v; want empty", got)
		}
		mustCall(t, ctx, wlAll, acct, struct{}{})
		if got := mustCall(t, ctx, wlLog, acct, struct{}{}); len(got) != 0 {
			t.Fatalf("expired call ran once admitted: log %v; want empty", got)
		}
		if got := lettersFor(&letters, troupe.ReasonExpired, "deposit"); len(got) != 1 {
			t.Fatalf("expired dead letters for deposit: got %v; want 1", got)
		}
	}, troupe.WithDeadLetterHook(letters.Hook))
}

func TestOnlyStopFailsHeldCalls(t *testing.T) {
	var letters recorder
	bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
		ctx := withDeadline(t, time.Minute)
		acct := spawnAccount(t, rt)
		mustCall(t, ctx, wlOnly, acct, []actor.Admitter{Balance})
		callErr := make(chan error, 1)
		go func() {
			_, err := Deposit.Call(ctx, acct, 1)
			callErr <- err
		}()
		synctest.Wait() // the call is queued
		mustCast(t, Deposit, acct, 5)
		mustCall(t, ctx, Balance, acct, struct{}{})
		if got, want := acct.Held(), map[string]int{"deposit": 2}; !maps.Equal(got, want) {
			t.Fatalf("Held: got %v; want %v", got, want)
		}
		if err := acct.Stop(ctx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if err := <-callErr; !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("held sync call at stop: got %v; want ErrStopped", err)
		}
		if got, want := payloadsFor(&letters, troupe.ReasonStopped, "deposit"), []any{5}; !slices.Equal(got, want) {
			t.Fatalf("held oneway payloads in stopped dead letters: got %v; want %v (all: %v)", got, want, letters.All())
		}
		for _, d := range lettersFor(&letters, troupe.ReasonStopped, "deposit") {
			if !errors.Is(d.Err, actor.ErrStopped) {
				t.Errorf("dead letter %v: Err does not match ErrStopped", d)
			}
		}
		if err := Deposit.Cast(acct, 1); !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("Cast after Stop: got %v; want ErrStopped", err)
		}
	}, troupe.WithDeadLetterHook(letters.Hook))
}

func TestOnlySystemMessagesIgnoreWhitelist(t *testing.T) {
	tests := []struct {
		name string
		stop func(ctx context.Context, r *actor.Ref[*Account]) error
	}{
		{"Stop", func(ctx context.Context, r *actor.Ref[*Account]) error { return r.Stop(ctx) }},
		{"Kill", func(ctx context.Context, r *actor.Ref[*Account]) error {
			r.Kill()
			select {
			case <-r.Done():
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var letters recorder
			bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
				ctx := withDeadline(t, time.Minute)
				acct := spawnAccount(t, rt)
				mustCall(t, ctx, wlOnly, acct, nil) // admits no call at all
				for i := 1; i <= 3; i++ {
					mustCast(t, Deposit, acct, i)
				}
				if err := tt.stop(ctx, acct); err != nil {
					t.Fatalf("%s with every call held: %v", tt.name, err)
				}
				if got, want := payloadsFor(&letters, troupe.ReasonStopped, "deposit"), []any{1, 2, 3}; !slices.Equal(got, want) {
					t.Fatalf("stopped dead letters: got %v; want %v", got, want)
				}
			}, troupe.WithDeadLetterHook(letters.Hook))
		})
	}
}

func TestOnlyHeldCallsCountTowardCapacity(t *testing.T) {
	tests := []struct {
		policy actor.Overflow
		check  func(t *testing.T, err error, took time.Duration, letters *recorder)
	}{
		{actor.Reject, func(t *testing.T, err error, _ time.Duration, letters *recorder) {
			if !errors.Is(err, actor.ErrMailboxFull) {
				t.Fatalf("third Cast: got %v; want ErrMailboxFull", err)
			}
			if got, want := payloadsFor(letters, troupe.ReasonMailboxFull, "deposit"), []any{3}; !slices.Equal(got, want) {
				t.Fatalf("mailbox-full dead letters: got %v; want %v", got, want)
			}
		}},
		{actor.DropOldest, func(t *testing.T, err error, _ time.Duration, letters *recorder) {
			if err != nil {
				t.Fatalf("third Cast: got %v; want nil", err)
			}
			// The oldest call is the first held one.
			got := lettersFor(letters, troupe.ReasonDropped, "deposit")
			if len(got) != 1 || got[0].Payload != 1 || !errors.Is(got[0].Err, actor.ErrDropped) {
				t.Fatalf("dropped dead letters: got %v; want deposit 1 with ErrDropped", got)
			}
		}},
		{actor.Block, func(t *testing.T, err error, took time.Duration, _ *recorder) {
			if !errors.Is(err, actor.ErrMailboxFull) || !errors.Is(err, actor.ErrTimeout) {
				t.Fatalf("third Cast: got %v; want ErrMailboxFull and ErrTimeout", err)
			}
			if took != time.Second {
				t.Fatalf("third Cast waited %v; want the call timeout, 1s (fake time)", took)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.policy.String(), func(t *testing.T) {
			var letters recorder
			bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
				ctx := withDeadline(t, time.Minute)
				acct := spawnAccount(t, rt, actor.WithMailbox(2, tt.policy))
				mustCall(t, ctx, wlOnly, acct, []actor.Admitter{Balance})
				mustCast(t, Deposit, acct, 1)
				mustCall(t, ctx, Balance, acct, struct{}{}) // moves deposit 1 to held
				if got, want := acct.Held(), map[string]int{"deposit": 1}; !maps.Equal(got, want) {
					t.Fatalf("Held: got %v; want %v", got, want)
				}
				mustCast(t, Deposit, acct, 2)
				start := time.Now()
				err := Deposit.Cast(acct, 3)
				tt.check(t, err, time.Since(start), &letters)
				if tt.policy == actor.Reject {
					// Admitted calls are refused too: the held ones fill the mailbox.
					if _, err := Balance.Call(ctx, acct, struct{}{}); !errors.Is(err, actor.ErrMailboxFull) {
						t.Fatalf("admitted call into a mailbox full of held calls: got %v; want ErrMailboxFull", err)
					}
				}
			}, troupe.WithCallTimeout(time.Second), troupe.WithDeadLetterHook(letters.Hook))
		})
	}
}

func TestHeldCountsPerMethod(t *testing.T) {
	bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
		ctx := withDeadline(t, time.Minute)
		acct := spawnAccount(t, rt)
		if got := acct.Held(); len(got) != 0 {
			t.Fatalf("fresh actor: Held got %v; want empty", got)
		}
		mustCall(t, ctx, wlOnly, acct, []actor.Admitter{wlLog})
		expired := make(chan error, 1)
		go func() {
			_, err := Balance.Call(withDeadline(t, time.Second), acct, struct{}{})
			expired <- err
		}()
		synctest.Wait()
		for i := 1; i <= 3; i++ {
			mustCast(t, Deposit, acct, i)
		}
		mustCast(t, wlTake, acct, 1)
		mustCast(t, wlTake, acct, 2)
		mustCall(t, ctx, wlLog, acct, struct{}{}) // the actor has looked at every call before it
		if got, want := acct.Held(), map[string]int{"balance": 1, "deposit": 3, "take": 2}; !maps.Equal(got, want) {
			t.Fatalf("Held: got %v; want %v", got, want)
		}
		if err := <-expired; !errors.Is(err, actor.ErrTimeout) {
			t.Fatalf("held balance call: got %v; want ErrTimeout", err)
		}
		if got, want := acct.Held(), map[string]int{"deposit": 3, "take": 2}; !maps.Equal(got, want) {
			t.Fatalf("Held after the balance call expired: got %v; want %v", got, want)
		}
		var none *actor.Ref[*Account]
		if got := none.Held(); got != nil {
			t.Fatalf("nil Ref: Held got %v; want nil", got)
		}
	})
}

// wlOther is another actor type: its methods cannot whitelist an Account.
type wlOther struct{}

var wlPing = actor.NewMethod("ping", func(*wlOther, *actor.Ctx, struct{}) (struct{}, error) { return struct{}{}, nil })

func TestOnlyRejectsBadMethods(t *testing.T) {
	tests := []struct {
		name    string
		methods []actor.Admitter
		want    error
	}{
		{"another actor type", []actor.Admitter{Balance, wlPing}, actor.ErrWrongActor},
		{"nil", []actor.Admitter{Balance, nil}, actor.ErrNilHandler},
		{"typed nil", []actor.Admitter{(*actor.Method[*Account, int, int])(nil)}, actor.ErrNilHandler},
		{"zero", []actor.Admitter{&actor.Method[*Account, int, int]{}}, actor.ErrNilHandler},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
				ctx := withDeadline(t, time.Minute)
				acct := spawnAccount(t, rt)
				_, err := wlOnly.Call(ctx, acct, tt.methods)
				if !errors.Is(err, tt.want) {
					t.Fatalf("Only: got %v; want %v", err, tt.want)
				}
				// The whitelist is unchanged: nothing is held.
				if got := mustCall(t, ctx, Deposit, acct, 5); got != 5 {
					t.Fatalf("deposit after a failed Only: got %d; want 5", got)
				}
			})
		})
	}
}

// Per-sender order with concurrent senders while the whitelist flips
// between Only(seqA) and All: for each sender, the seqA calls run in send
// order and so do the seqB calls, however long each was held. Real time:
// the point is contention, not timing.
func TestOnlyPerSenderOrderWithFlippingWhitelist(t *testing.T) {
	type seqState struct {
		ran   map[string]map[int][]int // method → sender → seqs in run order
		flips int
	}
	record := func(method string) *actor.Method[*seqState, [2]int, struct{}] {
		return actor.NewMethod(method, func(s *seqState, _ *actor.Ctx, m [2]int) (struct{}, error) {
			if s.ran[method] == nil {
				s.ran[method] = make(map[int][]int)
			}
			s.ran[method][m[0]] = append(s.ran[method][m[0]], m[1])
			return struct{}{}, nil
		})
	}
	seqA, seqB := record("a"), record("b")
	var flip *actor.Method[*seqState, bool, struct{}]
	flip = actor.NewMethod("flip", func(s *seqState, c *actor.Ctx, hold bool) (struct{}, error) {
		s.flips++
		if hold {
			return struct{}{}, c.Only(seqA, flip)
		}
		c.AdmitAll()
		return struct{}{}, nil
	})
	dump := actor.NewMethod("dump", func(s *seqState, _ *actor.Ctx, _ struct{}) (*seqState, error) {
		return s, nil // read only after every sender is done
	})

	rt := newRuntime(t)
	ref, err := actor.Spawn(rt, &seqState{ran: make(map[string]map[int][]int)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const senders, perSender = 4, 300
	sendersDone := make(chan struct{})
	var flipper sync.WaitGroup
	flipper.Go(func() {
		for hold := true; ; hold = !hold {
			select {
			case <-sendersDone:
				if _, err := flip.Call(ctx, ref, false); err != nil {
					t.Errorf("final flip: %v", err)
				}
				return
			default:
			}
			if _, err := flip.Call(ctx, ref, hold); err != nil {
				t.Errorf("flip: %v", err)
				return
			}
		}
	})
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range perSender {
				m := seqA
				if i%3 == 0 {
					m = seqB
				}
				var err error
				if i%7 == 0 { // a sync call waits while its method is held
					_, err = m.Call(ctx, ref, [2]int{s, i})
				} else {
					err = m.Cast(ref, [2]int{s, i})
				}
				if err != nil {
					t.Errorf("sender %d, message %d: %v", s, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(sendersDone)
	flipper.Wait()
	st := mustCall(t, ctx, dump, ref, struct{}{})
	if st.flips < 2 {
		t.Logf("the whitelist flipped only %d times", st.flips)
	}
	for s := range senders {
		var wantA, wantB []int
		for i := range perSender {
			if i%3 == 0 {
				wantB = append(wantB, i)
			} else {
				wantA = append(wantA, i)
			}
		}
		if got := st.ran["a"][s]; !slices.Equal(got, wantA) {
			t.Errorf("sender %d, method a: got %v; want %v", s, got, wantA)
		}
		if got := st.ran["b"][s]; !slices.Equal(got, wantB) {
			t.Errorf("sender %d, method b: got %v; want %v", s, got, wantB)
		}
	}
}

// A restart lifts the whitelist: the fresh state starts admitting every
// call, as at spawn (it does not know what the dead one held back), and
// the held calls run next, in arrival order.
func TestRestartLiftsWhitelist(t *testing.T) {
	bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
		ref, err := actor.SpawnFunc(rt, func() *Account { return &Account{} })
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := wlOnly.Call(ctx, ref, []actor.Admitter{Boom}); err != nil {
			t.Fatal(err)
		}
		f1, f2 := Deposit.Ask(ctx, ref, 5), Deposit.Ask(ctx, ref, 7) // held
		synctest.Wait()
		if _, err := Boom.Call(ctx, ref, "x"); err == nil {
			t.Fatal("Boom did not panic")
		}
		start := time.Now()
		for i, want := range []int{5, 12} {
			if v, err := []*actor.Future[int]{f1, f2}[i].Await(ctx); err != nil || v != want {
				t.Fatalf("held deposit %d after the restart: got %v, %v; want %d", i, v, err, want)
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("held calls ran %v after the restart; want at its backoff", d)
		}
	})
}

// A child whose handler waits in a call its stopping parent's whitelist
// holds gets ErrStopped at once: the graceful stop fails the held calls
// when its queue has run, before it waits for its children. Held until
// the parent finalized, the call (and so the child's stop, and the
// parent's) waited for the call's deadline.
type wlParent struct{ kid *actor.Ref[*wlKid] }

type wlKid struct{ parent *actor.Ref[*wlParent] }

var (
	wlpReport = actor.NewMethod("report", func(_ *wlParent, _ *actor.Ctx, n int) (int, error) { return n, nil })
	wlpPing   = actor.NewMethod("ping", func(_ *wlParent, _ *actor.Ctx, n int) (int, error) { return n, nil })
	wlpSetup  = actor.NewMethod("setup", func(p *wlParent, c *actor.Ctx, _ int) (int, error) {
		k, err := actor.Spawn(c, &wlKid{parent: actor.Self[*wlParent](c)})
		if err != nil {
			return 0, err
		}
		p.kid = k
		return 0, c.Only(wlpPing) // report is held from now on
	})
	wlkWork = actor.NewMethod("work", func(k *wlKid, c *actor.Ctx, n int) (int, error) {
		return wlpReport.Call(c.Context(), k.parent, n)
	})
)

func TestOnlyStopReleasesChildHeldCall(t *testing.T) {
	var letters recorder
	bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
		p := &wlParent{}
		ref, err := actor.Spawn(rt, p)
		if err != nil {
			t.Fatal(err)
		}
		ctx := withDeadline(t, time.Hour)
		mustCall(t, ctx, wlpSetup, ref, 0)
		kidErr := make(chan error, 1)
		go func() {
			_, err := wlkWork.Call(withDeadline(t, time.Minute), p.kid, 1)
			kidErr <- err
		}()
		synctest.Wait() // the kid waits in report, held by its parent
		if got := ref.Held(); got["report"] != 1 {
			t.Fatalf("Held = %v; want report held", got)
		}
		mustCall(t, ctx, wlpPing, ref, 0) // admitted calls still run
		start := time.Now()
		if err := ref.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		err = <-kidErr
		if took := time.Since(start); took != 0 || !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("stop took %v, the kid's held call got %v; want ErrStopped at once", took, err)
		}
		if n := len(lettersFor(&letters, troupe.ReasonStopped, "report")); n != 1 {
			t.Fatalf("stopped dead letters for report: %d; want 1 (all: %v)", n, letters.All())
		}
	}, troupe.WithDeadLetterHook(letters.Hook))
}

// As TestOnlyStopReleasesChildHeldCall, for an owner-driven parent whose
// Process holds the call with Admitting (the actor's own whitelist is
// unset): the stop fails it too, at once.
func TestOnlyStopReleasesChildCallHeldByProcess(t *testing.T) {
	bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
		p := &wlParent{}
		h, err := actor.NewHandler(rt, p)
		if err != nil {
			t.Fatal(err)
		}
		ref := h.Ref()
		ctx := withDeadline(t, time.Hour)
		spawnKid := actor.NewMethod("spawnkid", func(p *wlParent, c *actor.Ctx, _ int) (int, error) {
			k, err := actor.Spawn(c, &wlKid{parent: actor.Self[*wlParent](c)})
			p.kid = k
			return 0, err
		})
		done := goProcess(ctx, h, actor.Forever(), actor.Admitting(wlpPing, spawnKid))
		mustCall(t, ctx, spawnKid, ref, 0)
		kidErr := make(chan error, 1)
		go func() {
			_, err := wlkWork.Call(withDeadline(t, time.Minute), p.kid, 1)
			kidErr <- err
		}()
		synctest.Wait() // the kid waits in report, held by Process
		if got := ref.Held(); got["report"] != 1 {
			t.Fatalf("Held = %v; want report held", got)
		}
		start := time.Now()
		if err := ref.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		err = <-kidErr
		if took := time.Since(start); took != 0 || !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("stop took %v, the kid's held call got %v; want ErrStopped at once", took, err)
		}
		if err := <-done; err != nil && !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("Process: %v", err)
		}
	})
}

// As TestOnlyStopReleasesChildCallHeldByProcess, when the Process returns
// (its budget spent) after the stop has released the held calls but before
// its turn has failed them all: restoring the actor's own whitelist then
// made the rest run (none set) or held them again (Ctx.Only set), where
// the kid's call waited for its deadline. The stop fails them all.
func TestOnlyStopReleasesHeldCallsAfterProcessReturns(t *testing.T) {
	for _, own := range []bool{false, true} {
		t.Run(fmt.Sprintf("own whitelist %v", own), func(t *testing.T) {
			testStopReleasesHeldCallsAfterProcessReturns(t, own)
		})
	}
}

func testStopReleasesHeldCallsAfterProcessReturns(t *testing.T, own bool) {
	var letters recorder
	bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
		p := &wlParent{}
		h, err := actor.NewHandler(rt, p)
		if err != nil {
			t.Fatal(err)
		}
		ref := h.Ref()
		ctx := withDeadline(t, time.Hour)
		spawnKid := actor.NewMethod("spawnkid", func(p *wlParent, c *actor.Ctx, _ int) (int, error) {
			k, err := actor.Spawn(c, &wlKid{parent: actor.Self[*wlParent](c)})
			p.kid = k
			if err == nil && own {
				err = c.Only() // hold every call, outside Process's Admitting
			}
			return 0, err
		})
		entered, gate := make(chan struct{}), make(chan struct{})
		wait := actor.NewMethod("wait", func(_ *wlParent, _ *actor.Ctx, _ int) (int, error) {
			close(entered)
			<-gate
			return 0, nil
		})
		done := goProcess(ctx, h, actor.Forever())
		mustCall(t, ctx, spawnKid, ref, 0)
		h.StopProcessing()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// One Process of what is pending now (the wait call): its budget
		// is spent before it has failed the calls that arrive meanwhile.
		if err := wait.Cast(ref, 0); err != nil {
			t.Fatal(err)
		}
		done = goProcess(ctx, h, actor.Admitting(wait))
		<-entered
		const pings = 200 // more than the Process's budget
		for range pings {
			if err := wlpPing.Cast(ref, 0); err != nil {
				t.Fatal(err)
			}
		}
		kidErr := make(chan error, 1)
		go func() {
			_, err := wlkWork.Call(withDeadline(t, time.Minute), p.kid, 1)
			kidErr <- err
		}()
		synctest.Wait() // the kid waits in report, queued after the pings
		if got := ref.Queued(); got != pings+1 {
			t.Fatalf("Queued = %d; want %d pings and report", got, pings)
		}
		start := time.Now()
		stopped := make(chan error, 1)
		go func() { stopped <- ref.Stop(ctx) }()
		synctest.Wait() // the stop message waits behind the running call
		close(gate)
		if err := <-done; err != nil {
			t.Fatalf("Process: %v", err)
		}
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		err = <-kidErr
		if took := time.Since(start); took != 0 || !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("stop took %v, the kid's held call got %v; want ErrStopped at once", took, err)
		}
		if n := len(lettersFor(&letters, troupe.ReasonStopped, "ping")); n != pings {
			t.Fatalf("stopped dead letters for ping: %d; want %d", n, pings)
		}
	}, troupe.WithDeadLetterHook(letters.Hook))
}
