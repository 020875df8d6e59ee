package jobs

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/testkit"
)

// itemBackend has one running job, "x", whose output items the test
// sends on items. The dispatcher calls only the methods it defines here.
type itemBackend struct {
	Backend
	items   chan OutputItem
	outputs atomic.Int32 // Output calls
}

func (b *itemBackend) Attach(*Executor) error                      { return nil }
func (b *itemBackend) Serve(context.Context, string, string) error { return nil }
func (b *itemBackend) Stop()                                       {}
func (b *itemBackend) Close() error                                { return nil }

func (b *itemBackend) Lookup(_ context.Context, id string) (Record, error) {
	if id != "x" {
		return Record{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return Record{ID: "x", Host: "h", Procedure: "p", State: Running, Submitted: time.Now(), Started: time.Now()}, nil
}

func (b *itemBackend) Output(ctx context.Context, _ string, _ uint64, caughtUp func(), yield func(OutputItem) bool) error {
	b.outputs.Add(1)
	caughtUp() // nothing stored yet: what comes is sent later
	for {
		select {
		case it := <-b.items:
			if !yield(it) {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// TestFollowBellsLeaveMirror: an HTTP follower of a backend job, once
// caught up, waits for the next item with a bell, a second reader of the
// output's mirror, closed after each wait. Each bell was counted as one
// of the mirror's readers, with an AfterFunc on the request's Context,
// until the request ended: a follow of a long job piled up one per item
// waited for. Readers are no longer counted (the mirror lives while it
// has a reader attached): the bells come and go, and the follower's
// reader keeps the one mirror, and its one copy from the store, going.
func TestFollowBellsLeaveMirror(t *testing.T) {
	rt := testkit.NewRuntime(t)
	b := &itemBackend{items: make(chan OutputItem)}
	d, err := New(rt, WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv := httptest.NewServer(Handler(d, WithPrefix("")))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background()) // the request lives until the test ends
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/x/output", nil)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	const n = 20
	for i := range n {
		b.items <- OutputItem{Seq: uint64(i), Value: []byte(fmt.Sprint(i))}
		if !sc.Scan() {
			t.Fatalf("item %d: %v", i, sc.Err())
		}
	}
	d.mirMu.Lock()
	m := d.mirrors[jobRef{id: "x"}]
	d.mirMu.Unlock()
	if m == nil {
		t.Fatalf("after %d items waited for: no mirror; want the follower's", n)
	}
	if err := m.out.Context().Err(); err != nil {
		t.Fatalf("after %d items waited for: the follower's mirror was told to stop: %v", n, context.Cause(m.out.Context()))
	}
	if c := b.outputs.Load(); c != 1 {
		t.Fatalf("after %d items waited for: %d copies from the store; want 1", n, c)
	}
}
