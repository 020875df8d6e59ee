package actor

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
)

// A reader attaches atomically with respect to Sends: never while a
// SendWait is between its check for room and its append. The test holds
// the producers' lock as SendWait's fast path does once it has found room
// (no reader: anything fits), and attaches a reader meanwhile. Before the
// fix the reader attached at once, at the oldest item kept (1), which
// the append then dropped: its first read was a *TruncatedError, although
// the producer asked for back-pressure and the reader had read nothing
// (a stress test of SendWait against attaching readers saw it about once
// in 2,000 attaches).
// Now the reader waits for the append and starts at the oldest item kept
// after it.
func TestJournalAttachDuringSendWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := testJournal[int](t, WithJournal(4, 1<<20))
		for i := range 4 {
			_ = j.out.Send(i)
		}
		// Full (1..4), and low raised to the tail: no reader is attached.
		if err := j.out.SendWait(context.Background(), 4); err != nil {
			t.Fatal(err)
		}
		j.lockP() // SendWait's fast path, from here to sendP
		if j.closed.Load() || !j.fitsP(j.low.Load(), 0) {
			t.Fatal("no room with no reader attached")
		}
		attached := make(chan *Follow[int])
		go func() { attached <- j.newFollow(context.Background(), followConfig{}) }()
		synctest.Wait() // attached (before the fix), or waiting for the lock
		j.sendP(5, 0)
		f := <-attached
		defer f.Close()
		items, err := f.Collected()
		var got []int
		for _, it := range items {
			got = append(got, it.V)
		}
		if err != nil || !slices.Equal(got, []int{2, 3, 4, 5}) {
			t.Fatalf("first read of a reader attached during a SendWait: got %v, %v; want [2 3 4 5], nil", got, err)
		}
	})
}
