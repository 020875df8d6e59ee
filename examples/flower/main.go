// Command flower is gevent_async's @state example as a troupe fsm actor. A
// flower sprouts, grows, flowers, then withers or is picked, and dies:
//
//	sprouting → growing → flowering → withering → dead
//	                  ↘ withering      ↘ dead (picked)
//
// It shows a state function going to the next state, a method handler
// moving the machine, an argument passed to a state, a state timeout (a
// flower not watered in time withers), a transition the definition does
// not allow being refused, and the Mermaid diagram of the definition.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Phase is a flower's state.
type Phase string

const (
	Sprouting Phase = "sprouting"
	Growing   Phase = "growing"
	Flowering Phase = "flowering"
	Withering Phase = "withering"
	Dead      Phase = "dead"
)

// season is how long a flower grows, and flowers, before it withers.
const season = 2 * time.Second

// thirst is how many waterings a growing flower needs to flower.
const thirst = 3

// Flower is the actor's state: the machine and the plant.
type Flower struct {
	fsm.Machine[Phase]
	name  string
	water int
	say   func(format string, args ...any)
}

func sprout(f *Flower, c *fsm.Ctx[Phase]) fsm.Step[Phase] {
	f.say("%s sprouts", f.name)
	return c.Goto(Growing) // like gevent_async's growing() at the end of sprouting()
}

func grow(f *Flower, c *fsm.Ctx[Phase]) fsm.Step[Phase] {
	f.say("%s grows: it needs %d waterings within %v", f.name, thirst, season)
	return c.Stay() // Water moves it on, or the state timeout does
}

func bloom(f *Flower, c *fsm.Ctx[Phase]) fsm.Step[Phase] {
	f.say("%s flowers", f.name)
	return c.Stay()
}

func wither(f *Flower, c *fsm.Ctx[Phase]) fsm.Step[Phase] {
	if c.Transition().Timeout {
		f.say("%s withers: %v went by in %v", f.name, season, c.Transition().From)
	} else {
		f.say("%s withers", f.name)
	}
	return c.Goto(Dead)
}

// die takes an argument, like gevent_async's dead(is_eaten=False).
func die(f *Flower, c *fsm.Ctx[Phase], picked bool) fsm.Step[Phase] {
	if picked {
		f.say("%s dies in a vase", f.name)
	} else {
		f.say("%s dies and goes back to the soil", f.name)
	}
	return c.Stop() // the actor stops too
}

var (
	// Water waters a flower; the third watering makes a growing one flower.
	Water = actor.NewMethod("water", func(f *Flower, c *actor.Ctx, _ struct{}) (int, error) {
		f.water++
		f.say("%s is watered (%d/%d)", f.name, f.water, thirst)
		if f.State() == Growing && f.water >= thirst {
			return f.water, f.Goto(c, Flowering)
		}
		return f.water, nil
	})
	// Pick picks a flower: only a flowering one can be.
	Pick = actor.NewMethod("pick", func(f *Flower, c *actor.Ctx, _ struct{}) (Phase, error) {
		err := f.Goto(c, Dead, true)
		return f.State(), err
	})
)

// define is the flower's lifecycle. Flowering admits only Water and Pick.
func define() (*fsm.Definition[*Flower, Phase], error) {
	return fsm.Define[*Flower]("flower", Sprouting,
		fsm.State(Sprouting, sprout, fsm.To(Growing)),
		fsm.State(Growing, grow, fsm.To(Flowering, Withering), fsm.Timeout(season, Withering)),
		fsm.State(Flowering, bloom, fsm.To(Dead, Withering), fsm.Timeout(season, Withering), fsm.Admit(Water, Pick)),
		fsm.State(Withering, wither, fsm.To(Dead)),
		fsm.StateArg(Dead, die, fsm.Terminal()),
	)
}

func run(w io.Writer) error {
	flower, err := define()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "The flower's lifecycle:\n\n%s\n", flower.Mermaid())

	rt, err := troupe.New()
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.Background())
	say := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	ctx := context.Background()

	// A rose is watered, refuses to be picked too early, flowers, is picked.
	rose, err := fsm.Spawn(rt, flower, &Flower{name: "rose", say: say})
	if err != nil {
		return err
	}
	if _, err := Water.Call(ctx, rose, struct{}{}); err != nil {
		return err
	}
	if _, err := Pick.Call(ctx, rose, struct{}{}); err != nil {
		say("picking the rose too early is refused: %v", err)
	}
	for range thirst - 1 {
		if _, err := Water.Call(ctx, rose, struct{}{}); err != nil {
			return err
		}
	}
	if _, err := Pick.Call(ctx, rose, struct{}{}); err != nil {
		return err
	}
	<-rose.Done()

	// A weed nobody waters withers when its growing season times out.
	weed, err := fsm.Spawn(rt, flower, &Flower{name: "weed", say: say})
	if err != nil {
		return err
	}
	start := time.Now()
	<-weed.Done()
	say("the weed lived %v", time.Since(start).Round(time.Second))
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "flower:", err)
		os.Exit(1)
	}
}
