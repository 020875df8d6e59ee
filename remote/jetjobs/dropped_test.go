package jetjobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/jetjobs"
)

// manyThenHold sends n items of 1000 bytes, then waits for its job's end.
var manyThenHold = actor.NewStream("many", func(a *agent, _ *actor.Ctx, n int, out *actor.Out[string]) error {
	go func() {
		ctx := out.Context()
		for i := range n {
			if out.SendWait(ctx, fmt.Sprintf("%04d%0996d", i, 0)) != nil {
				return
			}
		}
		a.p.entered <- "sent"
		<-ctx.Done()
		_ = out.Close(ctx.Err())
	}()
	return nil
})

// TestFollowAfterDropped: a follower that starts after the output stream
// dropped a running job's oldest items (its bytes) gets the items kept
// while the job runs, not at its end.
func TestFollowAfterDropped(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	ret := jetjobs.WithRetention(time.Hour, 16<<10)
	a := startNode(t, s.ClientURL(), "a", p, false, ret)
	b := startNode(t, s.ClientURL(), "b", p, true, ret)
	ref, err := actor.Spawn(b.rt, &agent{p: p})
	must(t, err)
	must(t, jobs.RegisterStream(b.d, jobs.Ref("manyhost", ref), manyThenHold))
	ctx := ctxTimeout(t, 30*time.Second)
	j, err := a.d.Submit(ctx, "manyhost", "many", 60)
	must(t, err)
	defer j.Cancel()
	entered(t, p)
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	f, err := j.Follow(fctx, actor.Since(0))
	must(t, err)
	nils, last := 0, ""
	for it, err := range f.All() {
		if err != nil {
			t.Fatalf("follow: got %v after %d nil items and %q", err, nils, last)
		}
		v, _ := it.V.(json.RawMessage)
		if v == nil {
			nils++
			continue
		}
		last = string(v)
		if it.Seq == 59 {
			break
		}
	}
	if last != fmt.Sprintf(`"%04d%0996d"`, 59, 0) {
		t.Fatalf("followed %d nil items, then up to %.8s; want up to item 59", nils, last)
	}
	t.Logf("%d items dropped", nils)
}
