package runtime

import (
	"bytes"
	"context"
	"strings"
	"sync"
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
