package remote

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

type otherKey struct{}

// TestCallCtx: a served call's context behaves as the
// context.WithValue(context.WithDeadline(...)) it replaces, whether its
// inner context is made before or after it ends: deadline, chain, Err,
// Done, Cause, and the cancellation of contexts derived from it (as a
// handler's Context is).
func TestCallCtx(t *testing.T) {
	ended := func(t *testing.T, ctx context.Context, want error) {
		t.Helper()
		select {
		case <-ctx.Done():
		default:
			t.Fatalf("Done not closed; want closed with %v", want)
		}
		if err := ctx.Err(); !errors.Is(err, want) {
			t.Fatalf("Err = %v; want %v", err, want)
		}
		if err := context.Cause(ctx); !errors.Is(err, want) {
			t.Fatalf("Cause = %v; want %v", err, want)
		}
	}
	derive := func(c *callCtx) context.Context { // as actor.Ctx.Context does
		ctx, cancel := context.WithCancel(context.WithValue(c, otherKey{}, 1))
		t.Cleanup(cancel)
		return ctx
	}
	t.Run("values", func(t *testing.T) {
		d := time.Now().Add(time.Hour)
		c := newCallCtx(d, "n/1", nil)
		if got, ok := c.Deadline(); !ok || !got.Equal(d) {
			t.Fatalf("Deadline = %v, %v; want %v, true", got, ok, d)
		}
		if got := chainOf(c); got != "n/1" {
			t.Fatalf("chain = %q; want n/1", got)
		}
		if got := chainOf(derive(c)); got != "n/1" {
			t.Fatalf("derived chain = %q; want n/1", got)
		}
		if got := c.Value(otherKey{}); got != nil {
			t.Fatalf("Value(other) = %v; want nil", got)
		}
		if err := c.Err(); err != nil {
			t.Fatalf("Err = %v; want nil", err)
		}
		c.cancel()
		c.cancel() // idempotent
	})
	for _, made := range []bool{false, true} {
		name := map[bool]string{false: "unmade", true: "made"}[made]
		t.Run("cancel/"+name, func(t *testing.T) {
			c := newCallCtx(time.Now().Add(time.Hour), "n/1", nil)
			var child context.Context
			if made {
				child = derive(c)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("Err before cancel = %v; want nil", err)
			}
			c.cancel()
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Err after cancel = %v; want Canceled", err)
			}
			if !made {
				child = derive(c)
			}
			ended(t, c, context.Canceled)
			ended(t, child, context.Canceled)
		})
		t.Run("deadline/"+name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCallCtx(time.Now().Add(time.Second), "n/1", nil)
				var child context.Context
				if made {
					child = derive(c)
				}
				time.Sleep(2 * time.Second)
				synctest.Wait()
				if !made {
					child = derive(c)
				}
				ended(t, c, context.DeadlineExceeded)
				ended(t, child, context.DeadlineExceeded)
				c.cancel() // after the deadline: the error stays
				ended(t, c, context.DeadlineExceeded)
			})
		})
	}
}
