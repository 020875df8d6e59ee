package jetjobs

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

// TestIDReusedOutputOwn: a job's record goes (past its retention age:
// here purged, at once) while its output is still stored, and a new job
// is submitted with its id. Before, a follower of the new job read the
// old job's items and stopped at the old job's end marker (all on one
// subject, known by id only), and the new job's items were dropped as
// duplicates of the old job's (their message ids were the id and the
// item's number). Output now skips the items and marker of another
// generation, and message ids name the generation.
func TestIDReusedOutputOwn(t *testing.T) {
	a, b, _ := storeNodes(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old := submit(t, ctx, a, "ticks", struct{}{}, jobs.ID("again"))
	b.gate.items <- "old"
	// Cancelled once its item is in its output: handed to the producer,
	// the item may not be sent yet, and a Cancel then drops it.
	of, err := old.Follow(ctx, actor.Since(0))
	if err != nil {
		t.Fatal(err)
	}
	for it, err := range of.All() {
		if err != nil || string(it.V.(json.RawMessage)) != `"old"` {
			t.Fatalf("the old job's first item: got %v, %v; want \"old\"", it.V, err)
		}
		break
	}
	_ = of.Close()
	if !old.Cancel() {
		t.Fatal("the old job: not cancelled")
	}
	for { // the old job's end marker, written by its runner
		m, err := a.b.out.GetLastMsgForSubject(ctx, a.b.outSubject("again"))
		if err == nil && m.Header.Get(hdrEnd) != "" {
			break
		}
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) || ctx.Err() != nil {
			t.Fatal(err, ctx.Err())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := a.b.jobsKV.Purge(ctx, tok("again")); err != nil { // its age has passed
		t.Fatal(err)
	}
	j := submit(t, ctx, a, "ticks", struct{}{}, jobs.ID("again"))
	b.gate.items <- "new"
	f, err := j.Follow(ctx, actor.Since(0))
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for it, err := range f.All() { // to the new job's end
		if err != nil {
			t.Fatalf("follow: %v", err)
		}
		items = append(items, string(it.V.(json.RawMessage)))
		if len(items) == 1 && !j.Cancel() { // once its item is in its output, as above
			t.Fatal("the new job: not cancelled")
		}
	}
	if want := []string{`"new"`}; !slices.Equal(items, want) {
		t.Fatalf("the new job's output: got %v; want %v", items, want)
	}
}
