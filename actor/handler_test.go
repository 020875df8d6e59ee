package actor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

func TestExpReal(t *testing.T) {
	rt := newRuntime(t, troupe.WithCallTimeout(20*time.Millisecond))
	h, _ := actor.NewHandler(rt, &Account{})
	_, err := Deposit.Call(context.Background(), h.Ref(), 3)
	if !errors.Is(err, actor.ErrTimeout) {
		t.Fatal(err)
	}
}
