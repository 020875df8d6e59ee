package actor_test

import (
	"context"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
)

// FollowState reports a reader's position, its stream's tail and whether
// the stream has ended, as the reader moves and the stream grows and
// ends; a reader placed past the tail stands there; a nil one is (0, 0,
// true).
func TestFollowState(t *testing.T) {
	rt := newRuntime(t)
	ref, _ := spawnFeed(t, rt)
	ctx := context.Background()
	f, err := Tail.Open(ctx, ref, feedReq{Keep: "k", Send: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	check := func(step string, g *actor.Follow[int], next, tail uint64, ended bool) {
		t.Helper()
		n, tl, e := actor.FollowState(engine.Seal{}, g)
		if n != next || tl != tail || e != ended {
			t.Fatalf("%s: got (%d, %d, %v); want (%d, %d, %v)", step, n, tl, e, next, tail, ended)
		}
	}
	check("opened", f, 0, 2, false)
	if _, err := f.Collected(); err != nil {
		t.Fatal(err)
	}
	check("read", f, 2, 2, false)
	past, err := f.Follow(ctx, actor.Since(10))
	if err != nil {
		t.Fatal(err)
	}
	defer past.Close()
	check("placed past the tail", past, 10, 2, false)
	if _, err := emit.Call(ctx, ref, emitReq{Name: "k", Send: []int{3}}); err != nil {
		t.Fatal(err)
	}
	check("grown", f, 2, 3, false)
	if _, err := emit.Call(ctx, ref, emitReq{Name: "k", Close: true}); err != nil {
		t.Fatal(err)
	}
	check("ended", f, 2, 3, true)
	check("nil", nil, 0, 0, true)
}
