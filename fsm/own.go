package fsm

import (
	"reflect"
	"sync"

	"github.com/troupe-go/troupe/actor"
)

// methods are the actor methods a machine uses for itself: the tick of a
// state timeout. They depend only on the state type, so the definitions of
// one S share them: Define registers no method of its own, and calling it
// often costs nothing lasting.
type methods[S any] struct {
	timeout *actor.Method[S, uint64, struct{}]
}

// ownMethods maps the reflect.Type of S to its *methods[S].
var ownMethods sync.Map

func methodsOf[S Host[P], P comparable]() *methods[S] {
	key := reflect.TypeFor[S]()
	if v, ok := ownMethods.Load(key); ok {
		return v.(*methods[S])
	}
	m := &methods[S]{
		timeout: actor.NewMethod("fsm.timeout", func(s S, c *actor.Ctx, gen uint64) (struct{}, error) {
			mc := s.machine()
			if mc.eng == nil {
				return struct{}{}, nil
			}
			return struct{}{}, mc.eng.timeout(mc, c, gen)
		}),
	}
	v, _ := ownMethods.LoadOrStore(key, m)
	return v.(*methods[S])
}
