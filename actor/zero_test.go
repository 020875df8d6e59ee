package actor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/internal/zerocase"
)

// is is nil if got == want, else an error saying so.
var is = zerocase.Is

// TestZeroValues calls every exported method with a pointer receiver (Pool's
// are in TestPoolCallBadInput and its neighbours) on a nil and a zero value,
// and the functions that take such values: a sentinel, a harmless result,
// never a panic or a hang. Add a case here with every new exported method.
func TestZeroValues(t *testing.T) {
	rt := newRuntime(t)
	acct := spawnAccount(t, rt)
	bg := context.Background()
	var (
		nx  *actor.Ctx
		zx  = &actor.Ctx{} // also what a Ctx kept past its turn becomes
		nh  *actor.Handler[*Account]
		zh  = &actor.Handler[*Account]{}
		ng  *actor.Group[*Account]
		zg  = &actor.Group[*Account]{}
		nm  *actor.Method[*Account, int, int]
		zm  = &actor.Method[*Account, int, int]{}
		ns  *actor.Stream[*Account, int, int]
		zs  = &actor.Stream[*Account, int, int]{}
		nr  *actor.Ref[*Account]
		zr  = &actor.Ref[*Account]{}
		no  *actor.Out[int]
		zo  = &actor.Out[int]{}
		nf  *actor.Follow[int]
		zf  = &actor.Follow[int]{}
		nfu *actor.Future[int]
		zfu = &actor.Future[int]{}
		nrp *actor.Reply[int]
		zrp = &actor.Reply[int]{}
	)
	stream := actor.NewStream("s", func(*Account, *actor.Ctx, int, *actor.Out[int]) error { return nil })
	closedCh := func(ch <-chan struct{}) error {
		select {
		case <-ch:
			return nil
		default:
			return errors.New("channel not closed")
		}
	}
	ended := func(ctx context.Context) error {
		if ctx == nil || ctx.Err() == nil {
			return errors.New("context not ended")
		}
		return nil
	}
	first := func(f *actor.Follow[int]) error {
		for _, err := range f.All() {
			return err
		}
		return nil
	}
	zerocase.Run(t, []zerocase.Case{
		// Ctx: made by the runtime for one turn (and zeroed after it).
		{"Ctx.Only nil", func() error { return nx.Only(Deposit) }, actor.ErrNilContext},
		{"Ctx.Only zero", func() error { return zx.Only(Deposit) }, actor.ErrNilContext},
		{"Ctx.AdmitAll nil", func() error { nx.AdmitAll(); return nil }, nil},
		{"Ctx.AdmitAll zero", func() error { zx.AdmitAll(); return nil }, nil},
		{"Ctx.CancelTimer nil", func() error { return is(nx.CancelTimer("k"), false) }, nil},
		{"Ctx.CancelTimer zero", func() error { return is(zx.CancelTimer("k"), false) }, nil},
		{"Ctx.Context nil", func() error { return ended(nx.Context()) }, nil},
		{"Ctx.Context zero", func() error { return ended(zx.Context()) }, nil},
		{"Ctx.Engine nil", func() error { return is(nx.Engine(engine.Seal{}), (*engine.System)(nil)) }, nil},
		{"Ctx.Engine zero", func() error { return is(zx.Engine(engine.Seal{}), (*engine.System)(nil)) }, nil},
		{"Ctx.Report nil", func() error { nx.Report("m", errors.New("x")); return nil }, nil},
		{"Ctx.Report zero", func() error { zx.Report("m", errors.New("x")); return nil }, nil},
		{"Ctx.Stop nil", func() error { nx.Stop(); return nil }, nil},
		{"Ctx.Stop zero", func() error { zx.Stop(); return nil }, nil},
		{"Ctx.TouchIdle nil", func() error { nx.TouchIdle(); return nil }, nil},
		{"Ctx.TouchIdle zero", func() error { zx.TouchIdle(); return nil }, nil},
		{"Spawn zero Ctx", func() error { return spawnErr(actor.Spawn(zx, &Account{})) }, actor.ErrNilRuntime},
		{"NewHandler zero Ctx", func() error { _, err := actor.NewHandler(zx, &Account{}); return err }, actor.ErrNilRuntime},
		{"Self nil Ctx", func() error { return is(actor.Self[*Account](nx), nr) }, nil},
		{"Self zero Ctx", func() error { return is(actor.Self[*Account](zx), nr) }, nil},
		{"After nil Ctx", func() error { return actor.After(nx, "k", time.Second, Deposit, 1) }, actor.ErrNilContext},
		{"After zero Ctx", func() error { return actor.After(zx, "k", time.Second, Deposit, 1) }, actor.ErrNilContext},
		{"Every zero Ctx", func() error { return actor.Every(zx, "k", time.Second, Deposit, 1) }, actor.ErrNilContext},
		{"Go zero Ctx", func() error {
			return actor.Go(zx, func(context.Context) (int, error) { return 0, nil }, (*actor.Method[*Account, actor.Result[int], int])(nil))
		}, actor.ErrNilContext},

		// Handler.
		{"Handler.Process nil", func() error { return nh.Process(bg) }, actor.ErrNilRef},
		{"Handler.Process zero", func() error { return zh.Process(bg) }, actor.ErrNilRef},
		{"Handler.Process nil option", func() error {
			h, err := actor.NewHandler(rt, &Account{})
			if err != nil {
				return err
			}
			defer h.Ref().Kill()
			return h.Process(bg, nil)
		}, actor.ErrInvalidOption},
		{"Handler.Ref nil", func() error { return is(nh.Ref(), nr) }, nil},
		{"Handler.Ref zero", func() error { return is(zh.Ref(), nr) }, nil},
		{"Handler.StopProcessing nil", func() error { nh.StopProcessing(); return nil }, nil},
		{"Handler.StopProcessing zero", func() error { zh.StopProcessing(); return nil }, nil},

		// Group.
		{"Group.Add nil", func() error { return ng.Add(acct) }, actor.ErrNilPool},
		{"Group.Add zero", func() error { return zg.Add(acct) }, actor.ErrNilPool},
		{"Group.Remove nil", func() error { return is(ng.Remove(acct), false) }, nil},
		{"Group.Remove zero", func() error { return is(zg.Remove(acct), false) }, nil},
		{"Group.Len nil", func() error { return is(ng.Len(), 0) }, nil},
		{"Group.Len zero", func() error { return is(zg.Len(), 0) }, nil},
		{"Group.Members nil", func() error { return is(len(ng.Members()), 0) }, nil},
		{"Group.Members zero", func() error { return is(len(zg.Members()), 0) }, nil},
		{"Group.Stats nil", func() error { return is(ng.Stats(), actor.PoolStats{}) }, nil},
		{"Group.Stats zero", func() error { return is(zg.Stats(), actor.PoolStats{}) }, nil},
		{"Group.Close nil", func() error { ng.Close(); return nil }, nil},
		{"Group.Close zero", func() error { (&actor.Group[*Account]{}).Close(); return nil }, nil},
		{"CallPool zero group", func() error { return callErr(actor.CallPool(bg, Deposit, zg, 1)) }, actor.ErrNilPool},
		{"AskPool zero group", func() error { return callErr(actor.AskPool(bg, Deposit, zg, 1).Await(bg)) }, actor.ErrNilPool},
		{"CastPool zero group", func() error { return actor.CastPool(Deposit, zg, 1) }, actor.ErrNilPool},
		{"BroadcastPool zero group", func() error { return callErr(actor.BroadcastPool(bg, Deposit, zg, 1)) }, actor.ErrNilPool},
		{"OpenPool zero group", func() error { return callErr(actor.OpenPool(bg, stream, zg, 1)) }, actor.ErrNilPool},

		// Method (calls with a zero Method are in TestBadInput).
		{"Method.Name nil", func() error { return is(nm.Name(), "") }, nil},
		{"Method.Name zero", func() error { return is(zm.Name(), "") }, nil},
		{"Method.Accepts nil", func() error { return is(nm.Accepts(&Account{}), true) }, nil},
		{"Method.Call nil", func() error { return callErr(nm.Call(bg, acct, 1)) }, actor.ErrNilHandler},
		{"Method.Cast nil", func() error { return nm.Cast(acct, 1) }, actor.ErrNilHandler},
		{"Method.Ask nil", func() error { return callErr(nm.Ask(bg, acct, 1).Await(bg)) }, actor.ErrNilHandler},
		{"Method.CastInline nil", func() error { return nm.CastInline(engine.Seal{}, acct, 1) }, actor.ErrNilHandler},
		{"Method.CastInline zero", func() error { return zm.CastInline(engine.Seal{}, acct, 1) }, actor.ErrNilHandler},
		{"Method.AskUnwatched zero", func() error {
			return callErr(zm.AskUnwatched(engine.Seal{}, bg, acct, 1).Await(bg))
		}, actor.ErrNilHandler},

		// Stream (Open and Follow of a zero Stream are in TestStreamBadInput).
		{"Stream.Name nil", func() error { return is(ns.Name(), "") }, nil},
		{"Stream.Name zero", func() error { return is(zs.Name(), "") }, nil},
		{"Stream.Accepts nil", func() error { return is(ns.Accepts(&Account{}), true) }, nil},
		{"Stream.Open nil", func() error { return callErr(ns.Open(bg, acct, 1)) }, actor.ErrNilHandler},
		{"Stream.Follow nil", func() error { return callErr(ns.Follow(bg, acct, 1)) }, actor.ErrNilHandler},

		// Ref.
		{"Ref.Name zero", func() error { return is(zr.Name(), "") }, nil},
		{"Ref.ID nil", func() error { return is(nr.ID(), uint64(0)) }, nil},
		{"Ref.String nil", func() error { return is(nr.String(), "<nil>") }, nil},
		{"Ref.String zero", func() error { _ = zr.String(); return nil }, nil},
		{"Ref.Stopped zero", func() error { return is(zr.Stopped(), true) }, nil},
		{"Ref.Done zero", func() error { return closedCh(zr.Done()) }, nil},
		{"Ref.AtStop zero", func() error { return is(zr.AtStop(engine.Seal{}, func() {}), false) }, nil},
		{"Ref.Stop zero", func() error { return zr.Stop(bg) }, actor.ErrNilRef},
		{"Ref.Kill zero", func() error { zr.Kill(); return nil }, nil},
		{"Ref.Held zero", func() error { return is(len(zr.Held()), 0) }, nil},
		{"Ref.Queued zero", func() error { return is(zr.Queued(), 0) }, nil},
		{"Call zero Ref", func() error { return callErr(Deposit.Call(bg, zr, 1)) }, actor.ErrNilRef},
		{"Cast zero Ref", func() error { return Deposit.Cast(zr, 1) }, actor.ErrNilRef},
		{"Open zero Ref", func() error { return callErr(stream.Open(bg, zr, 1)) }, actor.ErrNilRef},
		{"NewGroup zero Ref", func() error { return callErr(actor.NewGroup([]*actor.Ref[*Account]{zr})) }, actor.ErrNilRef},

		// Out.
		{"Out.Send nil", func() error { return no.Send(1) }, actor.ErrNilStream},
		{"Out.Send zero", func() error { return zo.Send(1) }, actor.ErrNilStream},
		{"Out.SendWait zero", func() error { return zo.SendWait(bg, 1) }, actor.ErrNilStream},
		{"Out.Wait zero", func() error { return zo.Wait(bg) }, actor.ErrNilStream},
		{"Out.Close zero", func() error { return zo.Close(nil) }, actor.ErrNilStream},
		{"Out.Context zero", func() error { return ended(zo.Context()) }, nil},
		{"Out.ID zero", func() error { return is(zo.ID(), uint64(0)) }, nil},
		{"Out.Follow zero", func() error { return callErr(zo.Follow(bg)) }, actor.ErrNilStream},

		// Follow.
		{"Follow.All nil", func() error { return first(nf) }, actor.ErrNilStream},
		{"Follow.All zero", func() error { return first(zf) }, actor.ErrNilStream},
		{"Follow.Collected zero", func() error { return callErr(zf.Collected()) }, actor.ErrNilStream},
		{"Follow.Close zero", func() error { return zf.Close() }, actor.ErrNilStream},
		{"Follow.ID zero", func() error { return is(zf.ID(), uint64(0)) }, nil},

		// Future and Reply.
		{"Future.Await nil", func() error { return callErr(nfu.Await(bg)) }, actor.ErrNilRef},
		{"Future.Await zero", func() error { return callErr(zfu.Await(bg)) }, actor.ErrNilRef},
		{"Future.Done zero", func() error { return closedCh(zfu.Done()) }, nil},
		{"Reply.Send nil", func() error { return nrp.Send(1, nil) }, actor.ErrReplied},
		{"Reply.Send zero", func() error { return zrp.Send(1, nil) }, actor.ErrReplied},
		{"Reply.Context zero", func() error { return ended(zrp.Context()) }, nil},

		// Error types: a zero value formats (a nil one is not an error).
		{"PanicError zero", func() error { _ = (&actor.PanicError{}).Error(); return (&actor.PanicError{}).Unwrap() }, nil},
		{"StopError zero", func() error { _ = (&actor.StopError{}).Error(); return (&actor.StopError{}).Unwrap() }, nil},
		{"TruncatedError zero", func() error { _ = (&actor.TruncatedError{}).Error(); return nil }, nil},
	})
}
