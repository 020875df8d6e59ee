package runtime

import (
	"bytes"
	"context"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

type target struct{}

var ping = actor.NewMethod("ping", func(*target, *actor.Ctx, int) (int, error) { return 0, nil })

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDeadLetterHookSendsToStoppedActor: a dead-letter hook that sends to
// a stopped actor makes a dead letter of its own send, reported by calling
// the hook again on the same goroutine. That recursion used to run until
// the stack overflowed, which no recover catches: the process died. It is
// now cut at hookDepth nested calls, and what would have gone deeper is
// written out (standard error) instead of given to any hook.
func TestDeadLetterHookSendsToStoppedActor(t *testing.T) {
	var ref *actor.Ref[*target]
	var calls int
	rt, err := New(WithDeadLetterHook(func(DeadLetter) {
		calls++ // one goroutine: the Cast below, and its recursion
		_ = ping.Cast(ref, 1)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	var out lockedBuffer
	rt.sink.stderr = &out
	if ref, err = actor.Spawn(rt, &target{}); err != nil {
		t.Fatal(err)
	}
	if err := ref.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := ping.Cast(ref, 1); err == nil {
		t.Fatal("Cast to a stopped actor: got nil; want ErrStopped")
	}
	if calls != hookDepth {
		t.Errorf("the hook ran %d times; want %d (the recursion cut at its bound)", calls, hookDepth)
	}
	if got := out.String(); !strings.Contains(got, "dead-letter hook nested") || !strings.Contains(got, "dead letter (stopped)") {
		t.Errorf("written out: %q; want the dead letter past the bound, saying why", got)
	}
}

// TestDeadLetterHookGoexitKeepsBound: a dead-letter hook that ends its
// goroutine with runtime.Goexit (t.FailNow in a hook, say) leaves the
// count of hook calls in progress as it was: hookDepth such calls, one
// after another, must not make every later dead letter skip the hook as
// if the recursion bound were reached.
func TestDeadLetterHookGoexitKeepsBound(t *testing.T) {
	var exit atomic.Bool
	var seen atomic.Int32
	rt, err := New(WithDeadLetterHook(func(DeadLetter) {
		seen.Add(1)
		if exit.Load() {
			goruntime.Goexit()
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	var out lockedBuffer
	rt.sink.stderr = &out
	ref, err := actor.Spawn(rt, &target{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	exit.Store(true)
	for range hookDepth {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = ping.Cast(ref, 1) // a dead letter; the hook ends this goroutine
		}()
		<-done
	}
	exit.Store(false)
	seen.Store(0)
	_ = ping.Cast(ref, 1)
	if seen.Load() != 1 {
		t.Fatalf("after %d hook calls that ended with Goexit, a dead letter reached the hook %d times; want 1 (written out instead: %q)", hookDepth, seen.Load(), out.String())
	}
}
