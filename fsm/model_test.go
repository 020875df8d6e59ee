package fsm_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
)

// The model test defines, over many seeds, a machine at random from a small
// alphabet of states (and checks that random invalid definitions are
// refused with a *DefinitionError listing every problem, by sentinel),
// spawns an actor on it (Spawn, which resumes after a panic, or SpawnFunc,
// which restarts) in a synctest bubble, and lets concurrent callers send
// it the machine's methods with random deadlines: handlers that move the
// machine (to exits or not, with an argument or not), fail or panic; state
// functions that go on, stay, stop the machine or panic; state functions
// and enter callbacks that call Goto (queued); a guard that refuses or
// panics; an exit callback that panics; state timeouts that fire or are
// cut short; admit sets that hold calls; Terminal states; and a Stop or
// Kill at a random moment. Invariants (the package's and actor's docs):
//
//   - every call gets one documented outcome: its result, its handler's
//     error or *actor.PanicError, a *TransitionError, ErrTimeout within a
//     second after its deadline (never before), or ErrStopped once the
//     actor was asked to stop; a call whose handler ran got the handler's
//     outcome (ErrTimeout only if it ran past its deadline), and no call
//     ran twice;
//   - queued transitions run in the order requested, to completion;
//     a refusal or panic with no caller is a dead letter;
//   - a call runs only in a state that admits it;
//   - a refused transition is a *TransitionError whose sentinel is the one
//     the definition and the machine's state call for; the machine stays
//     in its From, and no callback ran for it;
//   - the states committed form a path of the definition from the initial
//     state; nothing moves a terminal or stopped machine;
//   - a state timeout fires only in the state that armed it, a full
//     duration after it was armed (entering the state, or a failed
//     attempt), never after a stop; and it does fire (within a second)
//     while the machine sits in the state;
//   - Stop and Kill end, and the bubble ends with nothing left running.
func TestFSMModelRandom(t *testing.T) {
	seeds := 1500
	if testing.Short() {
		seeds = 50
	}
	for seed := range testkit.Seeds(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			sp := randomSpec(rng)
			checkInvalidDefinitions(t, rng, sp)
			var dl letters
			bubble(t, func(t *testing.T, rt *troupe.Runtime) { runFSMModel(t, rng, sp, rt) }, troupe.WithDeadLetterHook(dl.Hook))
			// A refusal or panic with no caller (the initial chain's, a
			// timeout's) is a dead letter; nothing else of the machine is.
			for _, l := range dl.All() {
				if l.Method != "started" && l.Method != "fsm.timeout" {
					continue
				}
				var te *fsm.TransitionError[ms]
				var pe *actor.PanicError
				switch {
				case errors.As(l.Err, &te):
					mCount("dead letter: refused " + l.Method)
				case errors.As(l.Err, &pe) && (pe.Value == errMBoomFn || pe.Value == errMBoomGuard || pe.Value == errMBoomExit):
					mCount("dead letter: panic in " + l.Method)
				default:
					t.Errorf("dead letter %v", l)
				}
			}
		})
	}
	mStats.mu.Lock()
	t.Logf("exercised: %v", mStats.n)
	mStats.mu.Unlock()
}

// mStats counts what the seeds exercised, for the log.
var mStats struct {
	mu sync.Mutex
	n  map[string]int
}

func mCount(what string) {
	mStats.mu.Lock()
	if mStats.n == nil {
		mStats.n = map[string]int{}
	}
	mStats.n[what]++
	mStats.mu.Unlock()
}

// ms is the model's state type: 0..n-1 are declared; msUnknown is not.
type ms int

const msUnknown ms = 99

// mstate is one state of a model definition.
type mstate struct {
	name     ms
	nilFn    bool
	exits    []ms
	terminal bool
	timeouts []mtimeout
	admitSet bool
	admit    []string // method names
	wrong    bool     // admit set names a method of another actor type
	nilAdmit bool     // admit set names a nil method
	zeroAdm  bool     // admit set names a zero method, not made by NewMethod
}

