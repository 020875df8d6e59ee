package fsm_test

import (
	"context"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
	"github.com/troupe-go/troupe/internal/zerocase"
)

// is is nil if got == want, else an error saying so.
var is = zerocase.Is

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
	zerocase.Run(t, []zerocase.Case{
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
