package fsm_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
)

// zeroCase is one call on a nil or zero value of an exported type (one
// not made by its constructor): it must give want (errors.Is; nil for a
// call that has no error to give, which checks its result itself),
// without a panic and without a hang.
type zeroCase struct {
	name string
	call func() error
	want error
}

func runZeroCases(t *testing.T, cases []zeroCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			var err error
			var pv any
			go func() {
				defer close(done)
				defer func() { pv = recover() }()
				err = tc.call()
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second): // a failure detector only: every case returns at once
				t.Fatalf("hung; want %v", tc.want)
			}
			if pv != nil {
				t.Fatalf("panicked: %v; want %v", pv, tc.want)
			}
			if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
				t.Fatalf("got %v; want %v", err, tc.want)
			}
		})
	}
}

// is is nil if got == want, else an error saying so.
func is(got, want any) error {
	if got != want {
		return fmt.Errorf("got %v; want %v", got, want)
	}
	return nil
}

// TestZeroValues calls every exported method with a pointer receiver on a
// nil and a zero value, and Spawn with a Definition not made by Define:
// a sentinel or a harmless result, never a panic, a hang, or an actor
// whose machine cannot run. Add a case here with every new exported
// method.
func TestZeroValues(t *testing.T) {
	rt := newRuntime(t)
	var (
		nm *fsm.Machine[phase]
		zm = &fsm.Machine[phase]{}
		nd *fsm.Definition[*bot, phase]
		zd = &fsm.Definition[*bot, phase]{}
		nc *fsm.Ctx[phase]
		zc = &fsm.Ctx[phase]{}
	)
	ax := &actor.Ctx{}
	runZeroCases(t, []zeroCase{
		{"Machine.State nil", func() error { return is(nm.State(), phase("")) }, nil},
		{"Machine.State zero", func() error { return is(zm.State(), phase("")) }, nil},
		{"Machine.Started nil", func() error { nm.Started(ax); return nil }, nil},
		{"Machine.Started zero", func() error { zm.Started(ax); return nil }, nil},
		{"Machine.Goto nil", func() error { return nm.Goto(ax, A) }, fsm.ErrNotStarted},
		{"Machine.Goto zero", func() error { return zm.Goto(ax, A) }, fsm.ErrNotStarted},
		{"Definition.Name nil", func() error { return is(nd.Name(), "") }, nil},
		{"Definition.Initial nil", func() error { return is(nd.Initial(), phase("")) }, nil},
		{"Definition.States nil", func() error { return is(len(nd.States()), 0) }, nil},
		{"Definition.Exits nil", func() error { return is(len(nd.Exits(A)), 0) }, nil},
		{"Definition.Mermaid nil", func() error { _ = nd.Mermaid(); return nil }, nil},
		{"Definition.DOT nil", func() error { _ = nd.DOT(); return nil }, nil},
		{"Definition.Name zero", func() error { return is(zd.Name(), "") }, nil},
		{"Definition.States zero", func() error { return is(len(zd.States()), 0) }, nil},
		{"Definition.Exits zero", func() error { return is(len(zd.Exits(A)), 0) }, nil},
		{"Definition.Mermaid zero", func() error { _ = zd.Mermaid(); return nil }, nil},
		{"Definition.DOT zero", func() error { _ = zd.DOT(); return nil }, nil},
		{"Spawn nil definition", func() error { _, err := fsm.Spawn(rt, nd, newBot()); return err }, fsm.ErrInvalidDefinition},
		{"Spawn zero definition", func() error { _, err := fsm.Spawn(rt, zd, newBot()); return err }, fsm.ErrInvalidDefinition},
		{"SpawnFunc zero definition", func() error { _, err := fsm.SpawnFunc(rt, zd, newBot); return err }, fsm.ErrInvalidDefinition},
		{"Ctx.Actor nil", func() error { return is(nc.Actor(), (*actor.Ctx)(nil)) }, nil},
		{"Ctx.Actor zero", func() error { return is(zc.Actor(), (*actor.Ctx)(nil)) }, nil},
		{"Ctx.State nil", func() error { return is(nc.State(), phase("")) }, nil},
		{"Ctx.Transition nil", func() error { return is(nc.Transition(), fsm.Transition[phase]{}) }, nil},
		{"Ctx.Goto nil", func() error { _ = nc.Goto(A); return nil }, nil},
		{"Ctx.Stay nil", func() error { _ = nc.Stay(); return nil }, nil},
		{"Ctx.Stop nil", func() error { _ = nc.Stop(); return nil }, nil},
		{"DefinitionError zero", func() error { _ = (&fsm.DefinitionError{}).Error(); _ = (&fsm.DefinitionError{}).Unwrap(); return nil }, nil},
		{"TransitionError zero", func() error {
			_ = (&fsm.TransitionError[phase]{}).Error()
			return (&fsm.TransitionError[phase]{}).Unwrap()
		}, nil},
	})
	_ = context.Background
}
