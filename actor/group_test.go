package actor_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

func spawnPWs(t *testing.T, rt actor.Spawner, n int, opts ...actor.Option) []*actor.Ref[*pw] {
	t.Helper()
	refs := make([]*actor.Ref[*pw], n)
	for i := range refs {
		r, err := actor.Spawn(rt, &pw{id: int(pwIDs.Add(1))}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		refs[i] = r
	}
	return refs
}

// A group routes over refs it does not own, here named actors found with
// runtime.Lookup.
func TestGroupOverNamedActors(t *testing.T) {
	rt := newRuntime(t)
	for i := range 3 {
		spawnPWs(t, rt, 1, actor.WithName(fmt.Sprintf("pw-%d", i)))
	}
	var refs []*actor.Ref[*pw]
	for i := range 3 {
		r, err := troupe.Lookup[*pw](rt, fmt.Sprintf("pw-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r)
	}
	g, err := actor.NewGroup(refs)
	if err != nil {
		t.Fatal(err)
	}
	ids := callIDs(t, g, 6)
	if len(distinct(ids)) != 3 || ids[0] != ids[3] {
		t.Errorf("got %v; want the 3 members in turn", ids)
	}
	if g.Len() != 3 || len(g.Members()) != 3 {
		t.Errorf("got %d members; want 3", g.Len())
	}
}

// A member that stops leaves the group: no call reaches it, none fails
// for it; when all have left, calls fail with ErrEmptyGroup.
func TestGroupMemberLeavesWhenItStops(t *testing.T) {
	for _, s := range []namedStrategy{
		{"round robin", actor.RoundRobin()},
		{"least busy", actor.LeastBusy()},
		{"hash", actor.Hash(func(int) string { return "one key" })},
		{"first", actor.First(0)},
	} {
		t.Run(s.name, func(t *testing.T) {
			rt := newRuntime(t)
			refs := spawnPWs(t, rt, 3)
			g, err := actor.NewGroup(refs, s.opt)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i, r := range refs {
				if err := r.Stop(ctx); err != nil {
					t.Fatal(err)
				}
				if g.Len() != 2-i {
					t.Fatalf("got %d members; want %d", g.Len(), 2-i)
				}
				for range 6 {
					_, err := actor.CallPool(ctx, pwID, g, 0)
					if i < 2 && err != nil {
						t.Fatalf("with %d members left: got %v; want no call to a stopped one", 2-i, err)
					}
					if i == 2 && !errors.Is(err, actor.ErrEmptyGroup) {
						t.Fatalf("with no member left: got %v; want ErrEmptyGroup", err)
					}
				}
			}
		})
	}
}

func TestGroupBadInput(t *testing.T) {
	rt := newRuntime(t)
	stopped := spawnPWs(t, rt, 2)
	for _, r := range stopped {
		r.Kill()
		<-r.Done()
	}
	live := spawnPWs(t, rt, 1)
	tests := []struct {
		name    string
		members []*actor.Ref[*pw]
		opts    []actor.PoolOption
		want    error
	}{
		{"no member", nil, nil, actor.ErrEmptyGroup},
		{"nil member", []*actor.Ref[*pw]{live[0], nil}, nil, actor.ErrNilRef},
		{"all stopped", stopped, nil, actor.ErrEmptyGroup},
		{"balancing", live, []actor.PoolOption{actor.Balancing()}, actor.ErrInvalidOption},
		{"bad option", live, []actor.PoolOption{actor.WithMaxQueued(-1)}, actor.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := actor.NewGroup(tt.members, tt.opts...)
			if g != nil || !errors.Is(err, tt.want) {
				t.Errorf("got %v, %v; want nil, %v", g, err, tt.want)
			}
		})
	}
	g, err := actor.NewGroup(append(stopped, live...))
	if err != nil || g.Len() != 1 {
		t.Fatalf("got %v, %d members; want the running member only", err, g.Len())
	}
	if err := g.Add(nil); !errors.Is(err, actor.ErrNilRef) {
		t.Errorf("Add(nil): got %v; want ErrNilRef", err)
	}
	if err := g.Add(stopped[0]); !errors.Is(err, actor.ErrStopped) {
		t.Errorf("Add(stopped): got %v; want ErrStopped", err)
	}
	g.Close()
	g.Close()
	if _, err := actor.CallPool(context.Background(), pwID, g, 0); !errors.Is(err, actor.ErrPoolStopped) {
		t.Errorf("call after Close: got %v; want ErrPoolStopped", err)
	}
	if err := g.Add(live[0]); !errors.Is(err, actor.ErrPoolStopped) {
		t.Errorf("Add after Close: got %v; want ErrPoolStopped", err)
	}
}

// Add and Remove change a live group.
func TestGroupAddRemove(t *testing.T) {
	rt := newRuntime(t)
	refs := spawnPWs(t, rt, 3)
	g, err := actor.NewGroup(refs[:1])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if err := g.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if g.Len() != 3 {
		t.Fatalf("got %d members; want 3 (adding a member twice is a no-op)", g.Len())
	}
	if !g.Remove(refs[0]) || g.Remove(refs[0]) {
		t.Error("Remove: got false for a member or true for a non-member")
	}
	first, _ := pwID.Call(context.Background(), refs[0], 0)
	for _, id := range callIDs(t, g, 6) {
		if id == first {
			t.Fatal("got a call on a removed member")
		}
	}
	if err := g.Add(refs[0]); err != nil || g.Len() != 3 {
		t.Fatalf("re-Add: got %v, %d members; want 3", err, g.Len())
	}
	// A removed ref that stops, then a member that stops: both forgotten.
	g.Remove(refs[1])
	refs[1].Kill()
	refs[2].Kill()
	<-refs[1].Done()
	<-refs[2].Done()
	if g.Len() != 1 {
		t.Errorf("got %d members; want 1", g.Len())
	}
}

// LeastBusy over a group counts each member's whole mailbox: a member
// busy with its own callers gets no group call while another is idle.
func TestGroupLeastBusyCountsMailbox(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		gate := make(chan struct{})
		refs := make([]*actor.Ref[*pw], 2)
		for i := range refs {
			r, err := actor.Spawn(rt, &pw{id: i + 1, gate: gate})
			if err != nil {
				t.Fatal(err)
			}
			refs[i] = r
		}
		ctx := context.Background()
		var direct []*actor.Future[int]
		for range 3 {
			direct = append(direct, pwHold.Ask(ctx, refs[0], 0))
		}
		synctest.Wait()
		g, err := actor.NewGroup(refs, actor.LeastBusy())
		if err != nil {
			t.Fatal(err)
		}
		wantStats(t, g, actor.PoolStats{Busy: 1, Ready: 1, Queued: 2})
		for i := range 5 {
			id, err := actor.CallPool(ctx, pwID, g, i)
			if err != nil || id != 2 {
				t.Fatalf("got %v, %v; want member 2, the idle one", id, err)
			}
			synctest.Wait()
		}
		close(gate)
		if _, err := actor.AwaitAll(ctx, direct...); err != nil {
			t.Fatal(err)
		}
	})
}

// Hash over a group: a key stays with its member while it runs; when a
// member leaves, only its keys move.
func TestGroupHashMemberLeaves(t *testing.T) {
	rt := newRuntime(t)
	refs := spawnPWs(t, rt, 4)
	g, err := actor.NewGroup(refs, actor.Hash(func(k string) string { return k }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	where := func() map[string]*actor.Ref[*pw] {
		m := map[string]*actor.Ref[*pw]{}
		for i := range 100 {
			k := fmt.Sprint(i)
			r, err := actor.CallPool(ctx, pwSelf, g, k)
			if err != nil {
				t.Fatal(err)
			}
			m[k] = r
		}
		return m
	}
	before := where()
	gone := before["7"]
	if err := gone.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	after := where()
	for k, r := range before {
		if r != gone && after[k] != r {
			t.Errorf("key %s moved from a member that stayed", k)
		}
		if after[k] == gone {
			t.Errorf("key %s still on the stopped member", k)
		}
	}
}
