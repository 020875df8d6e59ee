package actor_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// A handler that changes the actor's whitelist (Only, AdmitAll) during a
// Process(Admitting) changes the whitelist the actor keeps once that
// Process returns, not the methods this Process admits: the calls it does
// not admit stay held until it returns.
func TestProcessAdmittingKeepsFilterWhenHandlerChangesWhitelist(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cast  func(t *testing.T, h *actor.Handler[*Account])
		admit []actor.Admitter
	}{
		{"Only", func(t *testing.T, h *actor.Handler[*Account]) {
			mustCast(t, wlOnly, h.Ref(), []actor.Admitter{Deposit})
		}, []actor.Admitter{wlOnly}},
		{"AdmitAll", func(t *testing.T, h *actor.Handler[*Account]) {
			mustCast(t, wlAll, h.Ref(), struct{}{})
		}, []actor.Admitter{wlAll}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
				ctx := withDeadline(t, time.Minute)
				h, acct := newAccountHandler(t, rt)
				mustCast(t, Deposit, h.Ref(), 1)
				tc.cast(t, h)
				mustCast(t, Deposit, h.Ref(), 2)
				if err := h.Process(ctx, actor.Admitting(tc.admit...)); err != nil {
					t.Fatalf("Process(Admitting): %v", err)
				}
				if len(acct.log) != 0 {
					t.Fatalf("deposits ran in a Process that did not admit them: log %v; want empty", acct.log)
				}
				if err := h.Process(ctx); err != nil {
					t.Fatalf("Process: %v", err)
				}
				if want := []int{1, 2}; !slices.Equal(acct.log, want) {
					t.Fatalf("after Process: log %v; want %v (the actor's new whitelist admits them)", acct.log, want)
				}
			})
		})
	}
}

// Bad input to Admitting is refused with a sentinel, before any call runs.
func TestProcessAdmittingBadMethods(t *testing.T) {
	for _, tc := range []struct {
		name    string
		methods []actor.Admitter
		want    error
	}{
		{"another actor type", []actor.Admitter{Balance, wlPing}, actor.ErrWrongActor},
		{"nil", []actor.Admitter{Balance, nil}, actor.ErrNilHandler},
		{"typed nil", []actor.Admitter{(*actor.Method[*Account, int, int])(nil)}, actor.ErrNilHandler},
		{"zero", []actor.Admitter{&actor.Method[*Account, int, int]{}}, actor.ErrNilHandler},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
				ctx := withDeadline(t, time.Minute)
				h, acct := newAccountHandler(t, rt)
				mustCast(t, Deposit, h.Ref(), 1)
				if err := h.Process(ctx, actor.Admitting(tc.methods...)); !errors.Is(err, tc.want) {
					t.Fatalf("Process(Admitting): got %v; want %v", err, tc.want)
				}
				if len(acct.log) != 0 {
					t.Fatalf("a refused Process ran calls: log %v", acct.log)
				}
				if err := h.Process(ctx); err != nil || !slices.Equal(acct.log, []int{1}) {
					t.Fatalf("Process after a refused one: %v, log %v; want nil, [1]", err, acct.log)
				}
			})
		})
	}
}
