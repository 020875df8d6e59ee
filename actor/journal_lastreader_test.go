package actor

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// stopHookCtx is a reader's ctx that never ends and runs onStop when the
// reader's detach stops watching it: user code at the point where the
// detach has released the journal's lock, as a context.AfterFunc stop of
// a Context with its own AfterFunc does.
type stopHookCtx struct {
	done   chan struct{}
	onStop func()
}

func (c *stopHookCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *stopHookCtx) Done() <-chan struct{}       { return c.done }
func (c *stopHookCtx) Err() error                  { return nil }
func (c *stopHookCtx) Value(any) any               { return nil }

// AfterFunc never calls f (the ctx never ends); its stop runs onStop.
func (c *stopHookCtx) AfterFunc(func()) func() bool {
	return func() bool {
		if h := c.onStop; h != nil {
			c.onStop = nil
			h()
		}
		return true
	}
}

// The last reader's leaving and the cancel of the producer's Context are
// one step for a reader that attaches: a reader attached while the
// Context was live keeps it so. The test attaches reader B while the last
// reader A detaches, after A's detach has released the journal's lock.
// Before the fix, A's detach had decided "no reader left" under the lock
// and cancelled the Context after it: B attached to a live Context, which
// was then cancelled with ErrNoReader while B was attached (its producer,
// stopping for nobody, left B waiting for items that never came). Now the
// Context is already cancelled when B attaches, as it stays once
// cancelled, and a holder of the Out that checks it after attaching knows
// to reopen.
func TestOutContextLastReaderLeavesAsOneAttaches(t *testing.T) {
	j := testJournal[int](t)
	pctx := j.out.Context()
	rc := &stopHookCtx{done: make(chan struct{})}
	a, err := j.out.Follow(rc)
	if err != nil {
		t.Fatal(err)
	}
	var b *Follow[int]
	var atAttach error
	rc.onStop = func() { // in A's detach, once it has released mu
		var err error
		if b, err = j.out.Follow(context.Background()); err != nil {
			t.Error(err)
		}
		atAttach = pctx.Err()
	}
	_ = a.Close()
	if b == nil {
		t.Fatal("the detach did not stop watching the reader's ctx")
	}
	defer b.Close()
	if atAttach == nil && pctx.Err() != nil {
		t.Fatalf("Out.Context was live when reader B attached, then cancelled (cause %v) while B is still attached", context.Cause(pctx))
	}
	if atAttach != nil && !errors.Is(context.Cause(pctx), ErrNoReader) {
		t.Fatalf("Out.Context cancelled with %v; want ErrNoReader", context.Cause(pctx))
	}
}

// The stream's end and the cancel of the producer's Context are one step
// for readers: a reader that has got the end finds Out.Context cancelled
// (cause ErrStreamClosed), whoever ended the stream (Close on another
// goroutine, the actor's stop on the one that stops it). The test reads
// the end from the stop of a truncated reader's ctx watch, which the end
// calls once it has released the journal's lock. Before the fix, the end
// cancelled the Context after that: a reader could get the end (and leave,
// and whoever waited for it look) while the Context was live, as the
// stream model test found after an asynchronous Kill.
func TestOutContextDoneOnceAReaderGotTheEnd(t *testing.T) {
	j := testJournal[int](t, WithJournal(2, 1<<20))
	pctx := j.out.Context()
	rc := &stopHookCtx{done: make(chan struct{})}
	a, err := j.out.Follow(rc) // to be truncated: a reader for Out.Context until closed
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for i := range 4 {
		if err := j.out.Send(i); err != nil {
			t.Fatal(err)
		}
	}
	b, err := j.out.Follow(context.Background(), Recent(0)) // at the tail
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Collected(); !errors.As(err, new(*TruncatedError)) {
		t.Fatalf("reader A: %v; want a *TruncatedError", err)
	}
	var got, atEnd error
	rc.onStop = func() { // in the end, once it has released mu
		_, got = b.Collected()
		atEnd = context.Cause(pctx)
	}
	if err := j.out.Close(nil); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("the end did not stop watching the truncated reader's ctx")
	}
	if got != io.EOF {
		t.Fatalf("reader B got %v; want io.EOF, the clean end", got)
	}
	if !errors.Is(atEnd, ErrStreamClosed) {
		t.Fatalf("reader B got the stream's end while Out.Context was live (cause %v); want it cancelled with ErrStreamClosed", atEnd)
	}
}
