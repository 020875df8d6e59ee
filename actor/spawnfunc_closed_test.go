package actor_test

import (
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// TestSpawnFuncClosedRuntimeRunsNoFactory: on a closed runtime SpawnFunc
// returns ErrStopped without calling its factory, which runs only for an
// actor Spawn may make (runtime.LookupOrSpawn promises it). Before, the
// factory ran and its state was dropped.
func TestSpawnFuncClosedRuntimeRunsNoFactory(t *testing.T) {
	rt := newRuntime(t)
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	ran := false
	_, err := actor.SpawnFunc(rt, func() *Account { ran = true; return &Account{} })
	if !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("SpawnFunc on a closed runtime: %v; want ErrStopped", err)
	}
	if ran {
		t.Fatal("the factory ran for an actor that could not be spawned")
	}
}
