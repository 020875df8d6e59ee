package actor

import (
	"context"

	"github.com/troupe-go/troupe/internal/engine"

	"github.com/troupe-go/troupe/mailbox"
)

// CastGated is Cast for a oneway whose admission can lapse while it waits
// in the mailbox (remote's served casts to a claimed name: the claim's
// lease): on its turn, before its handler, gate is asked (see
// engine.Gate); an error is a dead letter (engine.ReasonExpired, with
// req) and the handler does not run. A nil gate is Cast. One allocation
// (the message, holding req and gate); Cast's path is not touched. Sealed:
// only troupe's own packages can call it. Errors as Cast's.
func (m *Method[S, Q, R]) CastGated(_ engine.Seal, gate engine.Gate, to *Ref[S], req Q) error {
	if gate == nil {
		return m.Cast(to, req)
	}
	if err := m.check(to); err != nil {
		return err
	}
	g := &gatedCast[S, Q, R]{m: m, gate: gate, req: req}
	g.self = g
	c := &to.c
	if err := c.push(context.Background(), envelope{msg: &g.self}); err != nil {
		c.refused(m.label, err, req)
		return err
	}
	return nil
}

// gatedCast is a oneway sent by CastGated: its request and its gate.
type gatedCast[S, Q, R any] struct {
	self message // the gatedCast itself (see envelope)
	m    *Method[S, Q, R]
	gate engine.Gate
	req  Q
}

func (g *gatedCast[S, Q, R]) key() mailbox.Key { return g.m.k }
func (g *gatedCast[S, Q, R]) name() string     { return g.m.label }
func (g *gatedCast[S, Q, R]) live() bool       { return true }

// run asks the gate, then runs the handler if it admits the oneway.
func (g *gatedCast[S, Q, R]) run(x *Ctx, _ payload) {
	if err := g.gate.Admit(engine.Seal{}); err != nil {
		x.c.deadLetter(engine.ReasonExpired, g.m.label, err, g.req)
		return
	}
	g.m.handle(x, g.req)
}

func (g *gatedCast[S, Q, R]) fail(to *cell, _ payload, err error, why uint8) {
	to.deadLetter(why, g.m.label, err, g.req)
}
