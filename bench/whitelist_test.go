package bench

import (
	"context"
	"testing"

	proto "github.com/asynkron/protoactor-go/actor"
	"github.com/troupe-go/troupe/actor"
)

// The whitelist workload: an actor admits only some messages for a while.
// One op sends gateMessages held messages interleaved with as many
// admitted ones, waits until the admitted ones are processed (the held
// ones waiting), then lifts the whitelist and waits for the held ones.
// ns/msg and allocs/msg are per message of the 2×gateMessages.
//
// troupe uses Ctx.Only and Ctx.All. Raw Go uses what Go offers: a channel
// per kind of message, the goroutine selecting only on the admitted ones
// while the held ones wait in their channel's buffer. protoactor-go has no
// selective receive: its actor stashes what it does not admit in a slice
// and processes the stash when released, the usual pattern there.
const gateMessages = 100_000

func BenchmarkWhitelist(b *testing.B) {
	b.Run("troupe", whitelistTroupe)
	b.Run("raw", whitelistRaw)
	b.Run("protoactor", whitelistProto)
}

// gate counts admitted and held messages and closes done when all of
// both kinds have been processed, admitted ones first.
type gate struct {
	admitted, held int
	done           chan struct{}
	err            error
}

func newGate() *gate { return &gate{done: make(chan struct{})} }

func (g *gate) admit() { g.admitted++ }

func (g *gate) release() {
	if g.admitted != gateMessages && g.err == nil {
		g.err = errOrder
	}
}

func (g *gate) hold() {
	g.held++
	if g.held == gateMessages {
		close(g.done)
	}
}

type orderError struct{}

func (orderError) Error() string { return "bench: held message ran before release" }

var errOrder error = orderError{}

// release marker types for the peers.
type (
	heldMsg     struct{ msg }
	admittedMsg struct{ msg }
	releaseMsg  struct{}
)

var (
	heldPayload     = &heldMsg{}
	admittedPayload = &admittedMsg{}
	releasePayload  = &releaseMsg{}
)

var (
	gateClose = actor.NewMethod("close", func(_ *gate, c *actor.Ctx, _ *msg) (struct{}, error) {
		return struct{}{}, c.Only(gateAdmitted, gateOpen)
	})
	gateOpen = actor.NewMethod("open", func(g *gate, c *actor.Ctx, _ *msg) (struct{}, error) {
		g.release()
		c.AdmitAll()
		return struct{}{}, nil
	})
	gateAdmitted = actor.NewMethod("admitted", func(g *gate, _ *actor.Ctx, _ *msg) (struct{}, error) {
		g.admit()
		return struct{}{}, nil
	})
	gateHeld = actor.NewMethod("held", func(g *gate, _ *actor.Ctx, _ *msg) (struct{}, error) {
		if g.admitted != gateMessages {
			g.err = errOrder
		}
		g.hold()
		return struct{}{}, nil
	})
)

func reportPerMsg(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(2*gateMessages), "ns/msg")
}

func whitelistTroupe(b *testing.B) {
	rt := newRuntime(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		g := newGate()
		ref, err := actor.Spawn(rt, g)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := gateClose.Call(ctx, ref, payload); err != nil {
			b.Fatal(err)
		}
		for range gateMessages {
			if err := gateHeld.Cast(ref, payload); err != nil {
				b.Fatal(err)
			}
			if err := gateAdmitted.Cast(ref, payload); err != nil {
				b.Fatal(err)
			}
		}
		if err := gateOpen.Cast(ref, payload); err != nil {
			b.Fatal(err)
		}
		<-g.done
		if g.err != nil {
			b.Fatal(g.err)
		}
		if err := ref.Stop(ctx); err != nil {
			b.Fatal(err)
		}
	}
	reportPerMsg(b)
}

func whitelistRaw(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		g := newGate()
		held := make(chan *heldMsg, gateMessages)
		admitted := make(chan *admittedMsg, rawQueue)
		release := make(chan *releaseMsg, 1)
		go func() {
			for open := false; !open; {
				select {
				case <-admitted:
					g.admit()
				case <-release:
					open = true
				}
			}
			g.release()
			for range gateMessages {
				<-held
				g.hold()
			}
		}()
		for range gateMessages {
			held <- heldPayload
			admitted <- admittedPayload
		}
		// Only once every admitted message is in: the release channel is
		// separate, so sending on it earlier could overtake them.
		for len(admitted) > 0 {
			waitTurn()
		}
		release <- releasePayload
		<-g.done
		if g.err != nil {
			b.Fatal(g.err)
		}
	}
	reportPerMsg(b)
}

func whitelistProto(b *testing.B) {
	sys := protoSystem()
	b.ReportAllocs()
	for b.Loop() {
		g := newGate()
		var stash []*heldMsg
		open := false
		pid := sys.Root.Spawn(proto.PropsFromFunc(func(c proto.Context) {
			switch m := c.Message().(type) {
			case *admittedMsg:
				g.admit()
			case *heldMsg:
				if !open {
					stash = append(stash, m)
					return
				}
				g.hold()
			case *releaseMsg:
				open = true
				g.release()
				for range stash {
					g.hold()
				}
				stash = nil
			}
		}))
		for range gateMessages {
			sys.Root.Send(pid, heldPayload)
			sys.Root.Send(pid, admittedPayload)
		}
		sys.Root.Send(pid, releasePayload)
		<-g.done
		if g.err != nil {
			b.Fatal(g.err)
		}
		protoStop(b, pid)
	}
	reportPerMsg(b)
}
