package fsm_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Door is the state type of a door's machine.
type Door string

const (
	Closed Door = "closed"
	Open   Door = "open"
	Locked Door = "locked"
)

// Room is an actor's state: it embeds the machine.
type Room struct {
	fsm.Machine[Door]
	visits int
}

func idle(_ *Room, c *fsm.Ctx[Door]) fsm.Step[Door] { return c.Stay() }

// Push moves the door from a method handler.
var Push = actor.NewMethod("push", func(r *Room, c *actor.Ctx, to Door) (Door, error) {
	err := r.Goto(c, to)
	return r.State(), err
})

func ExampleSpawn() {
	rt, err := troupe.New()
	if err != nil {
		panic(err)
	}
	defer rt.Shutdown(context.Background())

	door, err := fsm.Define[*Room]("door", Closed,
		fsm.State(Closed, idle, fsm.To(Open, Locked)),
		fsm.State(Open, func(r *Room, c *fsm.Ctx[Door]) fsm.Step[Door] {
			r.visits++
			return c.Stay()
		}, fsm.To(Closed)),
		fsm.State(Locked, idle, fsm.To(Closed)),
		fsm.OnEnter(func(r *Room, _ *actor.Ctx, t fsm.Transition[Door]) { fmt.Println("enter", t.To) }),
	)
	if err != nil {
		panic(err)
	}
	ref, err := fsm.Spawn(rt, door, &Room{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	fmt.Println(Push.Call(ctx, ref, Open))
	state, err := Push.Call(ctx, ref, Locked) // open → locked is not declared
	fmt.Println(state, errors.Is(err, fsm.ErrInvalidTransition), err)
	// Output:
	// enter closed
	// enter open
	// open <nil>
	// open true door: open → locked: fsm: invalid transition
}

// Light is the state type of a traffic light.
type Light string

const (
	Red    Light = "red"
	Green  Light = "green"
	Yellow Light = "yellow"
	Dark   Light = "dark"
)

type Lamp struct{ fsm.Machine[Light] }

func shine(_ *Lamp, c *fsm.Ctx[Light]) fsm.Step[Light] { return c.Stay() }

var Switch = actor.NewMethod("switch", func(l *Lamp, c *actor.Ctx, to Light) (Light, error) {
	return to, l.Goto(c, to)
})

func ExampleDefinition_Mermaid() {
	traffic, err := fsm.Define[*Lamp]("traffic", Red,
		fsm.State(Red, shine, fsm.To(Green, Dark), fsm.Timeout(30*time.Second, Green)),
		fsm.State(Green, shine, fsm.To(Yellow, Dark), fsm.Timeout(25*time.Second, Yellow)),
		fsm.State(Yellow, shine, fsm.To(Red, Dark), fsm.Timeout(5*time.Second, Red)),
		fsm.State(Dark, shine, fsm.Terminal(), fsm.Admit(Switch)),
	)
	if err != nil {
		panic(err)
	}
	fmt.Print(traffic.Mermaid())
	// Output:
	// ---
	// title: traffic
	// ---
	// stateDiagram-v2
	//     [*] --> red
	//     red --> green: after 30s
	//     red --> dark
	//     green --> yellow: after 25s
	//     green --> dark
	//     yellow --> red: after 5s
	//     yellow --> dark
	//     dark --> [*]
	//     note right of dark: admits switch
}

func ExampleDefine() {
	_, err := fsm.Define[*Lamp]("broken", Red,
		fsm.State(Red, shine, fsm.To(Green)),
		fsm.State(Green, shine, fsm.To(Blue)), // Blue is not a state
		fsm.State(Yellow, shine, fsm.To(Red)), // nothing leads here
	)
	fmt.Println(errors.Is(err, fsm.ErrUnknownTarget), errors.Is(err, fsm.ErrUnreachable))
	fmt.Println(err)
	// Output:
	// true true
	// fsm: definition "broken" has 2 problem(s):
	// 	fsm: unknown target: state green: exit blue is not a declared state
	// 	fsm: unreachable state: state yellow cannot be reached from red
}

const Blue Light = "blue"
