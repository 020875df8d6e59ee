package jobs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

// endBlipBackend's job "x" runs for the first lookup (the route's
// Dispatcher.Job) and is done, with one output item and the value 7,
// after it; the lookups numbered in fail (from 1) fail with
// ErrUnavailable. Its output is the item, then the job's end. The
// dispatcher calls only the methods it defines here.
type endBlipBackend struct {
	downBackend
	lookups atomic.Int32
	fail    map[int32]bool
	at      time.Time
}

func (b *endBlipBackend) Lookup(_ context.Context, id string) (jobs.Record, error) {
	if id != "x" {
		return jobs.Record{}, fmt.Errorf("%w: %q", jobs.ErrNotFound, id)
	}
	n := b.lookups.Add(1)
	if b.fail[n] {
		return jobs.Record{}, fmt.Errorf("%w: a blip", jobs.ErrUnavailable)
	}
	r := jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Running, Submitted: b.at, Started: b.at}
	if n > 1 {
		r.State, r.Ended, r.Value = jobs.Done, b.at, []byte("7")
	}
	return r, nil
}

func (b *endBlipBackend) Output(_ context.Context, _ string, _ uint64, caughtUp func(), yield func(jobs.OutputItem) bool) error {
	yield(jobs.OutputItem{Seq: 0, Value: json.RawMessage(`"hello"`)})
	caughtUp()
	return nil // the job has ended
}

// endLine follows job x's output over HTTP and returns its last line.
func endLine(t *testing.T, b jobs.Backend, query string) (end struct {
	End   bool              `json:"end"`
	State jobs.State        `json:"state"`
	Error *jobs.RemoteError `json:"error"`
}, raw []byte) {
	t.Helper()
	rt := testkit.NewRuntime(t)
	d, err := jobs.New(rt, jobs.WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv, c := serveHandler(t, jobs.Handler(d))
	code, body := call(t, c, http.MethodGet, srv.URL+"/jobs/x/output"+query, "")
	if code != http.StatusOK {
		t.Fatalf("got %d %s; want 200", code, body)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		raw = append(raw[:0], sc.Bytes()...)
	}
	if err := json.Unmarshal(raw, &end); err != nil {
		t.Fatalf("last line %q: %v", raw, err)
	}
	return end, raw
}

// TestHTTPOutputEndState: the end line of a backend job's HTTP output
// says end:true only with the job's terminal state (and its outcome,
// read with it); a store that cannot be reached as the output ends is
// retried, and one that stays so is said (end:false, an unavailable
// error). The state was the job's cached record's when the store's
// lookup failed at the end: {"end":true,"state":"running"}.
func TestHTTPOutputEndState(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name  string
		query string
		fail  map[int32]bool
	}{
		// Lookups: the route's, then the end's.
		{"follow, one blip", "", map[int32]bool{2: true}},
		{"follow, blip on end state and outcome", "", map[int32]bool{2: true, 3: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			end, raw := endLine(t, &endBlipBackend{fail: tc.fail, at: now}, tc.query)
			if !end.End || end.State != jobs.Done || end.Error != nil {
				t.Fatalf("end line %s; want end:true, state done, no error", raw)
			}
		})
	}
}

// TestHTTPOutputEndUnavailable: a backend job whose output has ended but
// whose store stays unreachable gets, after the bounded retry, an end line
// that says so: end:false and an unavailable error, never end:true with
// the cached state. Handler called in a bubble: the retry's waits are
// fake time.
func TestHTTPOutputEndUnavailable(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		fail := map[int32]bool{}
		for n := int32(2); n < 1000; n++ {
			fail[n] = true
		}
		rt := testkit.NewRuntime(t)
		d, err := jobs.New(rt, jobs.WithBackend(&endBlipBackend{fail: fail, at: time.Now()}))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		start := time.Now()
		w := httptest.NewRecorder()
		jobs.Handler(d).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/jobs/x/output", nil))
		lines := bytes.Split(bytes.TrimSpace(w.Body.Bytes()), []byte("\n"))
		var end struct {
			End   bool              `json:"end"`
			State jobs.State        `json:"state"`
			Error *jobs.RemoteError `json:"error"`
		}
		if w.Code != http.StatusOK || json.Unmarshal(lines[len(lines)-1], &end) != nil {
			t.Fatalf("got %d %s; want 200 and an end line", w.Code, w.Body)
		}
		if end.End || end.Error == nil || end.Error.Type != "unavailable" {
			t.Fatalf("end line %s; want end:false and an unavailable error", lines[len(lines)-1])
		}
		if took := time.Since(start); took < jobs.DefaultBackendTimeout || took > 2*jobs.DefaultBackendTimeout {
			t.Fatalf("the end took %v (fake time); want the retry's bound, %v", took, jobs.DefaultBackendTimeout)
		}
	})
}

// endsOnStatusBackend's job "x" runs, with one output item, until the
// third lookup (after the route's and the no-follow read's), which finds
// it done and ends its output: the job ends as an HTTP output without
// follow has collected its items.
type endsOnStatusBackend struct {
	endBlipBackend
	once  sync.Once
	ended chan struct{}
}

func (b *endsOnStatusBackend) Lookup(ctx context.Context, id string) (jobs.Record, error) {
	r, err := b.endBlipBackend.Lookup(ctx, id)
	if b.lookups.Load() >= 3 {
		b.once.Do(func() { close(b.ended) })
	}
	return r, err
}

func (b *endsOnStatusBackend) Output(ctx context.Context, _ string, _ uint64, caughtUp func(), yield func(jobs.OutputItem) bool) error {
	yield(jobs.OutputItem{Seq: 0, Value: json.RawMessage(`"hello"`)})
	caughtUp()
	select {
	case <-b.ended:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestHTTPOutputNoFollowEndsMeanwhile: an HTTP output without follow of
// a job that ends as its items are collected says either that it runs
// (end:false, its state not terminal) or that it has ended (end:true and
// its terminal state), never end:false with a terminal state, which its
// state, read after the items, was: {"end":false,"state":"done"}.
func TestHTTPOutputNoFollowEndsMeanwhile(t *testing.T) {
	// Lookups: the route's, the read's (the store blips: it reads the
	// output as of a running job), the end's.
	b := &endsOnStatusBackend{endBlipBackend: endBlipBackend{fail: map[int32]bool{2: true}, at: time.Now()},
		ended: make(chan struct{})}
	end, raw := endLine(t, b, "?follow=0")
	if end.End != end.State.Terminal() {
		t.Fatalf("end line %s: an end and a state of two moments", raw)
	}
}
