package jetjobs

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/embedded"
)

// TestCancelOutputEnd drives the store as the nodes of a cancelled job
// do, in the order that lost items: Cancel on one node wrote the end
// marker at once, and the runner's items sent before it saw the cancel
// but not yet stored (published asynchronously) landed after the
// marker, where no follower reads. Now only the runner ends a running
// job's output, after its last item; a cancel ends it for a job that has
// no runner (queued), and a follower of a job whose runner is gone ends
// by its cancelled record.
func TestCancelOutputEnd(t *testing.T) {
	s, err := embedded.Start(context.Background(), embedded.WithStoreDir(t.TempDir()))
	if err != nil {
		t.Fatalf("embedded.Start: %v", err)
	}
	t.Cleanup(s.Shutdown)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatalf("nats.Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	b, err := New(ctx, nc, WithNode("b"), WithMemoryStorage()) // no dispatcher: the store only
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	put := func(id string, state jobs.State, node string) (gen uint64) {
		t.Helper()
		r := jobs.Record{ID: id, Host: "web", Procedure: "lines", State: state, Node: node, Submitted: time.Now()}
		if state == jobs.Running {
			r.Started = time.Now()
		}
		rev, err := b.jobsKV.Create(ctx, tok(id), encode(r, 0, 0))
		if err != nil {
			t.Fatalf("Create %s: %v", id, err)
		}
		return rev
	}
	cancelJob := func(id string) {
		t.Helper()
		if ok, err := b.Cancel(ctx, id, 0); !ok || err != nil {
			t.Fatalf("Cancel %s: got %v, %v; want true, nil", id, ok, err)
		}
	}
	follow := func(id string) []string {
		t.Helper()
		var got []string
		err := b.Output(ctx, id, 0, func() {}, func(it jobs.OutputItem) bool {
			got = append(got, string(it.Value))
			return true
		})
		if err != nil {
			t.Fatalf("Output %s: %v", id, err)
		}
		return got
	}
	marker := func(id string) string {
		t.Helper()
		m, err := b.out.GetLastMsgForSubject(ctx, b.outSubject(id))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return ""
		}
		if err != nil {
			t.Fatalf("GetLastMsgForSubject %s: %v", id, err)
		}
		return m.Header.Get(hdrEnd)
	}

	t.Run("running", func(t *testing.T) {
		gen := put("run", jobs.Running, "a") // node a: nobody answers its cancel request
		cancelJob("run")
		// The runner's items sent before it saw the cancel, stored after
		// it; then what run does once the handler has returned.
		pub := b.newPublisher("run", gen)
		for _, v := range []string{"a", "b", "c"} {
			pub.emit(v)
		}
		pub.flush()
		b.endOutput("run", gen, jobs.Cancelled)
		if got, want := follow("run"), []string{`"a"`, `"b"`, `"c"`}; !slices.Equal(got, want) {
			t.Fatalf("followed %v; want %v", got, want)
		}
		if got := marker("run"); got != string(jobs.Cancelled) {
			t.Fatalf("end marker %q; want %q", got, jobs.Cancelled)
		}
	})
	t.Run("runner gone", func(t *testing.T) {
		put("gone", jobs.Running, "dead")
		cancelJob("gone")
		if got := follow("gone"); len(got) != 0 { // ends by the record: no marker comes
			t.Fatalf("followed %v; want nothing", got)
		}
	})
	t.Run("queued", func(t *testing.T) {
		put("queued", jobs.Queued, "")
		cancelJob("queued")
		for deadline := time.Now().Add(20 * time.Second); marker("queued") == ""; { // published without an ack
			if time.Now().After(deadline) {
				t.Fatalf("after Cancel of a queued job: no end marker; want %q", jobs.Cancelled)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got := marker("queued"); got != string(jobs.Cancelled) {
			t.Fatalf("end marker %q; want %q", got, jobs.Cancelled)
		}
		if got := follow("queued"); len(got) != 0 {
			t.Fatalf("followed %v; want nothing", got)
		}
	})
}
