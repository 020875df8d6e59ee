package actor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
)

// The lifecycle stress test drives the edges of actors' lives at random,
// in a synctest bubble: Started and Stopping hooks that panic, Goexit,
// stop or kill their actor, spawn children or wait on their Context;
// handlers that do the same while Stop (with live, short or cancelled
// ctxs), Kill, Ctx.Stop and Shutdown come from many goroutines; restarts
// under supervision with backoffs, Terminate, budgets spent during stops.
// Then it closes the runtime and checks:
//
//   - every sync call returned once, with its own reply or a documented
//     error; every Stop, Shutdown and Close returned;
//   - every Done closed; each actor's Stopping hook ran exactly once (if
//     it has one), after its children's Done closed;
//   - every Cast ran once or became exactly one dead letter (a failed
//     one: ran once and one ReasonFailed letter).

const (
	lOK uint8 = iota
	lErr
	lPanic
	lGoexit
	lSleep     // waits d or its Context
	lDeaf      // sleeps d, deaf to its Context
	lChild     // spawns a child
	lStopSelf  // Ctx.Stop
	lKillSelf  // Self(c).Kill
	lRefStop   // Self(c).Stop with its Context: ErrCallCycle, and a graceful stop
	lCallChild // a sync call to its newest child
	lOnly      // admits only lAdmit: lwork calls are held
	lAfter     // casts itself an lwork (ID -1, mode D%lNumModes) after D
	lStopOther // stops another actor (by ID), waiting up to D with its Context
	lKillOther // kills another actor (by ID)
	lNumModes
)

const (
	hNone uint8 = iota
	hOK
	hPanic
	hGoexit
	hStop  // Ctx.Stop (Started) / waits on Context (Stopping)
	hChild // spawns a child (Started) / calls its parent (Stopping)
	hNumModes
)

type lop struct {
	ID   int64
	Mode uint8
	D    time.Duration
}

type lstress struct {
	t       *testing.T
	mu      sync.Mutex
	actors  []*lactor
	ran     map[int64]int
	casts   map[int64]string
	letters []troupe.DeadLetter
	ids     int64
	kinds   map[string]int
	wg      sync.WaitGroup
}

// lactor is one actor's record, across its restarts.
type lactor struct {
	ref      *actor.Ref[lstate]
	parent   *lactor
	kids     []*lactor
	start    uint8 // Started hook's mode
	stop     uint8 // Stopping hook's mode
	stopping int   // Stopping runs
}

type lnode struct {
	s *lstress
	a *lactor
}

// lstate is the actors' state type: a *lnode, or a *lnodeHooks with
// the lifecycle hooks (found on the dynamic value).
type lstate interface{ node() *lnode }

func (n *lnode) node() *lnode { return n }

type lnodeHooks struct{ lnode }

func (n *lnodeHooks) Started(c *actor.Ctx) {
	switch n.a.start {
	case hPanic:
		panic("started")
	case hGoexit:
		goruntime.Goexit()
	case hStop:
		c.Stop()
	case hChild:
		n.s.spawnChild(c, n.a)
	}
}

func (n *lnodeHooks) Stopping(c *actor.Ctx) {
	s := n.s
	s.mu.Lock()
	n.a.stopping++
	for _, k := range n.a.kids {
		select {
		case <-k.ref.Done():
		default:
			s.t.Errorf("%v: Stopping hook runs before child %v's Done closed", n.a.ref, k.ref)
		}
	}
	s.mu.Unlock()
	switch n.a.stop {
	case hPanic:
		panic("stopping")
	case hGoexit:
		goruntime.Goexit()
	case hStop:
		select {
		case <-c.Context().Done():
		case <-time.After(20 * time.Millisecond):
		}
	case hChild:
		if p := n.a.parent; p != nil {
			ctx, cancel := context.WithTimeout(c.Context(), 50*time.Millisecond)
			_, _ = lWork.Call(ctx, p.ref, lop{ID: -1})
			cancel()
		}
	}
}

var (
	lWork  *actor.Method[lstate, lop, int64]
	lAdmit = actor.NewMethod("ladmit", func(st lstate, c *actor.Ctx, _ int) (int, error) {
		c.AdmitAll()
		return 0, nil
	})
)

