package jobs_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

// seqs lists the items' sequence numbers and values.
func seqs(items []actor.Item[any]) ([]uint64, []any) {
	var s []uint64
	var v []any
	for _, it := range items {
		s, v = append(s, it.Seq), append(v, it.V)
	}
	return s, v
}

func TestFollowPositions(t *testing.T) {
	e := newEnv(t, 1)
	j := e.submit(t, "a0", "lines", 6)
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []actor.FollowOption
		want []uint64
	}{
		{"from the start", nil, []uint64{0, 1, 2, 3, 4, 5}},
		{"since 0", []actor.FollowOption{actor.Since(0)}, []uint64{0, 1, 2, 3, 4, 5}},
		{"since 4", []actor.FollowOption{actor.Since(4)}, []uint64{4, 5}},
		{"since the end", []actor.FollowOption{actor.Since(6)}, nil},
		{"recent 2", []actor.FollowOption{actor.Recent(2)}, []uint64{4, 5}},
		{"recent 0", []actor.FollowOption{actor.Recent(0)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, err := follow(t, j, tc.opts...)
			got, vals := seqs(items)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
			for i, v := range vals {
				if v != int(got[i]) {
					t.Fatalf("item %d: got %v; want %d", got[i], v, got[i])
				}
			}
		})
	}
	if _, err := j.Follow(context.Background(), actor.Since(1), actor.Recent(1)); !errors.Is(err, actor.ErrInvalidOption) {
		t.Fatalf("Since and Recent: got %v; want actor.ErrInvalidOption", err)
	}
	if _, err := j.Follow(nil); !errors.Is(err, actor.ErrNilContext) { //nolint:staticcheck // the nil ctx is the test
		t.Fatalf("nil ctx: got %v; want ErrNilContext", err)
	}
}

// TestFollowLive: a reader attached before the job starts (it waits in
// its queue) gets every item as it comes, and its loop ends with the job.
func TestFollowLive(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		e := newEnv(t, 1)
		g := newGate()
		blocker := e.submit(t, "a0", "hold", g, jobs.Queue("q", 1))
		j := e.submit(t, "a0", "ticker", tickReq{Every: time.Second, N: 3}, jobs.Queue("q", 1))
		got := make(chan []any, 1)
		f, err := j.Follow(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			var vs []any
			for it, err := range f.All() {
				if err != nil {
					vs = append(vs, err)
					break
				}
				vs = append(vs, it.V)
			}
			got <- vs
		}()
		<-g.entered
		close(g.release)
		if _, err := result(t, blocker); err != nil {
			t.Fatal(err)
		}
		want := []any{"tick 0", "tick 1", "tick 2"}
		if vs := <-got; !slices.Equal(vs, want) {
			t.Fatalf("got %v; want %v", vs, want)
		}
	})
}

func TestFollowCollected(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		e := newEnv(t, 1)
		j := e.submit(t, "a0", "ticker", tickReq{Every: time.Second, N: 4})
		f, err := j.Follow(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond)
		items, err := f.Collected()
		if got, _ := seqs(items); err != nil || !slices.Equal(got, []uint64{0, 1}) {
			t.Fatalf("mid-run: got %v, %v; want [0 1], nil", got, err)
		}
		if _, err := result(t, j); err != nil {
			t.Fatal(err)
		}
		items, err = f.Collected()
		if got, _ := seqs(items); err != io.EOF || !slices.Equal(got, []uint64{2, 3}) {
			t.Fatalf("after the end: got %v, %v; want [2 3], io.EOF", got, err)
		}
	})
}

func TestJobCollected(t *testing.T) {
	e := newEnv(t, 2)
	g := newGate()
	j := e.submit(t, "a0", "stuck_stream", g)
	<-g.entered
	waitFor(t, "the first item", func() bool { items, _ := j.Collected(); return len(items) == 1 })
	items, err := j.Collected(actor.Since(0))
	if len(items) != 1 || items[0].V != "working" || err != nil {
		t.Fatalf("running: got %v, %v; want [working], nil", items, err)
	}
	close(g.release)
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	if items, err := j.Collected(); len(items) != 1 || err != io.EOF {
		t.Fatalf("ended: got %v, %v; want 1 item, io.EOF", items, err)
	}
	if _, err := j.Collected(actor.Recent(-1)); !errors.Is(err, actor.ErrInvalidOption) {
		t.Fatalf("bad option: got %v; want actor.ErrInvalidOption", err)
	}
	lines := e.submit(t, "a1", "lines", 5)
	if _, err := result(t, lines); err != nil {
		t.Fatal(err)
	}
	if items, err := lines.Collected(actor.Recent(2)); len(items) != 2 || items[0].Seq != 3 || err != io.EOF {
		t.Fatalf("recent 2: got %v, %v", items, err)
	}
}

func TestFollowMethodJob(t *testing.T) {
	e := newEnv(t, 1)
	j := e.submit(t, "a0", "echo", "x")
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	if items, err := follow(t, j); len(items) != 0 || err != nil {
		t.Fatalf("got %v, %v; want no items, a clean end", items, err)
	}
}

func TestFollowTruncated(t *testing.T) {
	e := newEnv(t, 1, jobs.WithOutputLimit(4, 1<<20))
	j := e.submit(t, "a0", "lines", 10)
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	_, err := follow(t, j, actor.Since(0))
	var te *actor.TruncatedError
	if !errors.As(err, &te) || te.Oldest != 6 {
		t.Fatalf("got %v; want a *actor.TruncatedError with Oldest 6", err)
	}
	items, err := follow(t, j, actor.Since(te.Oldest))
	if got, _ := seqs(items); err != nil || !slices.Equal(got, []uint64{6, 7, 8, 9}) {
		t.Fatalf("resumed: got %v, %v; want [6 7 8 9]", got, err)
	}
}

func TestFollowUnknownJob(t *testing.T) {
	e := newEnv(t, 1)
	if _, err := e.d.Job("ghost"); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("got %v; want ErrNotFound", err)
	}
}