type mtimeout struct {
	d  time.Duration
	to ms
}

// mspec is a model definition: its entries in declaration order.
type mspec struct {
	initial ms
	states  []mstate
	nilOpt  bool // a nil entry
}

func (sp *mspec) state(p ms) *mstate {
	for i := range sp.states {
		if sp.states[i].name == p {
			return &sp.states[i]
		}
	}
	return nil
}

func (sp *mspec) usesAdmit() bool {
	for _, s := range sp.states {
		if s.admitSet {
			return true
		}
	}
	return false
}

// admits reports whether state p runs method.
func (sp *mspec) admits(p ms, method string) bool {
	if !sp.usesAdmit() {
		return true
	}
	s := sp.state(p)
	return !s.admitSet || slices.Contains(s.admit, method)
}

var mMethodNames = []string{"m.go", "m.note", "m.fail", "m.boom"}

// randomSpec makes a valid definition of 2 to 5 states.
func randomSpec(rng *rand.Rand) mspec {
	n := 2 + rng.IntN(4)
	perm := rng.Perm(n) // perm[0] is the initial state; each later one gets a parent before it
	exits := make([][]ms, n)
	for i := 1; i < n; i++ {
		parent := perm[rng.IntN(i)]
		exits[parent] = append(exits[parent], ms(perm[i]))
	}
	for from := range n {
		for to := range n {
			if rng.IntN(4) == 0 && !slices.Contains(exits[from], ms(to)) {
				exits[from] = append(exits[from], ms(to))
			}
		}
	}
	sp := mspec{initial: ms(perm[0])}
	for _, i := range rng.Perm(n) { // declaration order
		s := mstate{name: ms(i), exits: exits[i], terminal: len(exits[i]) == 0}
		if !s.terminal && rng.IntN(5) < 2 {
			d := time.Duration(1+rng.IntN(15)) * time.Second
			if rng.IntN(4) == 0 {
				d = time.Duration(100+rng.IntN(900)) * time.Millisecond
			}
			s.timeouts = []mtimeout{{d, s.exits[rng.IntN(len(s.exits))]}}
		}
		if rng.IntN(10) < 3 {
			s.admitSet = true
			for _, m := range mMethodNames {
				if rng.IntN(2) == 0 {
					s.admit = append(s.admit, m)
				}
			}
		}
		sp.states = append(sp.states, s)
	}
	return sp
}

var (
	errMGuard     = errors.New("model: guard says no")
	errMFail      = errors.New("model: handler failed")
	errMBoomFn    = errors.New("model: state function panicked")
	errMBoomGuard = errors.New("model: guard panicked")
	errMBoomExit  = errors.New("model: OnExit panicked")
	errMBoom      = errors.New("model: handler panicked")
)

// mbot is the model's actor state: one per incarnation of the actor (a
// restart makes a new one). Its fields are used on the actor's turn only.
type mbot struct {
	fsm.Machine[ms]
	*mshared

	last    ms   // the state last committed
	entered bool // the initial state was committed
	halted  bool // a state function returned Stop
	armedAt time.Time
	commits int  // committed transitions
	enters  int  // OnEnter calls
	exits   int  // OnExit calls
	chain   int  // state functions run in the current turn's chain
	queue   []mq // the transitions requested in this chain, not yet run
	refused struct {
		from, to ms
		ok       bool
	}
}

// mshared is what the incarnations of an actor share.
type mshared struct {
	t   *testing.T
	sp  *mspec
	rng *rand.Rand // on the actor's turn only
	ins int        // incarnations that entered the initial state; on the actor's turn only

	stopAt   atomic.Int64 // fake UnixNano when Stop or Kill was asked; 0: not yet
	selfStop atomic.Bool  // a state function returned Stop

	mu  sync.Mutex
	ran map[int]int       // call id → handler runs
	at  map[int]time.Time // call id → when its handler ran
}

