package actor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

func TestCallReply(t *testing.T) {
	rt := newRuntime(t)
	acct := spawnAccount(t, rt)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		got, err := Deposit.Call(ctx, acct, 10)
		if err != nil || got != 10*i {
			t.Fatalf("Deposit #%d = %d, %v; want %d, nil", i, got, err, 10*i)
		}
	}
}

func TestCallHandlerError(t *testing.T) {
	rt := newRuntime(t)
	acct := spawnAccount(t, rt)
	_, err := Deposit.Call(context.Background(), acct, -1)
	if !errors.Is(err, errNegative) {
		t.Fatalf("got %v; want errNegative", err)
	}
}

func TestCallPanicBecomesError(t *testing.T) {
	rt := newRuntime(t)
	acct := spawnAccount(t, rt)
	_, err := Boom.Call(context.Background(), acct, "kaboom")
	var pe *actor.PanicError
	if !errors.As(err, &pe) || pe.Value != "kaboom" || pe.Method != "boom" || len(pe.Stack) == 0 {
		t.Fatalf("got %v; want *PanicError{boom, kaboom, stack}", err)
	}
	// Resumed: the state survives.
	if got, err := Deposit.Call(context.Background(), acct, 5); err != nil || got != 5 {
		t.Fatalf("after panic: %d, %v; want 5, nil", got, err)
	}
}
