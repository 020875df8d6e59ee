package runtime_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// outcome is what a LookupOrSpawn returned, and after how long.
type outcome struct {
	ref     *actor.Ref[*Owner]
	created bool
	err     error
	took    time.Duration
}

// A LookupOrSpawn that waits for another caller's spawn of the name (its
// factory still running) waits as it does for a stopping actor of the
// name: until its ctx's deadline, or the call timeout if it has none
// (then an error matching actor.ErrTimeout), or its ctx's cancellation
// (its cause). It waited for the factory, however long it took: a ctx
// of a second (serve's WithTimeout, say) was held for the hour of a slow
// factory, and a factory that looked its own name up waited for itself
// for ever.
func TestLookupOrSpawnBoundedWhileSpawning(t *testing.T) {
	const slow = time.Hour
	// spawning starts a LookupOrSpawn of "acct" whose factory takes an
	// hour; its outcome comes on the channel returned.
	spawning := func(t *testing.T, rt *troupe.Runtime) <-chan outcome {
		t.Helper()
		first := make(chan outcome, 1)
		go func() {
			start := time.Now()
			ref, created, err := troupe.LookupOrSpawn(context.Background(), rt, "acct", func() *Owner {
				time.Sleep(slow)
				return &Owner{gen: 1}
			})
			first <- outcome{ref, created, err, time.Since(start)}
		}()
		synctest.Wait() // the first caller is in its factory
		return first
	}
	again := func(ctx context.Context, rt *troupe.Runtime) outcome {
		start := time.Now()
		ref, created, err := troupe.LookupOrSpawn(ctx, rt, "acct", func() *Owner { return &Owner{gen: 2} })
		return outcome{ref, created, err, time.Since(start)}
	}
	t.Run("ctx deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRT(t, troupe.WithCallTimeout(time.Minute))
			first := spawning(t, rt)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if o := again(ctx, rt); !errors.Is(o.err, actor.ErrTimeout) || o.took != time.Second {
				t.Errorf("LookupOrSpawn with a 1 s ctx while the name's factory runs = %v, %v after %v; want ErrTimeout after 1s",
					o.created, o.err, o.took)
			}
			if o := <-first; o.err != nil || !o.created || o.took != slow {
				t.Errorf("first LookupOrSpawn = %v, %v after %v; want created after %v", o.created, o.err, o.took, slow)
			}
		})
	})
	t.Run("call timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRT(t, troupe.WithCallTimeout(3*time.Second))
			first := spawning(t, rt)
			if o := again(context.Background(), rt); !errors.Is(o.err, actor.ErrTimeout) || !errors.Is(o.err, context.DeadlineExceeded) || o.took != 3*time.Second {
				t.Errorf("LookupOrSpawn without a deadline while the name's factory runs = %v, %v after %v; want ErrTimeout after the call timeout, 3s",
					o.created, o.err, o.took)
			}
			o := <-first
			if o.err != nil || !o.created {
				t.Fatalf("first LookupOrSpawn = %v, %v", o.created, o.err)
			}
			// Once it has spawned, the name is found at once.
			if o2 := again(context.Background(), rt); o2.err != nil || o2.created || o2.ref != o.ref || o2.took != 0 {
				t.Errorf("LookupOrSpawn after the spawn = %v, %v after %v; want the first's actor at once", o2.created, o2.err, o2.took)
			}
		})
	})
	t.Run("ctx cancelled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRT(t, troupe.WithCallTimeout(time.Minute))
			first := spawning(t, rt)
			cause := errors.New("client gone")
			ctx, stop := context.WithCancelCause(context.Background())
			time.AfterFunc(time.Second, func() { stop(cause) })
			if o := again(ctx, rt); !errors.Is(o.err, cause) || o.took != time.Second {
				t.Errorf("LookupOrSpawn with a ctx cancelled while the name's factory runs = %v, %v after %v; want its cause after 1s",
					o.created, o.err, o.took)
			}
			<-first
		})
	})
	t.Run("factory looks its own name up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRT(t, troupe.WithCallTimeout(3*time.Second))
			var inner error
			ref, created, err := troupe.LookupOrSpawn(context.Background(), rt, "acct", func() *Owner {
				_, _, inner = troupe.LookupOrSpawn(context.Background(), rt, "acct", func() *Owner { return &Owner{gen: 2} })
				return &Owner{gen: 1}
			})
			if !errors.Is(inner, actor.ErrTimeout) {
				t.Errorf("LookupOrSpawn of its own name from the factory = %v; want ErrTimeout", inner)
			}
			if err != nil || !created {
				t.Fatalf("LookupOrSpawn = %v, %v", created, err)
			}
			if gen, err := own.Call(context.Background(), ref, 0); err != nil || gen != 1 {
				t.Errorf("call = %d, %v; want 1", gen, err)
			}
		})
	})
}
