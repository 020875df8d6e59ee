package jetjobs_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

// four sends "a" to "d", then runs until its job's context ends.
var four = actor.NewStream("four", func(_ *agent, _ *actor.Ctx, _ struct{}, out *actor.Out[string]) error {
	go func() {
		ctx := out.Context()
		for _, v := range []string{"a", "b", "c", "d"} {
			if out.SendWait(ctx, v) != nil {
				return
			}
		}
		<-ctx.Done()
		_ = out.Close(ctx.Err())
	}()
	return nil
})

// TestRecentOnOtherNode: a reader of a running job's output placed with
// Recent(n) on a node that had not followed it yet reads the last n items
// stored, as in memory. The node's mirror of the output was made empty
// and the reader placed at its end at once: it then read the store's
// replay of every item.
func TestRecentOnOtherNode(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false)
	b := startNode(t, s.ClientURL(), "b", p, false)
	ref, err := actor.Spawn(a.rt, &agent{p: p})
	must(t, err)
	must(t, jobs.RegisterStream(a.d, jobs.Ref("rec", ref), four))
	ctx := ctxTimeout(t, 20*time.Second)
	j, err := a.d.Submit(ctx, "rec", "four", nil)
	must(t, err)
	read := func(f *actor.Follow[any], n int) []string {
		t.Helper()
		defer f.Close()
		var got []string
		for it, err := range f.All() {
			if err != nil {
				t.Fatalf("read: %v (after %q)", err, got)
			}
			got = append(got, string(it.V.(json.RawMessage)))
			if len(got) == n {
				break
			}
		}
		return got
	}
	f, err := j.Follow(ctx) // on a: the four items are stored
	must(t, err)
	if got, want := read(f, 4), []string{`"a"`, `"b"`, `"c"`, `"d"`}; !slices.Equal(got, want) {
		t.Fatalf("on node a: got %q; want %q", got, want)
	}
	jb, err := b.d.Job(j.ID())
	must(t, err)
	f, err = jb.Follow(ctx, actor.Recent(2))
	must(t, err)
	if got, want := read(f, 2), []string{`"c"`, `"d"`}; !slices.Equal(got, want) {
		t.Fatalf("Recent(2) on node b: got %q; want %q", got, want)
	}
	// Collected with Recent on a node with no mirror yet: the same items,
	// the job still running.
	jc, err := b.d.Job(j.ID())
	must(t, err)
	items, err := jc.Collected(actor.Recent(3))
	var got []string
	for _, it := range items {
		got = append(got, string(it.V.(json.RawMessage)))
	}
	if want := []string{`"b"`, `"c"`, `"d"`}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("Collected(Recent(3)) on node b: got %q, %v; want %q, nil", got, err, want)
	}
	j.Cancel()
}
