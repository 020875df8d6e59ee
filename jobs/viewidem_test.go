package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

// submitBackend stores the records submitted, by id, and runs nothing.
// The dispatcher calls only the methods it defines here.
type submitBackend struct {
	jobs.Backend
	mu   sync.Mutex
	recs map[string]jobs.Record
}

func (b *submitBackend) Attach(*jobs.Executor) error                 { return nil }
func (b *submitBackend) Serve(context.Context, string, string) error { return nil }
func (b *submitBackend) Stop()                                       {}
func (b *submitBackend) Close() error                                { return nil }

func (b *submitBackend) Submit(_ context.Context, r jobs.Record) (jobs.Record, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.recs[r.ID]; ok {
		return old, false, nil
	}
	b.recs[r.ID] = r
	return r, true, nil
}

// TestViewIdempotentArgs: with a backend, submitting an id again with
// the same args is idempotent as in memory, whatever the args' JSON
// spelling: the args were compared byte for byte, so the same object
// with its keys in another order was ErrConflict (HTTP 409), though in memory it returns the job.
func TestViewIdempotentArgs(t *testing.T) {
	rt := testkit.NewRuntime(t)
	b := &submitBackend{recs: map[string]jobs.Record{}}
	d, err := jobs.New(rt, jobs.WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ref, err := actor.Spawn(rt, &agent{p: &probe{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Register(d, jobs.Ref("here", ref), add); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, host := range []string{"here", "elsewhere"} { // registered on this node, or on another
		t.Run(host, func(t *testing.T) {
			first, err := d.Submit(ctx, host, "add", []byte(`{"A":1,"B":2}`), jobs.ID("j-"+host))
			if err != nil {
				t.Fatal(err)
			}
			for _, args := range []string{`{"B":2,"A":1}`, `{ "A": 1, "B": 2 }`} {
				j, err := d.Submit(ctx, host, "add", []byte(args), jobs.ID("j-"+host))
				if err != nil || j.ID() != first.ID() {
					t.Fatalf("again with %s: got %v, %v; want the job %s", args, j, err, first.ID())
				}
			}
			if _, err := d.Submit(ctx, host, "add", []byte(`{"A":1,"B":3}`), jobs.ID("j-"+host)); !errors.Is(err, jobs.ErrConflict) {
				t.Fatalf("again with other args: got %v; want ErrConflict", err)
			}
		})
	}
}

// downBackend's store cannot be reached. The dispatcher calls only the
// methods it defines here.
type downBackend struct{ jobs.Backend }

func (downBackend) Attach(*jobs.Executor) error                 { return nil }
func (downBackend) Serve(context.Context, string, string) error { return nil }
func (downBackend) Stop()                                       {}
func (downBackend) Close() error                                { return nil }

func (downBackend) List(context.Context, jobs.Filter) ([]jobs.Record, error) {
	return nil, fmt.Errorf("%w: the store is down", jobs.ErrUnavailable)
}

// TestHTTPListUnavailable: with a backend whose store cannot be reached,
// the HTTP list answers 503 unavailable, and the Client's List returns
// ErrUnavailable, not a 200 with no job (Dispatcher.List's nil) that
// says there is none.
func TestHTTPListUnavailable(t *testing.T) {
	rt := testkit.NewRuntime(t)
	d, err := jobs.New(rt, jobs.WithBackend(downBackend{}))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv, c := serveHandler(t, jobs.Handler(d))
	if code, b := call(t, c, "GET", srv.URL+"/jobs/", ""); code != 503 || errType(b) != "unavailable" {
		t.Fatalf("list: got %d %s; want 503 unavailable", code, b)
	}
	cl, err := jobs.NewClient(srv.URL+"/jobs", jobs.WithHTTPClient(c))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := cl.List(context.Background(), jobs.Filter{}); !errors.Is(err, jobs.ErrUnavailable) {
		t.Fatalf("Client.List: got %v, %v; want ErrUnavailable", st, err)
	}
}

// cancelDownBackend finds job "x" running, but cannot reach the store to
// cancel it. The dispatcher calls only the methods it defines here.
type cancelDownBackend struct{ downBackend }

func (cancelDownBackend) Lookup(_ context.Context, id string) (jobs.Record, error) {
	if id != "x" {
		return jobs.Record{}, fmt.Errorf("%w: %q", jobs.ErrNotFound, id)
	}
	return jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Running, Submitted: time.Now(), Started: time.Now()}, nil
}

func (cancelDownBackend) Cancel(context.Context, string, uint64) (bool, error) {
	return false, fmt.Errorf("%w: the store is down", jobs.ErrUnavailable)
}

// TestHTTPCancelUnavailable: with a backend whose store cannot be reached
// to cancel a job, the HTTP cancel answers 503 unavailable, and the
// Client's Cancel returns ErrUnavailable, not a 200 {"cancelled": false}
// (Job.Cancel's false) that says the job had already ended.
func TestHTTPCancelUnavailable(t *testing.T) {
	rt := testkit.NewRuntime(t)
	d, err := jobs.New(rt, jobs.WithBackend(cancelDownBackend{}))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv, c := serveHandler(t, jobs.Handler(d))
	if code, b := call(t, c, "POST", srv.URL+"/jobs/x/cancel", ""); code != 503 || errType(b) != "unavailable" {
		t.Fatalf("cancel: got %d %s; want 503 unavailable", code, b)
	}
	cl, err := jobs.NewClient(srv.URL+"/jobs", jobs.WithHTTPClient(c))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := cl.Job("x").Cancel(context.Background()); !errors.Is(err, jobs.ErrUnavailable) {
		t.Fatalf("RemoteJob.Cancel: got %v, %v; want ErrUnavailable", ok, err)
	}
}

// endingBackend's job "x" is running for its first lookups, then done
// with the value 7. The dispatcher calls only the methods it defines here.
type endingBackend struct {
	downBackend
	lookups atomic.Int32
	running int32 // lookups that find it running
	ended   time.Time
}

func (b *endingBackend) Lookup(_ context.Context, id string) (jobs.Record, error) {
	if id != "x" {
		return jobs.Record{}, fmt.Errorf("%w: %q", jobs.ErrNotFound, id)
	}
	r := jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Running, Submitted: b.ended, Started: b.ended}
	if b.lookups.Add(1) > b.running {
		r.State, r.Ended, r.Value = jobs.Done, b.ended, []byte("7")
	}
	return r, nil
}

// TestHTTPResultOneRead: the HTTP result's state and outcome are those of
// one moment: a job that ended between the handler's reading of its
// outcome and of its state was answered {"state": "done", "error":
// not_finished}, a done job that had not finished.
func TestHTTPResultOneRead(t *testing.T) {
	rt := testkit.NewRuntime(t)
	// Lookups: the route's Dispatcher.Job, Result's, then Status's.
	b := &endingBackend{running: 2, ended: time.Now()}
	d, err := jobs.New(rt, jobs.WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv, c := serveHandler(t, jobs.Handler(d))
	code, body := call(t, c, "GET", srv.URL+"/jobs/x/result", "")
	var res struct {
		State jobs.State        `json:"state"`
		Value json.RawMessage   `json:"value"`
		Error *jobs.RemoteError `json:"error"`
	}
	if code != 200 || json.Unmarshal(body, &res) != nil {
		t.Fatalf("got %d %s; want 200 and a result", code, body)
	}
	if done, notFinished := res.State.Terminal(), res.Error != nil && res.Error.Type == "not_finished"; done == notFinished {
		t.Fatalf("got %s: a state and an outcome of two moments", body)
	}
}