func init() {
	lWork = actor.NewMethod("lwork", func(st lstate, c *actor.Ctx, q lop) (int64, error) {
		n := st.node()
		s := n.s
		if q.ID >= 0 {
			s.mu.Lock()
			s.ran[q.ID]++
			s.mu.Unlock()
		}
		switch q.Mode {
		case lErr:
			return 0, errModel
		case lPanic:
			panic(fmt.Sprint("op ", q.ID))
		case lGoexit:
			goruntime.Goexit()
		case lSleep:
			select {
			case <-time.After(q.D):
			case <-c.Context().Done():
			}
		case lDeaf:
			time.Sleep(q.D)
		case lChild:
			s.spawnChild(c, n.a)
		case lStopSelf:
			c.Stop()
		case lKillSelf:
			actor.Self[lstate](c).Kill()
		case lRefStop:
			ctx, cancel := context.WithTimeout(c.Context(), q.D)
			err := actor.Self[lstate](c).Stop(ctx)
			cancel()
			if !errors.Is(err, actor.ErrCallCycle) {
				s.t.Errorf("Stop of itself from its handler = %v; want ErrCallCycle", err)
			}
		case lOnly:
			if err := c.Only(lAdmit); err != nil {
				s.t.Errorf("Only: %v", err)
			}
		case lAfter:
			err := actor.After(c, fmt.Sprint(q.ID), q.D, lWork, lop{ID: -1, Mode: uint8(q.D/time.Millisecond) % lNumModes, D: q.D})
			if err != nil && !errors.Is(err, actor.ErrStopped) {
				s.t.Errorf("After: %v", err)
			}
		case lStopOther, lKillOther:
			s.mu.Lock()
			o := s.actors[(uint64(q.ID)+uint64(q.D))%uint64(len(s.actors))]
			s.mu.Unlock()
			if q.Mode == lKillOther {
				o.ref.Kill()
				break
			}
			ctx, cancel := context.WithTimeout(c.Context(), q.D)
			err := o.ref.Stop(ctx)
			cancel()
			var se *actor.StopError
			if err != nil && !errors.As(err, &se) && !errors.Is(err, actor.ErrCallCycle) {
				s.t.Errorf("Stop of another actor from a handler = %v", err)
			}
		case lCallChild:
			s.mu.Lock()
			var k *lactor
			if len(n.a.kids) > 0 {
				k = n.a.kids[len(n.a.kids)-1]
			}
			s.mu.Unlock()
			if k != nil {
				ctx, cancel := context.WithTimeout(c.Context(), q.D)
				_, _ = lWork.Call(ctx, k.ref, lop{ID: -1, Mode: lSleep, D: q.D / 2})
				cancel()
			}
		}
		return q.ID, nil
	})
}

func (s *lstress) newState(a *lactor) lstate {
	if a.start == hNone && a.stop == hNone {
		return &lnode{s: s, a: a}
	}
	return &lnodeHooks{lnode{s: s, a: a}}
}

func (s *lstress) hook(d troupe.DeadLetter) {
	s.mu.Lock()
	s.letters = append(s.letters, d)
	s.mu.Unlock()
}

func (s *lstress) spawnChild(c *actor.Ctx, parent *lactor) {
	s.mu.Lock()
	a := &lactor{parent: parent, start: uint8(len(s.actors) % int(hNumModes)), stop: uint8(len(s.actors) * 7 % int(hNumModes))}
	if a.start == hChild && parent != nil && parent.parent != nil {
		a.start = hOK // bounded depth
	}
	s.mu.Unlock()
	ref, err := actor.Spawn(c, s.newState(a))
	if err != nil {
		if !errors.Is(err, actor.ErrStopped) {
			s.t.Errorf("Spawn of a child: %v", err)
		}
		return
	}
	s.mu.Lock()
	a.ref = ref
	s.actors = append(s.actors, a)
	parent.kids = append(parent.kids, a)
	s.mu.Unlock()
	s.watch(a)
}

// watch checks, once a's Done closes, that its children's had closed.
func (s *lstress) watch(a *lactor) {
	s.wg.Go(func() {
		<-a.ref.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, k := range a.kids {
			select {
			case <-k.ref.Done():
			default:
				s.t.Errorf("%v: Done closed before child %v's", a.ref, k.ref)
			}
		}
	})
}

