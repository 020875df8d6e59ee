package jobs

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/testkit"
)

// itemBackend has one running job, "x", whose output items the test
// sends on items. The dispatcher calls only the methods it defines here.
type itemBackend struct {
	Backend
	items chan OutputItem
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

func (b *itemBackend) Output(ctx context.Context, _ string, yield func(OutputItem) bool) error {
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
// output's mirror; each bell was counted as one of the mirror's readers,
// with an AfterFunc on the request's Context, until the request ended:
// a follow of a long job piled up one per item waited for.
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
	readers := func() int {
		d.mirMu.Lock()
		defer d.mirMu.Unlock()
		if m := d.mirrors["x"]; m != nil {
			return m.readers
		}
		return -1
	}
	// The follower's reader, and the bell it waits with now.
	deadline := time.Now().Add(10 * time.Second)
	for readers() > 2 {
		if time.Now().After(deadline) {
			t.Fatalf("after %d items waited for: the mirror counts %d readers; want 2 (the follower and its bell)", n, readers())
		}
		time.Sleep(time.Millisecond)
	}
}
