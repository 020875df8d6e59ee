package actor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Bad input gets a documented sentinel, never a hang or a panic.
func TestBadInput(t *testing.T) {
	rt := newRuntime(t)
	acct := spawnAccount(t, rt)
	var nilRef *actor.Ref[*Account]
	var nilRT *troupe.Runtime
	nilFn := actor.NewMethod[*Account, int, int]("nil-fn", nil)
	zero := &actor.Method[*Account, int, int]{} // not made by NewMethod
	zeroVal := &actor.Method[*Account, struct{ A, B int }, int]{}
	noName := actor.NewMethod("", func(*Account, *actor.Ctx, int) (int, error) { return 0, nil })
	ctrl := actor.NewMethod("bad\nname", func(*Account, *actor.Ctx, int) (int, error) { return 0, nil })
	long := actor.NewMethod(strings.Repeat("x", 256), func(*Account, *actor.Ctx, int) (int, error) { return 0, nil })
	var nilCtx context.Context
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"spawn nil state", spawnErr(actor.Spawn[*Account](rt, nil)), actor.ErrNilState},
		{"spawn nil runtime", spawnErr(actor.Spawn(nilRT, &Account{})), actor.ErrNilRuntime},
		{"spawn nil spawner", spawnErr(actor.Spawn[*Account](nil, &Account{})), actor.ErrNilRuntime},
		{"spawn empty name", spawnErr(actor.Spawn(rt, &Account{}, actor.WithName(""))), actor.ErrInvalidName},
		{"spawn long name", spawnErr(actor.Spawn(rt, &Account{}, actor.WithName(strings.Repeat("n", 256)))), actor.ErrInvalidName},
		{"spawn control char", spawnErr(actor.Spawn(rt, &Account{}, actor.WithName("a\x00b"))), actor.ErrInvalidName},
		{"spawn negative capacity", spawnErr(actor.Spawn(rt, &Account{}, actor.WithMailbox(-1, actor.Reject))), actor.ErrInvalidOption},
		{"spawn unknown policy", spawnErr(actor.Spawn(rt, &Account{}, actor.WithMailbox(1, actor.Overflow(9)))), actor.ErrInvalidOption},
		{"spawn nil option", spawnErr(actor.Spawn(rt, &Account{}, nil)), actor.ErrInvalidOption},
		{"restart without factory", spawnErr(actor.Spawn(rt, &Account{}, actor.WithSupervision(actor.Supervision{Directive: actor.Restart}))), actor.ErrInvalidOption},
		{"negative backoff", spawnErr(actor.Spawn(rt, &Account{}, actor.WithSupervision(actor.Supervision{Backoff: -time.Second}))), actor.ErrNegativeDuration},
		{"spawnfunc nil factory", spawnErr(actor.SpawnFunc[*Account](rt, nil)), actor.ErrNilState},
		{"spawnfunc nil state", spawnErr(actor.SpawnFunc(rt, func() *Account { return nil })), actor.ErrNilState},
		{"call nil ref", callErr(Deposit.Call(context.Background(), nilRef, 1)), actor.ErrNilRef},
		{"call nil ctx", callErr(Deposit.Call(nilCtx, acct, 1)), actor.ErrNilContext},
		{"cast nil ref", Deposit.Cast(nilRef, 1), actor.ErrNilRef},
		{"ask nil ctx", callErr(Deposit.Ask(nilCtx, acct, 1).Await(context.Background())), actor.ErrNilContext},
		{"nil handler call", callErr(nilFn.Call(context.Background(), acct, 1)), actor.ErrNilHandler},
		{"nil handler cast", nilFn.Cast(acct, 1), actor.ErrNilHandler},
		{"zero method call", callErr(zero.Call(context.Background(), acct, 1)), actor.ErrNilHandler},
		{"zero method ask", callErr(zero.Ask(context.Background(), acct, 1).Await(context.Background())), actor.ErrNilHandler},
		{"zero method cast", zero.Cast(acct, 1), actor.ErrNilHandler},
		{"zero method cast value", zeroVal.Cast(acct, struct{ A, B int }{1, 2}), actor.ErrNilHandler},
		{"empty method name", noName.Cast(acct, 1), actor.ErrInvalidName},
		{"control char method", ctrl.Cast(acct, 1), actor.ErrInvalidName},
		{"long method name", long.Cast(acct, 1), actor.ErrInvalidName},
		{"stop nil ref", nilRef.Stop(context.Background()), actor.ErrNilRef},
		{"stop nil ctx", acct.Stop(nilCtx), actor.ErrNilContext},
		{"await nil ctx", callErr(Sleep.Ask(context.Background(), acct, 50*time.Millisecond).Await(nilCtx)), actor.ErrNilContext},
		{"await all nil ctx", callErr(actor.AwaitAll[int](nilCtx)), actor.ErrNilContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("got %v; want %v", tt.err, tt.want)
			}
		})
	}
}

func spawnErr[S any](_ *actor.Ref[S], err error) error { return err }
func callErr[R any](_ R, err error) error              { return err }

func TestRuntimeOptionsValidated(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  troupe.Option
		want error
	}{
		{"negative timeout", troupe.WithCallTimeout(-time.Second), actor.ErrNegativeDuration},
		{"zero timeout", troupe.WithCallTimeout(0), troupe.ErrInvalidOption},
		{"zero throughput", troupe.WithThroughput(0), troupe.ErrInvalidOption},
		{"bad pool", troupe.WithPoolSize(-5), troupe.ErrInvalidOption},
		{"negative tick", troupe.WithTick(-1), actor.ErrNegativeDuration},
		{"zero log rate", troupe.WithLogRate(0), troupe.ErrInvalidOption},
		{"nil option", nil, troupe.ErrInvalidOption},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rt, err := troupe.New(tt.opt)
			if !errors.Is(err, tt.want) || rt != nil {
				t.Fatalf("New = %v, %v; want nil, %v", rt, err, tt.want)
			}
		})
	}
}

// A nil or zero Future is bad input: Await, AwaitAll and Done answer at
// once (ErrNilRef), never panic nor wait for ctx.
func TestNilFuture(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var nilF *actor.Future[int]
		zero := new(actor.Future[int])
		for _, tt := range []struct {
			name string
			f    *actor.Future[int]
		}{{"nil", nilF}, {"zero", zero}} {
			var err error
			func() {
				defer func() {
					if v := recover(); v != nil {
						err = fmt.Errorf("panic: %v", v)
					}
				}()
				_, err = tt.f.Await(ctx)
			}()
			if !errors.Is(err, actor.ErrNilRef) {
				t.Errorf("%s: Await: got %v; want ErrNilRef", tt.name, err)
			}
			if _, err := actor.AwaitAll(ctx, tt.f); !errors.Is(err, actor.ErrNilRef) {
				t.Errorf("%s: AwaitAll: got %v; want ErrNilRef", tt.name, err)
			}
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Errorf("%s: Done: panic: %v", tt.name, v)
					}
				}()
				select {
				case <-tt.f.Done():
				default:
					t.Errorf("%s: Done: not closed", tt.name)
				}
			}()
		}
	})
}
