package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

// recordBackend keeps one job's record; its Await fails with
// ErrUnavailable as many times as told, then waits for the record's end.
// The dispatcher calls only the methods it defines here.
type recordBackend struct {
	jobs.Backend
	mu       sync.Mutex
	rec      jobs.Record
	ended    chan struct{} // closed when rec has ended
	failures atomic.Int32  // Awaits still to fail
}

func (b *recordBackend) Attach(*jobs.Executor) error                 { return nil }
func (b *recordBackend) Serve(context.Context, string, string) error { return nil }
func (b *recordBackend) Stop()                                       {}
func (b *recordBackend) Close() error                                { return nil }

func (b *recordBackend) Lookup(_ context.Context, id string) (jobs.Record, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if id != b.rec.ID {
		return jobs.Record{}, fmt.Errorf("%w: %q", jobs.ErrNotFound, id)
	}
	return b.rec, nil
}

func (b *recordBackend) Await(ctx context.Context, id string) (jobs.Record, error) {
	if b.failures.Add(-1) >= 0 {
		return jobs.Record{}, fmt.Errorf("%w: a blip", jobs.ErrUnavailable)
	}
	select {
	case <-b.ended:
		return b.Lookup(ctx, id)
	case <-ctx.Done():
		return jobs.Record{}, ctx.Err()
	}
}

// end ends the job as done.
func (b *recordBackend) end() {
	b.mu.Lock()
	b.rec.State, b.rec.Ended = jobs.Done, time.Now()
	b.mu.Unlock()
	close(b.ended)
}

// TestViewDoneAfterStoreBlip: a backend job's Done closes when the job
// ends even if the store could not be reached once while it was awaited:
// the watcher gave up at the first error, so Done never closed.
func TestViewDoneAfterStoreBlip(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		rt := testkit.NewRuntime(t)
		b := &recordBackend{rec: jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Running,
			Submitted: time.Now(), Started: time.Now()}, ended: make(chan struct{})}
		b.failures.Store(1)
		d, err := jobs.New(rt, jobs.WithBackend(b))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		j, err := d.Job("x")
		if err != nil {
			t.Fatal(err)
		}
		done := j.Done()
		synctest.Wait() // the first Await has failed
		b.end()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("Done not closed a minute after the job ended")
		}
	})
}