func (b *mshared) errorf(format string, args ...any) {
	b.t.Helper()
	b.t.Errorf("%v: "+format, append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

func (b *mshared) stopAsked() bool { return b.stopAt.Load() != 0 }

// timedOut is the state's timeout, if any.
func (b *mbot) timedOut(p ms) (mtimeout, bool) {
	s := b.sp.state(p)
	if s == nil || len(s.timeouts) == 0 {
		return mtimeout{}, false
	}
	return s.timeouts[0], true
}

// handlerStart checks what every handler checks on its turn.
func (b *mbot) handlerStart(method string, id int) {
	b.mu.Lock()
	b.ran[id]++
	b.at[id] = time.Now()
	if b.ran[id] > 1 {
		b.errorf("call %d (%s) ran %d times", id, method, b.ran[id])
	}
	b.mu.Unlock()
	if cur := b.State(); cur != b.last || !b.entered {
		b.errorf("%s: State() = %v, entered %v; the last commit was %v", method, cur, b.entered, b.last)
	}
	if b.sp.usesAdmit() && !b.sp.state(b.last).admitSet {
		mCount("ran in a state without an admit set")
	} else if b.sp.usesAdmit() {
		mCount("ran in a state admitting it")
	}
	if !b.sp.admits(b.last, method) {
		b.errorf("call %d (%s) ran in state %v, which does not admit it", id, method, b.last)
	}
	if to, ok := b.timedOut(b.last); ok && !b.halted && !b.stopAsked() {
		if late := time.Since(b.armedAt) - to.d; late > time.Second {
			b.errorf("state %v's timeout of %v armed at %v is %v overdue", b.last, to.d, b.armedAt.Format("15:04:05.000"), late)
		}
	}
	b.chain = 0
	b.refused.ok = false
	b.queue = b.queue[:0]
}

// mfn is every state's function: it commits (in the model) and decides
// the next step, or panics.
func mfn(b *mbot, c *fsm.Ctx[ms]) fsm.Step[ms] {
	tr := c.Transition()
	b.chain++
	r := b.rng.IntN(100)
	if r < 4 && !tr.Initial {
		panic(errMBoomFn)
	}
	// The machine commits tr.To once this returns.
	if !tr.Initial && !tr.Timeout {
		if len(b.queue) == 0 || b.queue[0].to != tr.To {
			b.errorf("transition %v → %v runs; the requests queued are %v", tr.From, tr.To, b.queue)
		} else {
			b.queue = b.queue[1:]
		}
	}
	switch {
	case tr.Initial:
		if b.ins++; b.ins > 1 {
			mCount("restarted")
		}
		if b.entered || tr.To != b.sp.initial || b.commits != 0 {
			b.errorf("initial entry of %v (entered %v, %d commits; initial %v)", tr.To, b.entered, b.commits, b.sp.initial)
		}
	default:
		from := b.sp.state(tr.From)
		switch {
		case !b.entered:
			b.errorf("transition %v → %v before the initial entry", tr.From, tr.To)
		case tr.From != b.last:
			b.errorf("transition from %v; the machine is in %v", tr.From, b.last)
		case b.halted || from.terminal:
			b.errorf("transition %v → %v out of a terminal or stopped state (halted %v)", tr.From, tr.To, b.halted)
		case !slices.Contains(from.exits, tr.To):
			b.errorf("transition %v → %v is not an exit (exits %v)", tr.From, tr.To, from.exits)
		}
	}
	if b.rng.IntN(20) == 0 && b.chain < 6 { // queued behind this transition
		to := ms(b.rng.IntN(len(b.sp.states)))
		b.queue = append(b.queue, mq{to, false})
		if err := b.Goto(c.Actor(), to); err != nil {
			b.errorf("Goto(%v) from a state function: %v; want nil (queued)", to, err)
		}
		mCount("Goto from a state function")
	}
	b.last, b.entered = tr.To, true
	b.commits++
	b.armedAt = time.Now()
	switch {
	case r < 8:
		mCount("stop step")
		b.halted = true
		b.selfStop.Store(true)
		return c.Stop()
	case r < 35 && b.chain < 6:
		to := ms(b.rng.IntN(len(b.sp.states) + 1))
		if int(to) == len(b.sp.states) {
			to = msUnknown
		}
		arg := b.rng.IntN(10) == 0
		b.queue = append(b.queue, mq{to, arg})
		if arg {
			return c.Goto(to, "arg")
		}
		return c.Goto(to)
	}
	return c.Stay()
}

func mguard(b *mbot, tr fsm.Transition[ms]) error {
	from := b.sp.state(tr.From)
	if tr.From != b.last || from == nil || !slices.Contains(from.exits, tr.To) || b.halted || from.terminal {
		b.errorf("guard asked for %v → %v in %v (halted %v)", tr.From, tr.To, b.last, b.halted)
	}
	if tr.Timeout {
		to, ok := b.timedOut(tr.From)
		switch {
		case !ok || tr.To != to.to:
			b.errorf("timeout %v → %v; the state's timeout is %+v", tr.From, tr.To, to)
		case time.Since(b.armedAt) < to.d:
			b.errorf("state %v's timeout of %v fired %v after it was armed", tr.From, to.d, time.Since(b.armedAt))
		}
		if at := b.stopAt.Load(); at != 0 && time.Now().UnixNano() > at {
			b.errorf("state %v's timeout fired %v after the stop", tr.From, time.Duration(time.Now().UnixNano()-at))
		}
		mCount("timeout fired")
		b.armedAt = time.Now() // retried a full timeout later if this fails
		b.queue = b.queue[:0]  // a new chain
	}
	switch r := b.rng.IntN(100); {
	case r < 3:
		panic(errMBoomGuard)
	case r < 10:
		b.refused.from, b.refused.to, b.refused.ok = tr.From, tr.To, true
		return errMGuard
	}
	return nil
}

// mq is a requested transition, as the model queues it.
type mq struct {
	to  ms
	arg bool
}

type mreq struct {
	id  int
	to  ms
	arg bool
}

var (
	mGo = actor.NewMethod("m.go", func(b *mbot, c *actor.Ctx, r mreq) (ms, error) {
		b.handlerStart("m.go", r.id)
		before, commits, enters, exits := b.last, b.commits, b.enters, b.exits
		b.queue = append(b.queue, mq{r.to, r.arg})
		var err error
		if r.arg {
			err = b.Goto(c, r.to, 1)
		} else {
			err = b.Goto(c, r.to)
		}
		if b.State() != b.last {
			b.errorf("after Goto: State() = %v; the last commit was %v", b.State(), b.last)
		}
		n := b.commits - commits
		if b.enters-enters != n || b.exits-exits != n {
			b.errorf("Goto %v → %v: %d commits, %d enter and %d exit callbacks", before, r.to, n, b.enters-enters, b.exits-exits)
		}
		if err == nil {
			if n == 0 {
				b.errorf("Goto %v → %v returned nil and moved nothing", before, r.to)
			}
			return b.State(), nil
		}
		var te *fsm.TransitionError[ms]
		if !errors.As(err, &te) {
			b.errorf("Goto %v → %v: %v; want a *TransitionError", before, r.to, err)
			return b.State(), err
		}
		if n == 0 && (te.From != before || te.To != r.to) {
			b.errorf("Goto %v → %v refused as %v → %v", before, r.to, te.From, te.To)
		}
		if len(b.queue) == 0 || b.queue[0].to != te.To {
			b.errorf("refused %v → %v; the requests queued are %v", te.From, te.To, b.queue)
			return b.State(), err
		}
		b.checkRefusal(te, b.queue[0].arg)
		return b.State(), err
	})
	mNote = actor.NewMethod("m.note", func(b *mbot, c *actor.Ctx, id int) (ms, error) {
		b.handlerStart("m.note", id)
		return b.State(), nil
	})
	mFail = actor.NewMethod("m.fail", func(b *mbot, c *actor.Ctx, id int) (ms, error) {
		b.handlerStart("m.fail", id)
		return b.State(), errMFail
	})
	mBoom = actor.NewMethod("m.boom", func(b *mbot, c *actor.Ctx, id int) (ms, error) {
		b.handlerStart("m.boom", id)
		panic(errMBoom)
	})
	mMethods = map[string]actor.Admitter{"m.go": mGo, "m.note": mNote, "m.fail": mFail, "m.boom": mBoom}
)

// checkRefusal checks a refused transition against the model: the
// machine stays in te.From, and the sentinel is the one called for.
func (b *mbot) checkRefusal(te *fsm.TransitionError[ms], hadArg bool) {
	if te.From != b.last || b.State() != te.From {
		b.errorf("refused %v → %v, but the machine is in %v (model %v)", te.From, te.To, b.State(), b.last)
	}
	from := b.sp.state(te.From)
	var want error
	switch {
	case b.halted || from.terminal:
		want = fsm.ErrTerminal
	case !slices.Contains(from.exits, te.To):
		want = fsm.ErrInvalidTransition
	case hadArg:
		want = fsm.ErrBadArgument
	case b.refused.ok && b.refused.from == te.From && b.refused.to == te.To:
		want = fsm.ErrGuard
	}
	if want == nil || !errors.Is(te, want) {
		b.errorf("refused %v → %v with %v; want %v", te.From, te.To, te.Err, want)
	}
	if want == fsm.ErrGuard && !errors.Is(te, errMGuard) {
		b.errorf("guard refusal %v does not wrap the guard's error", te)
	}
	for _, s := range []error{fsm.ErrTerminal, fsm.ErrInvalidTransition, fsm.ErrBadArgument, fsm.ErrGuard} {
		if s != want && errors.Is(te, s) {
			b.errorf("refusal %v also matches %v", te, s)
		}
	}
}

// options turns a model definition into Define's entries.
func (sp *mspec) options(rng *rand.Rand) []fsm.Option[*mbot, ms] {
	var opts []fsm.Option[*mbot, ms]
	for _, s := range sp.states {
		var so []fsm.StateOption
		if len(s.exits) > 0 {
			so = append(so, fsm.To(s.exits...))
		}
		for _, to := range s.timeouts {
			so = append(so, fsm.Timeout(to.d, to.to))
		}
		if s.admitSet {
			var ad []actor.Admitter
			for _, m := range s.admit {
				ad = append(ad, mMethods[m])
			}
			if s.wrong {
				ad = append(ad, Note) // a method of *bot
			}
			if s.nilAdmit {
				ad = append(ad, nil)
			}
			if s.zeroAdm {
				ad = append(ad, new(actor.Method[*mbot, int, ms]))
			}
			rng.Shuffle(len(ad), func(i, j int) { ad[i], ad[j] = ad[j], ad[i] })
			so = append(so, fsm.Admit(ad...))
		}
		if s.terminal {
			so = append(so, fsm.Terminal())
		}
		rng.Shuffle(len(so), func(i, j int) { so[i], so[j] = so[j], so[i] })
		fn := mfn
		if s.nilFn {
			fn = nil
		}
		opts = append(opts, fsm.State(s.name, fn, so...))
	}
	if sp.nilOpt {
		opts = append(opts, nil)
	}
	return append(opts,
		fsm.Guard(mguard),
		fsm.OnEnter(func(b *mbot, c *actor.Ctx, _ fsm.Transition[ms]) {
			b.enters++
			if b.rng.IntN(20) == 0 && b.chain < 6 { // queued behind the running transition
				to := ms(b.rng.IntN(len(b.sp.states)))
				b.queue = append(b.queue, mq{to, false})
				if err := b.Goto(c, to); err != nil {
					b.errorf("Goto(%v) from OnEnter: %v; want nil (queued)", to, err)
				}
				mCount("Goto from OnEnter")
			}
		}),
		fsm.OnExit(func(b *mbot, _ *actor.Ctx, _ fsm.Transition[ms]) {
			if b.rng.IntN(100) == 0 {
				panic(errMBoomExit)
			}
			b.exits++
		}),
	)
}

var mSentinels = []error{
	fsm.ErrUnknownState, fsm.ErrUnknownTarget, fsm.ErrDuplicateState, fsm.ErrUnreachable,
	fsm.ErrDeadEnd, fsm.ErrTerminalExits, fsm.ErrTimeoutTarget, fsm.ErrNilStateFunc,
	fsm.ErrInvalidOption, fsm.ErrWrongActor, fsm.ErrNegativeDuration,
}

// expectedProblems lists, by sentinel, the problems Define's doc calls for.
func (sp *mspec) expectedProblems() map[error]int {
	want := map[error]int{}
	first := map[ms]*mstate{}
	var order []ms
	for i := range sp.states {
		s := &sp.states[i]
		if first[s.name] != nil {
			want[fsm.ErrDuplicateState]++
		} else {
			first[s.name] = s
			order = append(order, s.name)
		}
	}
	if sp.nilOpt {
		want[fsm.ErrInvalidOption]++
	}
	for _, s := range sp.states {
		if s.nilFn {
			want[fsm.ErrNilStateFunc]++
		}
		var known []ms
		for _, e := range s.exits {
			if first[e] == nil {
				want[fsm.ErrUnknownTarget]++
			} else {
				known = append(known, e)
			}
		}
		switch {
		case s.terminal && len(s.exits) > 0:
			want[fsm.ErrTerminalExits]++
		case !s.terminal && len(s.exits) == 0:
			want[fsm.ErrDeadEnd]++
		}
		if len(s.timeouts) > 1 {
			want[fsm.ErrInvalidOption]++
		}
		for _, to := range s.timeouts {
			if to.d < 0 {
				want[fsm.ErrNegativeDuration]++
			}
			if s.terminal || !slices.Contains(known, to.to) {
				want[fsm.ErrTimeoutTarget]++
			}
		}
		if s.wrong {
			want[fsm.ErrWrongActor]++
		}
		if s.nilAdmit {
			want[fsm.ErrInvalidOption]++
		}
		if s.zeroAdm {
			want[fsm.ErrInvalidOption]++
		}
	}
	root := sp.initial
	if first[root] == nil {
		want[fsm.ErrUnknownState]++
		root = order[0]
	}
	seen := map[ms]bool{root: true}
	stack := []ms{root}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range first[p].exits {
			if first[e] != nil && !seen[e] {
				seen[e] = true
				stack = append(stack, e)
			}
		}
	}
	for _, p := range order {
		if !seen[p] {
			want[fsm.ErrUnreachable]++
		}
	}
	return want
}

// mutate breaks a valid definition in one random way.
func (sp *mspec) mutate(rng *rand.Rand) {
	i := rng.IntN(len(sp.states))
	s := &sp.states[i]
	switch rng.IntN(14) {
	case 0:
		s.exits = append(slices.Clone(s.exits), msUnknown)
	case 1:
		c := *s
		c.exits = slices.Clone(s.exits)
		sp.states = append(sp.states, c)
	case 2:
		if !s.terminal {
			s.exits, s.timeouts = nil, nil
		}
	case 3:
		if !s.terminal {
			s.terminal = true
		}
	case 4:
		to := ms(rng.IntN(len(sp.states) + 1))
		if int(to) == len(sp.states) {
			to = msUnknown
		}
		s.timeouts = []mtimeout{{time.Second, to}}
	case 5:
		s.nilFn = true
	case 6:
		if len(s.exits) > 0 && !s.terminal {
			s.timeouts = []mtimeout{{-time.Second, s.exits[0]}}
		}
	case 7:
		if len(s.exits) > 0 && !s.terminal {
			s.timeouts = []mtimeout{{time.Second, s.exits[0]}, {2 * time.Second, s.exits[0]}}
		}
	case 8:
		sp.initial = 97
	case 9:
		sp.states = append(sp.states, mstate{name: 50, exits: []ms{sp.initial}})
	case 10:
		sp.nilOpt = true
	case 11:
		s.admitSet, s.wrong = true, true
	case 12:
		s.admitSet, s.nilAdmit = true, true
	case 13:
		s.admitSet, s.zeroAdm = true, true
	}
}

func (sp mspec) clone() mspec {
	c := sp
	c.states = slices.Clone(sp.states)
	for i := range c.states {
		c.states[i].exits = slices.Clone(c.states[i].exits)
		c.states[i].timeouts = slices.Clone(c.states[i].timeouts)
		c.states[i].admit = slices.Clone(c.states[i].admit)
	}
	return c
}

// checkInvalidDefinitions defines sp (which must pass) and broken copies
// of it (which must be refused with every problem listed).
func checkInvalidDefinitions(t *testing.T, rng *rand.Rand, sp mspec) {
	t.Helper()
	d, err := fsm.Define("model", sp.initial, sp.options(rng)...)
	if err != nil {
		t.Fatalf("Define of a valid definition %+v: %v", sp, err)
	}
	for _, s := range sp.states {
		if got := d.Exits(s.name); !slices.Equal(got, s.exits) {
			t.Errorf("Exits(%v) = %v; want %v", s.name, got, s.exits)
		}
	}
	for range 3 {
		bad := sp.clone()
		for range 1 + rng.IntN(3) {
			bad.mutate(rng)
		}
		want := bad.expectedProblems()
		d, err := func() (d *fsm.Definition[*mbot, ms], err error) {
			defer func() {
				if v := recover(); v != nil {
					err = fmt.Errorf("Define panicked: %v", v)
				}
			}()
			return fsm.Define("model", bad.initial, bad.options(rng)...)
		}()
		if len(want) == 0 {
			if err != nil {
				t.Errorf("Define of %+v: %v; want no problem", bad, err)
			}
			continue
		}
		var de *fsm.DefinitionError
		if d != nil || !errors.As(err, &de) || !errors.Is(err, fsm.ErrInvalidDefinition) {
			t.Errorf("Define of %+v = %v, %v; want nil and a *DefinitionError", bad, d, err)
			continue
		}
		got := map[error]int{}
		for _, p := range de.Problems {
			var matched []error
			for _, s := range mSentinels {
				if errors.Is(p, s) {
					matched = append(matched, s)
				}
			}
			if len(matched) != 1 {
				t.Errorf("problem %q matches %d sentinels %v; want one", p, len(matched), matched)
				continue
			}
			got[matched[0]]++
		}
		for _, s := range mSentinels {
			if got[s] != want[s] {
				t.Errorf("Define of %+v: %d problem(s) %v; want %d\n%v", bad, got[s], s, want[s], err)
			}
		}
	}
}

// moutcome is a call's outcome, checked once the run ended.
type moutcome struct {
	id       int
	method   string
	err      error
	deadline time.Time
}

func runFSMModel(t *testing.T, rng *rand.Rand, sp mspec, rt *troupe.Runtime) {
	d, err := fsm.Define("model", sp.initial, sp.options(rng)...)
	if err != nil {
		t.Fatal(err)
	}
	b := &mshared{t: t, sp: &sp, rng: rand.New(rand.NewPCG(rng.Uint64(), 1)), ran: map[int]int{}, at: map[int]time.Time{}}
	var ref *actor.Ref[*mbot]
	if rng.IntN(2) == 0 {
		ref, err = fsm.Spawn(rt, d, &mbot{mshared: b}) // resumes after a panic
	} else {
		mCount("SpawnFunc")
		ref, err = fsm.SpawnFunc(rt, d, func() *mbot { return &mbot{mshared: b} },
			actor.WithSupervision(actor.Supervision{MaxRestarts: 1 << 20}))
	}
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		outcomes []moutcome
		nextID   atomic.Int64
	)
	ncallers := 1 + rng.IntN(4)
	for range ncallers {
		crng := rand.New(rand.NewPCG(rng.Uint64(), 2))
		wg.Go(func() {
			for range 1 + crng.IntN(8) {
				time.Sleep(time.Duration(crng.IntN(8000)) * time.Millisecond)
				id := int(nextID.Add(1))
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				deadline := time.Now().Add(troupe.DefaultCallTimeout)
				if crng.IntN(5) != 0 {
					deadline = time.Now().Add(time.Duration(1+crng.IntN(20000)) * time.Millisecond)
					ctx, cancel = context.WithDeadline(ctx, deadline)
				}
				method := mMethodNames[crng.IntN(len(mMethodNames))]
				var err error
				switch method {
				case "m.go":
					to := ms(crng.IntN(len(sp.states) + 1))
					if int(to) == len(sp.states) {
						to = msUnknown
					}
					_, err = mGo.Call(ctx, ref, mreq{id: id, to: to, arg: crng.IntN(8) == 0})
				case "m.note":
					_, err = mNote.Call(ctx, ref, id)
				case "m.fail":
					_, err = mFail.Call(ctx, ref, id)
				case "m.boom":
					_, err = mBoom.Call(ctx, ref, id)
				}
				cancel()
				// The outcome's preconditions, checked now, in fake time.
				switch {
				case errors.Is(err, actor.ErrTimeout):
					if now := time.Now(); now.Before(deadline) || now.Sub(deadline) > time.Second {
						t.Errorf("call %d (%s): %v at %v; its deadline was %v", id, method, err, now.Sub(start), deadline.Sub(start))
					}
				case errors.Is(err, actor.ErrStopped):
					if !b.stopAsked() && !b.selfStop.Load() {
						t.Errorf("call %d (%s): %v, but nothing asked the actor to stop", id, method, err)
					}
				}
				switch {
				case err == nil:
					mCount(method + " ok")
				case errors.Is(err, actor.ErrTimeout):
					mCount(method + " timeout")
				case errors.Is(err, actor.ErrStopped):
					mCount(method + " stopped")
				default:
					for _, s := range []error{fsm.ErrTerminal, fsm.ErrInvalidTransition, fsm.ErrBadArgument, fsm.ErrGuard} {
						if errors.Is(err, s) {
							mCount(method + " " + s.Error())
						}
					}
				}
				mu.Lock()
				outcomes = append(outcomes, moutcome{id, method, err, deadline})
				mu.Unlock()
			}
		})
	}
	kill := rng.IntN(2) == 0
	stopAfter := time.Duration(rng.IntN(90000)) * time.Millisecond
	wg.Go(func() {
		time.Sleep(stopAfter)
		b.stopAt.Store(time.Now().UnixNano())
		if kill {
			ref.Kill()
		} else if err := ref.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
		<-ref.Done()
	})
	wg.Wait()
	<-ref.Done()

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, o := range outcomes {
		ran := b.ran[o.id]
		var te *fsm.TransitionError[ms]
		var pe *actor.PanicError
		switch {
		case o.err == nil:
		case errors.Is(o.err, actor.ErrTimeout):
			if ran == 1 && b.at[o.id].Before(o.deadline) {
				t.Errorf("call %d (%s) ran at %v, before its deadline %v, but got %v", o.id, o.method, b.at[o.id].Sub(start), o.deadline.Sub(start), o.err)
			}
			continue
		case errors.Is(o.err, actor.ErrStopped):
			if ran != 0 {
				t.Errorf("call %d (%s) ran at %v, but got %v", o.id, o.method, b.at[o.id].Sub(start), o.err)
			}
			continue
		case o.method == "m.fail" && errors.Is(o.err, errMFail):
		case o.method == "m.go" && errors.As(o.err, &te):
		case errors.As(o.err, &pe):
			v, _ := pe.Value.(error)
			okv := v == errMBoomFn || v == errMBoomGuard || v == errMBoomExit
			if o.method == "m.boom" {
				okv = v == errMBoom
			} else if o.method != "m.go" {
				okv = false
			}
			if !okv {
				t.Errorf("call %d (%s): panic %v; not its handler's", o.id, o.method, pe.Value)
			}
		default:
			t.Errorf("call %d (%s): outcome %v; not a documented one", o.id, o.method, o.err)
			continue
		}
		if ran != 1 {
			t.Errorf("call %d (%s) got %v, but its handler ran %d times", o.id, o.method, o.err, ran)
		}
	}
}
