package jobs_test

import (
	"context"
	"testing"
	"time"
)

// TestViewFollowCloseReleases: closing the last reader of a backend
// job's output (Close, or a break out of All) stops the dispatcher's copy
// of it from the store, though the readers' ctx lives on. Each reader was
// counted until its ctx ended, whatever Close did: a server that follows
// and closes on one long-lived ctx piled up one registration per Follow,
// and the copy, holding the output, ran until that ctx ended.
func TestViewFollowCloseReleases(t *testing.T) {
	b, _, j := followedJob(t)
	ctx, cancel := context.WithCancel(context.Background()) // lives until the test ends
	defer cancel()
	stopped := func(how string) {
		t.Helper()
		select {
		case <-b.outputs:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the copy of the output still runs 10 s after its last reader was closed", how)
		}
	}
	running := func(how string) {
		t.Helper()
		select {
		case err := <-b.outputs:
			t.Fatalf("%s: the copy stopped (%v) while a reader was left", how, err)
		default:
		}
	}
	first := func(how string) {
		t.Helper()
		f, err := j.Follow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for it, err := range f.All() {
			if err != nil || it.V == nil {
				t.Fatalf("%s: got %v, %v; want item 0", how, it, err)
			}
			break // detaches the reader
		}
	}

	for i := range 3 {
		f, err := j.Follow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if items, err := f.Collected(); len(items) > 1 || err != nil {
			t.Fatalf("Collected: %v, %v", items, err)
		}
		f.Close()
		stopped("Follow then Close #" + string(rune('0'+i)))
	}
	first("Follow then break")
	stopped("Follow then break")

	// Two readers: the copy runs until the second is closed.
	f1, err := j.Follow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := j.Follow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f1.Close()
	running("one of two readers closed")
	f2.Close()
	stopped("both readers closed")
}