func (s *lstress) spawnRoot(rt *troupe.Runtime, rng *rand.Rand) {
	a := &lactor{start: uint8(rng.IntN(int(hNumModes))), stop: uint8(rng.IntN(int(hNumModes)))}
	if a.stop == hChild {
		a.stop = hOK
	}
	var opts []actor.Option
	if rng.IntN(3) == 0 {
		s.mu.Lock()
		opts = append(opts, actor.WithName(fmt.Sprint("a", len(s.actors))))
		s.mu.Unlock()
	}
	if rng.IntN(4) == 0 {
		opts = append(opts, actor.WithIdleTimeout(time.Duration(1+rng.IntN(20))*time.Millisecond, lWork, lop{ID: -1, Mode: lStopSelf}))
	}
	var ref *actor.Ref[lstate]
	var err error
	switch rng.IntN(3) {
	case 0:
		ref, err = actor.Spawn(rt, s.newState(a), opts...)
	case 1:
		opts = append(opts, actor.WithSupervision(actor.Supervision{Directive: actor.Restart, MaxRestarts: 1 + rng.IntN(3),
			Backoff: time.Duration(rng.IntN(20)) * time.Millisecond}))
		ref, err = actor.SpawnFunc(rt, func() lstate { return s.newState(a) }, opts...)
	default:
		opts = append(opts, actor.WithSupervision(actor.Supervision{Directive: actor.Terminate}))
		ref, err = actor.Spawn(rt, s.newState(a), opts...)
	}
	if err != nil {
		if !errors.Is(err, actor.ErrStopped) && !errors.Is(err, actor.ErrNameTaken) {
			s.t.Errorf("Spawn: %v", err)
		}
		return
	}
	s.mu.Lock()
	a.ref = ref
	s.actors = append(s.actors, a)
	s.mu.Unlock()
	s.watch(a)
}

func (s *lstress) pick(rng *rand.Rand) *lactor {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.actors) == 0 {
		return nil
	}
	for range 4 { // mostly live ones
		if a := s.actors[rng.IntN(len(s.actors))]; !a.ref.Stopped() {
			return a
		}
	}
	return s.actors[rng.IntN(len(s.actors))]
}

func (s *lstress) op(rng *rand.Rand) lop {
	s.mu.Lock()
	s.ids++
	id := s.ids
	s.mu.Unlock()
	mode := []uint8{lOK, lOK, lOK, lSleep, lSleep, lDeaf, lChild, lChild, lCallChild, lCallChild, lErr, lAfter, lOnly, lStopOther}[rng.IntN(14)]
	if rng.IntN(4) == 0 {
		mode = uint8(rng.IntN(int(lNumModes)))
	}
	return lop{ID: id, Mode: mode, D: time.Duration(1+rng.IntN(30)) * time.Millisecond}
}

func (s *lstress) checkCall(q lop, r int64, err error) {
	s.mu.Lock()
	s.kinds[outcomeKind(err)]++
	s.mu.Unlock()
	if err == nil {
		if r != q.ID {
			s.t.Errorf("op %d: reply %d", q.ID, r)
		}
		return
	}
	var pe *actor.PanicError
	switch {
	case errors.Is(err, actor.ErrStopped), errors.Is(err, actor.ErrTimeout), errors.Is(err, context.Canceled),
		errors.Is(err, actor.ErrCallCycle), errors.Is(err, errModel):
	case errors.As(err, &pe):
	default:
		s.t.Errorf("op %d (mode %d): unexpected error %v", q.ID, q.Mode, err)
	}
}

func (s *lstress) step(rt *troupe.Runtime, rng *rand.Rand) {
	k := rng.IntN(100)
	a := s.pick(rng)
	if a == nil || k < 10 {
		s.spawnRoot(rt, rng)
		return
	}
	to := a.ref
	switch {
	case k < 45: // Call, on a goroutine
		q := s.op(rng)
		d := time.Duration(rng.IntN(3))*q.D + time.Millisecond
		s.wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), d)
			if q.ID%3 == 0 {
				ctx, cancel = context.WithCancel(context.Background()) // the runtime's call timeout
			}
			defer cancel()
			r, err := lWork.Call(ctx, to, q)
			s.checkCall(q, r, err)
		})
	case k < 48:
		s.wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			_, err := lAdmit.Call(ctx, to, 0)
			if err != nil && !errors.Is(err, actor.ErrStopped) && !errors.Is(err, actor.ErrTimeout) {
				s.t.Errorf("lAdmit: %v", err)
			}
		})
	case k < 70: // Cast
		q := s.op(rng)
		err := lWork.Cast(to, q)
		s.mu.Lock()
		s.casts[q.ID] = fmt.Sprintf("Cast to %v (mode %d): %v", to, q.Mode, err)
		s.mu.Unlock()
	case k < 75: // Stop, with a live, short or cancelled ctx
		d := []time.Duration{-1, 0, time.Millisecond, 5 * time.Millisecond, time.Hour}[rng.IntN(5)]
		n := 1 + rng.IntN(3) // from several goroutines at once
		for range n {
			s.wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), d)
				defer cancel()
				err := to.Stop(ctx)
				var se *actor.StopError
				if err != nil && !errors.As(err, &se) {
					s.t.Errorf("Stop(%v) = %v", to, err)
				}
			})
		}
	case k < 78:
		s.wg.Go(to.Kill)
	default:
		if rng.IntN(2) == 0 {
			time.Sleep(time.Duration(rng.IntN(10)) * time.Millisecond)
		}
	}
}

