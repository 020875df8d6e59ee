package runtime

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"github.com/troupe-go/troupe/internal/engine"
)

type fakeRef struct{ stopped bool }

func (f *fakeRef) Stopped() bool { return f.stopped }

func (f *fakeRef) Done() <-chan struct{} { return nil }

func (f *fakeRef) WaitDone(_ engine.Seal, ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestRegistrySameShard: names whose hashes pick the same shard (a
// collision of the hash as the registry uses it) are kept apart: the
// registry compares whole names, so Register never refuses one for the
// other and lookup and Unregister never touch the other's entry.
func TestRegistrySameShard(t *testing.T) {
	r := newRegistry()
	a := "a"
	var b string
	for i := 0; ; i++ {
		if b = fmt.Sprint("b", i); r.shard(b) == r.shard(a) {
			break
		}
	}
	ra, rb := &fakeRef{}, &fakeRef{}
	if err := r.Register(a, ra); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(b, rb); err != nil {
		t.Fatalf("Register(%q) beside %q in one shard: %v", b, a, err)
	}
	if got, _ := r.lookup(a); got != ra {
		t.Fatalf("lookup(%q) = %v; want its own ref", a, got)
	}
	if got, _ := r.lookup(b); got != rb {
		t.Fatalf("lookup(%q) = %v; want its own ref", b, got)
	}
	r.Unregister(b, ra) // not b's holder: no effect
	ra.stopped = true
	r.Unregister(a, ra)
	if got, ok := r.lookup(b); !ok || got != rb {
		t.Fatalf("lookup(%q) after %q left = %v, %v", b, a, got, ok)
	}
	if err := r.Register(b, &fakeRef{}); !errors.Is(err, engine.ErrNameTaken) {
		t.Fatalf("Register(%q) again: %v; want ErrNameTaken", b, err)
	}
}

// TestRegistryShardSize: a shard fills whole 64-byte cache lines, so that
// two shards never share one (spawns and lookups of names in neighbouring
// shards would contend on it otherwise), and the registry's 64 shards make
// one 4 KiB, page-aligned allocation.
func TestRegistryShardSize(t *testing.T) {
	if n := unsafe.Sizeof(shard{}); n%64 != 0 {
		t.Fatalf("a shard is %d bytes; want a multiple of 64 (a shard shares its cache lines with its neighbours)", n)
	}
}
