package actor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
)

type castDeadWorker struct{}

var castDeadWork = actor.NewMethod("work", func(*castDeadWorker, *actor.Ctx, int) (int, error) { return 0, nil })

// A CastPool refused because the pool is stopped is a dead letter carrying
// its payload, as every refused oneway is (the model test found the
// letter's Payload nil: the refusal happened before the payload was known).
func TestCastPoolStoppedDeadLetterPayload(t *testing.T) {
	var letters testkit.Letters
	rt := testkit.NewRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
	p, err := actor.NewPool(rt, 2, func() *castDeadWorker { return &castDeadWorker{} })
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := actor.CastPool(castDeadWork, p, 42); !errors.Is(err, actor.ErrPoolStopped) {
		t.Fatalf("CastPool to a stopped pool: %v; want ErrPoolStopped", err)
	}
	var got []any
	for _, d := range letters.All() {
		if d.Method == "work" {
			got = append(got, d.Payload)
		}
	}
	if len(got) != 1 || got[0] != 42 {
		t.Fatalf("dead letters' payloads for the refused CastPool: %v; want [42]", got)
	}
}
