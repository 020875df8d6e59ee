package actor

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
)

// Open gives up (its ctx ends: settle, then its reader detaches) while
// the handler fails before sending anything (its stream ends with the
// error, then Open is settled). In every interleaving the handler's error
// reaches someone exactly once: Open, or else the dead letters.
func TestStreamOpenGivesUpAsHandlerFails(t *testing.T) {
	errBroken := errors.New("broken")
	type step int
	const (
		openSettles  step = iota // Open's ctx ended: it settles with the ctx error
		openDetaches             // then it detaches its reader
		handlerEnds              // the handler returned errBroken: finish
	)
	tests := []struct {
		name     string
		order    []step
		wantOpen error // errBroken, or nil for the ctx's error
	}{
		{"Open gives up, the handler fails, Open detaches", []step{openSettles, handlerEnds, openDetaches}, nil},
		{"Open gives up and detaches, the handler fails", []step{openSettles, openDetaches, handlerEnds}, nil},
		{"the handler fails first", []step{handlerEnds, openSettles, openDetaches}, errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var letters []error
			c := &cell{sys: &engine.System{Config: engine.Config{DeadLetter: func(_ uint8, _, _ string, err error, _ any) {
				letters = append(letters, err)
			}}}}
			s := NewStream("fails", func(struct{}, *Ctx, struct{}, *Out[int]) error { return errBroken })
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour) // a deadline: no wheel timer
			defer cancel()
			cl, f, err := s.newCall(ctx, c.sys, c, struct{}{}, followConfig{})
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			for _, st := range tt.order {
				switch st {
				case openSettles:
					cl.settle(ctxErr(ctx, s.label))
				case openDetaches:
					f.detach(cl.err)
				case handlerEnds:
					cl.finish(c, errBroken)
				}
			}
			gotOpen := errors.Is(cl.err, errBroken)
			if gotOpen != (tt.wantOpen != nil) {
				t.Fatalf("Open got %v; want errBroken: %v", cl.err, tt.wantOpen != nil)
			}
			n := 0
			for _, e := range letters {
				if errors.Is(e, errBroken) {
					n++
				}
			}
			want := 1
			if gotOpen {
				want = 0
			}
			if n != want {
				t.Errorf("got %d dead letters of the handler's error (%v); want %d", n, letters, want)
			}
		})
	}
}

// A reader of an ended journal (an Out kept for later readers) whose ctx
// ends leaves the journal's readers, read or not: the list does not grow
// with readers their callers gave up.
func TestJournalReadersShrinkAfterEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJournal(nil, "test", 1, limits[int]{items: 8, bytes: 1 << 20})
		_ = j.out.Send(1)
		before, cancelBefore := context.WithCancel(context.Background())
		if _, err := j.out.Follow(before); err != nil {
			t.Fatal(err)
		}
		_ = j.out.Close(nil)
		for range 10 {
			ctx, cancel := context.WithCancel(context.Background())
			if _, err := j.out.Follow(ctx); err != nil {
				t.Fatal(err)
			}
			cancel()
		}
		cancelBefore()
		synctest.Wait()
		j.mu.Lock()
		n := len(j.readers)
		j.mu.Unlock()
		if n != 0 {
			t.Fatalf("got %d readers attached after their ctx ended; want 0", n)
		}
	})
}

// A reader truncated after its stream has ended (an Out kept for later
// readers, a reader asking with Since for items trimmed) has nothing left
// to count for, as end releases the readers truncated before it: it must
// not stay in the journal's truncated readers until it is closed (a job
// registry whose readers resume without closing the truncated ones would
// keep every one of them, with its ctx watch).
func TestJournalCutShrinksAfterEnd(t *testing.T) {
	j := newJournal(nil, "test", 1, limits[int]{items: 2, bytes: 1 << 20})
	for i := range 5 {
		_ = j.out.Send(i)
	}
	_ = j.out.Close(nil)
	watched := 0
	for range 10 {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f, err := j.out.Follow(ctx, Since(0))
		if err != nil {
			t.Fatal(err)
		}
		var te *TruncatedError
		if _, err := f.Collected(); !errors.As(err, &te) || te.Oldest != 3 {
			t.Fatalf("read from 0 of [3, 5): got %v; want a *TruncatedError with Oldest 3", err)
		}
		if _, err := f.Collected(); !errors.As(err, &te) {
			t.Fatalf("read again: got %v; want the *TruncatedError again", err)
		}
		j.mu.Lock()
		if f.unwatch != nil {
			watched++
		}
		j.mu.Unlock()
	}
	j.mu.Lock()
	n := len(j.cut)
	j.mu.Unlock()
	if n != 0 || watched != 0 {
		t.Fatalf("got %d truncated readers kept after the end, %d still watched; want 0, 0", n, watched)
	}
}

// Open places its reader again once the handler's turn has run, under
// the readers' lock only: a Send from another goroutine may land between
// its load of tail and its load of the byte bound's head, which is then
// past that tail (headOf says so). A reader placed with Recent must not
// start before that head: its first read would be a *TruncatedError,
// which Recent never asks for. The test stores the head as such a Send
// leaves it (two items of the byte bound's size each: the second drops
// everything before it) while the tail the reader loads is the old one.
func TestFollowRecentPlacedPastHead(t *testing.T) {
	j := testJournal[string](t, WithJournal(100, 4), WithItemSize(func(s string) int { return len(s) }))
	for range 4 {
		_ = j.out.Send("a")
	}
	f := j.newFollow(context.Background(), followConfig{})
	defer f.Close()
	j.bhead.Store(5) // as two Sends of 4 bytes landed after the tail (4) was loaded
	j.mu.Lock()
	f.placeLocked(followConfig{recent: 2, hasRecent: true})
	next := f.next
	j.mu.Unlock()
	if next < 5 {
		t.Fatalf("Recent(2) placed at %d, before the oldest item kept (5); want 5", next)
	}
}

// A reader whose item came before its read timeout, but which runs only
// after the timer has fired too (a loaded machine schedules it late),
// finds both its wake-up and the timer ready, and select picks either at
// random. The item came in time: the reader must read it, not end with
// ErrTimeout (ReadTimeout ends a reader that waits more than d for an
// item). Each round parks a reader with the item sent and signalled and
// the timer already expired: a coin flip per round without the fix.
func TestFollowReadTimeoutItemInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for i := range 32 {
			j := newJournal(nil, "test", 1, limits[int]{items: 8, bytes: 1 << 20})
			f := j.newFollow(context.Background(), followConfig{timeout: time.Second})
			f.tm = time.NewTimer(time.Second)
			_ = j.out.Send(i) // before the deadline
			f.signal()        // the Send's wake-up, as if the reader had parked
			time.Sleep(2 * time.Second)
			f.park(true) // the reader runs only now: both are ready
			items, err := f.Collected()
			if len(items) != 1 || items[0].V != i || err != nil {
				t.Fatalf("round %d: got %v, %v after an item sent before the read timeout; want [%d], nil", i, items, err, i)
			}
			f.Close()
		}
	})
}
