package remote_test

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/zerocase"
	"github.com/troupe-go/troupe/remote"
)

// is is nil if got == want, else an error saying so.
var is = zerocase.Is

// TestZeroValues calls every exported method with a pointer receiver on a
// nil and a zero value (one not made by its constructor: Start, Bind,
// BindStream, Ask, Open), and the functions that take a Node: a sentinel
// or a harmless result, never a panic or a hang. Add a case here with
// every new exported method.
func TestZeroValues(t *testing.T) {
	bg := context.Background()
	var (
		nn  *remote.Node
		zn  = &remote.Node{}
		nb  *remote.Binding[int, int]
		zb  = &remote.Binding[int, int]{}
		nsb *remote.StreamBinding[TailReq, string]
		zsb = &remote.StreamBinding[TailReq, string]{}
		nfu *remote.Future[int]
		zfu = &remote.Future[int]{}
		nf  *remote.Follow[string]
		zf  = &remote.Follow[string]{}
		ne  *remote.Error
		npe *remote.PanicError
		nte *remote.NameTakenError
		nce *remote.CodedError
	)
	rt := newRuntime(t)
	ref, err := actor.Spawn(rt, newAcct())
	if err != nil {
		t.Fatal(err)
	}
	closedCh := func(ch <-chan struct{}) error {
		select {
		case <-ch:
			return nil
		default:
			return errors.New("channel not closed")
		}
	}
	first := func(f *remote.Follow[string]) error {
		for _, err := range f.All() {
			return err
		}
		return nil
	}
	callErr := func(_ int, err error) error { return err }
	openErr := func(_ *remote.Follow[string], err error) error { return err }
	collectedErr := func(_ []actor.Item[string], err error) error { return err }
	ownerErr := func(_ string, err error) error { return err }
	lookupErr := func(_ string, _ bool, err error) error { return err }
	resolveErr := func(_ *remote.Service, err error) error { return err }
	nonEmpty := func(s string) error {
		if s == "" {
			return errors.New("empty")
		}
		return nil
	}
	zerocase.Run(t, []zerocase.Case{
		// Node: made by Start.
		{"Node.Shutdown zero", func() error { return zn.Shutdown(bg) }, remote.ErrNilNode},
		{"Node.Close zero", func() error { return zn.Close() }, remote.ErrNilNode},
		{"Node.ID zero", func() error { return is(zn.ID(), "") }, nil},
		{"Node.URL zero", func() error { return is(zn.URL(), "") }, nil},
		{"Node.Conn zero", func() error { return is(zn.Conn() == nil, true) }, nil},
		{"Node.Refusals zero", func() error { return is(zn.Refusals(), uint64(0)) }, nil},
		{"Node.Exports zero", func() error { return is(len(zn.Exports()), 0) }, nil},
		{"Node.Unexport zero", func() error { return is(zn.Unexport("x"), false) }, nil},
		{"Export zero Node", func() error { return remote.Export(zn, "x", ref, remote.Serve(Deposit)) }, remote.ErrNilNode},
		{"Claim zero Node", func() error { return remote.Claim(bg, zn, "x", ref, remote.Serve(Deposit)) }, remote.ErrNilNode},
		{"Owner zero Node", func() error { return ownerErr(remote.Owner(bg, zn, "x")) }, remote.ErrNilNode},
		{"LookupOrSpawn zero Node", func() error { return lookupErr(remote.LookupOrSpawn(bg, zn, "x", newAcct, remote.Serve(Deposit))) }, remote.ErrNilNode},
		{"LookupOrSpawn nil Node", func() error { return lookupErr(remote.LookupOrSpawn(bg, nn, "x", newAcct, remote.Serve(Deposit))) }, remote.ErrNilNode},
		{"Resolve zero Node", func() error { return resolveErr(remote.Resolve(bg, zn, "x")) }, remote.ErrNilNode},
		{"Bind zero Node", func() error { return callErr(remote.Bind(zn, "x", Deposit).Call(bg, 1)) }, remote.ErrNilNode},
		{"BindStream zero Node", func() error { return openErr(remote.BindStream(zn, "x", Tail).Open(bg, TailReq{})) }, remote.ErrNilNode},

		// Binding: made by Bind.
		{"Binding.Call zero", func() error { return callErr(zb.Call(bg, 1)) }, remote.ErrNilRef},
		{"Binding.Ask zero", func() error { return callErr(zb.Ask(bg, 1).Await(bg)) }, remote.ErrNilRef},
		{"Binding.Cast zero", func() error { return zb.Cast(1) }, remote.ErrNilRef},
		{"Binding.Cast nil", func() error { return nb.Cast(1) }, remote.ErrNilRef},

		// StreamBinding: made by BindStream.
		{"StreamBinding.Open nil", func() error { return openErr(nsb.Open(bg, TailReq{})) }, remote.ErrNilRef},
		{"StreamBinding.Open zero", func() error { return openErr(zsb.Open(bg, TailReq{})) }, remote.ErrNilRef},
		{"StreamBinding.Follow nil", func() error { return openErr(nsb.Follow(bg, "a.f#1")) }, remote.ErrNilRef},
		{"StreamBinding.Follow zero", func() error { return openErr(zsb.Follow(bg, "a.f#1")) }, remote.ErrNilRef},

		// Future: made by Ask.
		{"Future.Done nil", func() error { return closedCh(nfu.Done()) }, nil},
		{"Future.Done zero", func() error { return closedCh(zfu.Done()) }, nil},
		{"Future.Await nil", func() error { return callErr(nfu.Await(bg)) }, remote.ErrNilRef},
		{"Future.Await zero", func() error { return callErr(zfu.Await(bg)) }, remote.ErrNilRef},

		// Follow: made by Open and Follow.
		{"Follow.ID nil", func() error { return is(nf.ID(), uint64(0)) }, nil},
		{"Follow.ID zero", func() error { return is(zf.ID(), uint64(0)) }, nil},
		{"Follow.Ref nil", func() error { return is(nf.Ref(), "") }, nil},
		{"Follow.Ref zero", func() error { return is(zf.Ref(), "") }, nil},
		{"Follow.Close nil", func() error { return nf.Close() }, actor.ErrNilStream},
		{"Follow.Close zero", func() error { return zf.Close() }, actor.ErrNilStream},
		{"Follow.All nil", func() error { return first(nf) }, actor.ErrNilStream},
		{"Follow.All zero", func() error { return first(zf) }, actor.ErrNilStream},
		{"Follow.Collected nil", func() error { return collectedErr(nf.Collected()) }, actor.ErrNilStream},
		{"Follow.Collected zero", func() error { return collectedErr(zf.Collected()) }, actor.ErrNilStream},

		// Errors: nil ones (an error interface holding them), and zero ones.
		{"Error.Error nil", func() error { return nonEmpty(ne.Error()) }, nil},
		{"Error.Unwrap nil", func() error { return is(ne.Unwrap(), nil) }, nil},
		{"Error.Error zero", func() error { return nonEmpty((&remote.Error{}).Error()) }, nil},
		{"PanicError.Error nil", func() error { return nonEmpty(npe.Error()) }, nil},
		{"PanicError.Error zero", func() error { return nonEmpty((&remote.PanicError{}).Error()) }, nil},
		{"NameTakenError.Error nil", func() error { return nonEmpty(nte.Error()) }, nil},
		{"NameTakenError.Error zero", func() error { return nonEmpty((&remote.NameTakenError{}).Error()) }, nil},
		{"CodedError.Error nil", func() error { return nonEmpty(nce.Error()) }, nil},
		{"CodedError.Unwrap nil", func() error { return is(nce.Unwrap(), nil) }, nil},
		{"CodedError.ErrorCode nil", func() error { return is(nce.ErrorCode(), "") }, nil},
		{"CodedError.Error zero", func() error { return nonEmpty((&remote.CodedError{}).Error()) }, nil},
		{"CodedError.Error no Err", func() error { return nonEmpty((&remote.CodedError{Code: "c"}).Error()) }, nil},
	})
}