func runLifecycleStress(t *testing.T, seed uint64, steps int) {
	s := &lstress{t: t, ran: map[int64]int{}, casts: map[int64]string{}, kinds: map[string]int{}}
	rng := rand.New(rand.NewPCG(seed, 0x11fe))
	rt, err := troupe.New(troupe.WithDeadLetterHook(s.hook), troupe.WithCallTimeout(200*time.Millisecond),
		troupe.WithThroughput([]int{1, 3, 256}[rng.IntN(3)]), troupe.WithPoolSize([]int{1, 2, -1}[rng.IntN(3)]),
		troupe.WithErrorHook(func(err error) { t.Errorf("error hook: %v", err) }))
	if err != nil {
		t.Fatal(err)
	}
	end := steps - rng.IntN(steps/4+1) // Shutdown races the last steps
	var shut sync.WaitGroup
	for i := range steps {
		if i == end {
			d := time.Duration(rng.IntN(100)) * time.Millisecond
			graceful := rng.IntN(2) == 0
			shut.Go(func() {
				if graceful {
					// Every handler and hook here ends: a graceful stop
					// must end too, with nothing late.
					if err := rt.Shutdown(context.Background()); err != nil {
						t.Errorf("Shutdown(Background) = %v; want nil", err)
					}
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), d)
				defer cancel()
				_ = rt.Shutdown(ctx)
			})
		}
		s.step(rt, rng)
		if rng.IntN(4) == 0 {
			time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
		}
	}
	shut.Wait()
	if err := rt.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	s.wg.Wait()

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.actors {
		select {
		case <-a.ref.Done():
		default:
			t.Errorf("%v: Done not closed after Close", a.ref)
		}
		if want := 0; a.start != hNone || a.stop != hNone {
			want = 1
			if a.stopping != want {
				t.Errorf("%v (hooks %d, %d): Stopping ran %d times; want %d", a.ref, a.start, a.stop, a.stopping, want)
			}
		}
	}
	letters := map[int64][]troupe.DeadLetter{}
	for _, d := range s.letters {
		if q, ok := d.Payload.(lop); ok && q.ID >= 0 {
			letters[q.ID] = append(letters[q.ID], d)
		}
	}
	for id, how := range s.casts {
		ran, ls := s.ran[id], letters[id]
		failing := false
		var q lop
		if len(ls) > 0 {
			q = ls[0].Payload.(lop)
			failing = q.Mode == lErr || q.Mode == lPanic || q.Mode == lGoexit
		}
		switch {
		case ran == 0 && len(ls) == 1:
		case ran == 1 && len(ls) == 0:
		case ran == 1 && len(ls) == 1 && ls[0].Reason == troupe.ReasonFailed && failing:
		default:
			t.Errorf("cast %d (%s): ran %d times, dead letters %v", id, how, ran, ls)
		}
	}
	t.Logf("seed %d: %d actors, %d casts, %d dead letters, calls %v", seed, len(s.actors), len(s.casts), len(s.letters), s.kinds)
}

func TestLifecycleStress(t *testing.T) {
	for seed := range testkit.Seeds(lstressSeeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.Bubble(t, func(t *testing.T) { runLifecycleStress(t, seed, lstressSteps) })
		})
	}
}

var lstressSeeds, lstressSteps = 40, 150

func init() {
	if s := os.Getenv("LSTRESS_SEEDS"); s != "" {
		lstressSeeds, _ = strconv.Atoi(s)
	}
	if s := os.Getenv("LSTRESS_STEPS"); s != "" {
		lstressSteps, _ = strconv.Atoi(s)
	}
}
