package actor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
)

// The timers model test drives, over many seeds, in a synctest bubble, one
// actor that arms, re-arms and cancels keyed timers (After and Every, from
// calls, casts and its own ticks), has an idle timeout (counted by every
// message, or by TouchIdle only), handles calls and casts that panic at
// random (restarted after a backoff within a budget, or resumed), calls
// Ctx.Stop at random, and is stopped or killed from outside at a random
// moment (often during a restart's backoff). Invariants (from the docs of
// After, Every, CancelTimer, WithIdleTimeout, IdleOnTouch, Supervision,
// Ref.Stop and Ref.Kill, and guarantees 8 and 9):
//
//   - a timer's tick runs no sooner than its delay (the k-th tick of an
//     Every no sooner than k periods), at most once for an After, never
//     once its key was cancelled or re-armed, never once the stop began
//     (Ctx.Stop on an earlier turn, a Kill, an external Stop's request,
//     a spent budget), never on a state other than the one that armed it
//     (the old state's timers die with a restart);
//   - CancelTimer reports exactly whether the key had a live timer; After
//     and Every return ErrStopped once the stop began, nil before;
//   - the idle method runs only as a cast queued at some moment when the
//     actor had handled no message (with IdleOnTouch: seen no TouchIdle)
//     for d, behind what was queued before it (which may run later, after
//     a restart's backoff: see idleDecidableLocked); with IdleOnTouch at
//     most once per idle spell (no more runs than TouchIdle calls plus one); and it does
//     run once the actor is quiet for d (plus the wheel's ticks);
//   - a restart's fresh state is made no sooner than its backoff (Backoff
//     doubled per restart, capped by MaxBackoff) after the panic, and no
//     more than a few ticks later; past MaxRestarts the actor stops;
//   - each call gets one outcome, by its deadline plus a tick: its value
//     (the handler returned it), a *PanicError (its handler panicked),
//     ErrStopped (the stop began, and its handler did not return), or a
//     timeout (no sooner than the deadline, its handler did not return
//     before);
//   - a Stop or Kill ends (Done) within a few ticks, also during a backoff,
//     and no handler runs after a Kill; the bubble ends.
func TestTimersModelRandom(t *testing.T) {
	seeds := 2000
	if testing.Short() {
		seeds = 200
	}
	for seed := range testkit.Seeds(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			bubble(t, func(t *testing.T) { runTimersModel(t, seed) })
		})
	}
	tmStats.mu.Lock()
	t.Logf("exercised: %v", tmStats.n)
	tmStats.mu.Unlock()
}

var tmStats struct {
	mu sync.Mutex
	n  map[string]int
}

func tmCount(what string) {
	tmStats.mu.Lock()
	defer tmStats.mu.Unlock()
	if tmStats.n == nil {
		tmStats.n = map[string]int{}
	}
	tmStats.n[what]++
}

const tmTick = time.Millisecond

type tmState struct {
	m   *tmModel
	inc int
}

type tmArmReq struct {
	key   string
	d     time.Duration
	every bool
	panic bool
	touch bool
	sent  time.Time // when the driver sent it (zero from a tick)
}

type tmCancelReq struct {
	key  string
	sent time.Time
}

type tmWorkReq struct {
	sent  time.Time
	id    int
	panic bool
	stop  bool
	touch bool
}

var (
	tmArm = actor.NewMethod("tmarm", func(s *tmState, x *actor.Ctx, r tmArmReq) (struct{}, error) {
		s.m.handler(s, "tmarm", r.sent)
		s.m.arm(s, x, r)
		if r.touch {
			s.m.touch(x, r.sent)
		}
		if r.panic {
			s.m.panicking("tmarm")
			panic("tm: arm")
		}
		return struct{}{}, nil
	})
	tmTickM = actor.NewMethod("tmtick", func(s *tmState, x *actor.Ctx, id int) (struct{}, error) {
		s.m.handler(s, "tmtick", time.Time{})
		s.m.tick(s, x, id)
		return struct{}{}, nil
	})
	tmCancel = actor.NewMethod("tmcancel", func(s *tmState, x *actor.Ctx, r tmCancelReq) (struct{}, error) {
		s.m.handler(s, "tmcancel", r.sent)
		s.m.cancel(x, r.key)
		return struct{}{}, nil
	})
	tmQuiet = actor.NewMethod("tmquiet", func(s *tmState, x *actor.Ctx, sent time.Time) (struct{}, error) {
		s.m.handler(s, "tmquiet", sent)
		for _, k := range tmKeys {
			s.m.cancel(x, k)
		}
		s.m.touch(x, sent)
		return struct{}{}, nil
	})
	tmWork = actor.NewMethod("tmwork", func(s *tmState, x *actor.Ctx, r tmWorkReq) (int, error) {
		s.m.handler(s, "tmwork", r.sent)
		if r.touch {
			s.m.touch(x, r.sent)
		}
		if r.stop {
			x.Stop()
			s.m.mu.Lock()
			s.m.stopBegan = true
			s.m.mu.Unlock()
		}
		if r.panic {
			s.m.mu.Lock()
			s.m.panicked[r.id] = true
			s.m.mu.Unlock()
			s.m.panicking("tmwork")
			panic("tm: work")
		}
		s.m.mu.Lock()
		s.m.returned[r.id] = time.Now()
		s.m.mu.Unlock()
		return 2*r.id + 1, nil
	})
	tmIdle = actor.NewMethod("tmidle", func(s *tmState, x *actor.Ctx, _ int) (struct{}, error) {
		s.m.idle(s)
		return struct{}{}, nil
	})
)

var tmKeys = []string{"a", "b", "c"}

type tmArming struct {
	key   string
	at    time.Time
	d     time.Duration
	every bool
	inc   int
	fired int
	ended bool // cancelled, re-armed or died with its state
}

type tmModel struct {
	t   *testing.T
	rng *rand.Rand // guarded by mu

	tickM *actor.Method[*tmState, int, struct{}] // tmTickM (a field: the methods' initializers would form a cycle)

	mu       sync.Mutex
	armings  []*tmArming
	live     map[string]int // key → arming, of the current state
	inc      int            // the current state's incarnation (1 for the first)
	restart  bool
	sup      actor.Supervision
	panics   int
	pending  *tmPending // a planned restart
	touched  bool       // IdleOnTouch
	idleD    time.Duration
	spawned  time.Time
	acts     []tmAct // messages handled, TouchIdle calls, see actLocked
	idleRuns int
	idleAt   time.Time // the last idle run

	stopBegan bool      // Ctx.Stop ran, or the budget was spent
	extStop   bool      // an external Stop or Kill was asked for (set before)
	extAt     time.Time // when
	killed    bool
	panicked  map[int]bool
	returned  map[int]time.Time
	nextID    int
}

type tmPending struct {
	at      time.Time
	backoff time.Duration
}

// logf traces the run with TM_TRACE set (for a failing seed).
func (m *tmModel) logf(format string, args ...any) {
	if os.Getenv("TM_TRACE") != "" {
		m.t.Logf("%v: "+format, append([]any{time.Now().Format(".000000")}, args...)...)
	}
}

func (m *tmModel) intn(n int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rng.IntN(n)
}

func (m *tmModel) chance(pct int) bool { return m.intn(100) < pct }

func (m *tmModel) dur(ms int) time.Duration {
	return time.Duration(m.intn(ms*10+1)) * time.Millisecond / 10
}

// handler is every handler but the idle method's, at its start: it runs
// on the current state, never after a kill, and is activity.
func (m *tmModel) handler(s *tmState, name string, sent time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.logf("%s on #%d", name, s.inc)
	if s.inc != m.inc {
		m.t.Errorf("%s ran on state #%d, the current one is #%d", name, s.inc, m.inc)
	}
	if m.killed && now.After(m.extAt) {
		m.t.Errorf("%s ran at %v, after the Kill at %v", name, now, m.extAt)
	}
	m.actLocked(now, sent, !m.touched)
}

// actLocked records a message handled at now, sent at sent (zero: at now),
// and whether it is activity for the idle count.
func (m *tmModel) actLocked(now, sent time.Time, act bool) {
	if sent.IsZero() {
		sent = now
	}
	m.acts = append(m.acts, tmAct{at: now, sent: sent, act: act})
}

type tmAct struct {
	at, sent time.Time
	act      bool
}

// idleDecidable reports whether an idle cast running at now can have been
// queued at some moment q <= now with the actor quiet for d before q: no
// activity handled in (q-d, q), and every message handled from q on (before
// this run, which came after them in the mailbox) sent no later than q. A
// message sent before the cast may run long after it was queued, after a
// restart's backoff.
func (m *tmModel) idleDecidableLocked(now time.Time) bool {
	cands := []time.Time{now, m.spawned.Add(m.idleD)}
	for _, a := range m.acts {
		cands = append(cands, a.at.Add(m.idleD), a.sent)
	}
	for _, q := range cands {
		if q.After(now) || q.Before(m.spawned.Add(m.idleD)) {
			continue
		}
		ok := true
		for _, a := range m.acts {
			if a.act && a.at.After(q.Add(-m.idleD)) && a.at.Before(q) || !a.at.Before(q) && a.sent.After(q) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (m *tmModel) touch(x *actor.Ctx, sent time.Time) {
	x.TouchIdle()
	m.logf("touch")
	if m.touched {
		m.mu.Lock()
		m.actLocked(time.Now(), sent, true)
		m.mu.Unlock()
	}
}

func (m *tmModel) stoppingLocked() bool { return m.stopBegan || m.extStop }

func (m *tmModel) arm(s *tmState, x *actor.Ctx, r tmArmReq) {
	m.mu.Lock()
	id := len(m.armings)
	m.mu.Unlock()
	var err error
	if r.every && r.d == 0 {
		r.d = tmTick / 10
	}
	if r.every {
		err = actor.Every(x, r.key, r.d, m.tickM, id)
	} else {
		err = actor.After(x, r.key, r.d, m.tickM, id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case err == nil && m.stopBegan:
		m.t.Errorf("arm %q: nil once the stop began (Ctx.Stop or a spent budget)", r.key)
	case errors.Is(err, actor.ErrStopped) && !m.stoppingLocked():
		m.t.Errorf("arm %q: %v before any stop", r.key, err)
	case err != nil && !errors.Is(err, actor.ErrStopped):
		m.t.Errorf("arm %q: %v", r.key, err)
	}
	if err != nil {
		return
	}
	if old, ok := m.live[r.key]; ok {
		m.armings[old].ended = true
	}
	m.live[r.key] = id
	m.armings = append(m.armings, &tmArming{key: r.key, at: time.Now(), d: r.d, every: r.every, inc: s.inc})
	tmCount("armed")
}

func (m *tmModel) cancel(x *actor.Ctx, key string) {
	got := x.CancelTimer(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	id, want := m.live[key]
	if got != want && !m.stoppingLocked() {
		m.t.Errorf("CancelTimer(%q) = %v, want %v", key, got, want)
	}
	if want {
		m.armings[id].ended = true
		delete(m.live, key)
		tmCount("cancelled")
	}
}

func (m *tmModel) tick(s *tmState, x *actor.Ctx, id int) {
	m.mu.Lock()
	now := time.Now()
	a := m.armings[id]
	switch {
	case a.inc != s.inc:
		m.t.Errorf("tick of timer %d (%q, armed by state #%d) ran on state #%d", id, a.key, a.inc, s.inc)
	case m.stopBegan:
		m.t.Errorf("tick of timer %d (%q) ran once the stop began", id, a.key)
	case m.extStop && !m.killed && now.After(m.extAt):
		m.t.Errorf("tick of timer %d (%q) ran at %v, after the Stop asked at %v", id, a.key, now, m.extAt)
	case a.ended:
		m.t.Errorf("tick of timer %d (%q) ran after it was cancelled, re-armed or restarted", id, a.key)
	case !a.every && a.fired > 0:
		m.t.Errorf("After %d (%q) ticked twice", id, a.key)
	}
	a.fired++
	need := a.d
	if a.every {
		need = time.Duration(a.fired) * a.d
	}
	if early := a.at.Add(need).Sub(now); early > 0 {
		m.t.Errorf("tick %d of timer %d (%q, d %v) ran %v early", a.fired, id, a.key, a.d, early)
	}
	if !a.every {
		delete(m.live, a.key)
	}
	tmCount("ticked")
	act := m.rng.IntN(10)
	m.mu.Unlock()
	switch act {
	case 0: // re-arm the same key from its own tick
		m.arm(s, x, tmArmReq{key: a.key, d: m.dur(15), every: m.chance(30)})
	case 1: // cancel its own key
		m.cancel(x, a.key)
	}
}

func (m *tmModel) idle(s *tmState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.logf("idle on #%d", s.inc)
	if !m.idleDecidableLocked(now) {
		m.t.Errorf("idle method ran at %v, with no moment quiet for its %v before it (touched %v)", now.Sub(m.spawned), m.idleD, m.touched)
	}
	if m.touched {
		// One cast per idle spell, which begins at spawn or a TouchIdle.
		// (Two casts may run back to back: one queued during a restart's
		// backoff, the next after a touch on a fresh state that then
		// panicked.)
		touches := 0
		for _, a := range m.acts {
			if a.act {
				touches++
			}
		}
		if m.idleRuns >= 1+touches {
			m.t.Errorf("idle method ran %d times, with %d TouchIdle (IdleOnTouch: once per idle spell)", m.idleRuns+1, touches)
		}
	}
	m.idleRuns++
	if m.killed && now.After(m.extAt) {
		m.t.Errorf("idle method ran at %v, after the Kill at %v", now, m.extAt)
	}
	m.idleAt = now
	tmCount("idle")
}

// panicking is a handler about to panic: a restart is planned (with its
// backoff), or the budget is spent and the actor stops.
func (m *tmModel) panicking(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tmCount("panic")
	m.logf("%s panics", name)
	if !m.restart {
		return
	}
	m.panics++
	if m.panics > m.sup.MaxRestarts {
		m.stopBegan = true
		tmCount("budget spent")
		return
	}
	b := m.sup.Backoff
	for range m.panics - 1 {
		b *= 2
		if b > m.sup.MaxBackoff {
			break
		}
	}
	b = min(b, m.sup.MaxBackoff)
	m.pending = &tmPending{at: time.Now(), backoff: b}
}

func (m *tmModel) factory() *tmState {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.logf("factory")
	if m.inc > 0 {
		p := m.pending
		switch {
		case p == nil:
			m.t.Errorf("state #%d made with no restart planned", m.inc+1)
		case m.stoppingLocked():
			// A stop may cut the backoff short.
		case now.Before(p.at.Add(p.backoff)):
			m.t.Errorf("restart %d after %v, before its backoff %v", m.panics, now.Sub(p.at), p.backoff)
		case now.After(p.at.Add(p.backoff + 3*tmTick)):
			m.t.Errorf("restart %d after %v, its backoff is %v", m.panics, now.Sub(p.at), p.backoff)
		}
		for _, id := range m.live {
			m.armings[id].ended = true
		}
		clear(m.live)
		m.pending = nil
		tmCount("restarted")
	}
	m.inc++
	return &tmState{m: m, inc: m.inc}
}

// call makes one call of tmWork and checks its outcome.
func (m *tmModel) call(ref *actor.Ref[*tmState]) {
	m.mu.Lock()
	id := m.nextID
	m.nextID++
	req := tmWorkReq{sent: time.Now(), id: id, panic: m.rng.IntN(6) == 0, stop: m.rng.IntN(40) == 0, touch: m.rng.IntN(2) == 0}
	d := time.Duration(m.rng.IntN(60)+1) * time.Millisecond
	stopping := m.stoppingLocked()
	m.mu.Unlock()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	v, err := tmWork.Call(ctx, ref, req)
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if late := now.Sub(start.Add(d)); late > 2*tmTick {
		m.t.Errorf("call %d returned %v after its deadline", id, late)
	}
	ret, returned := m.returned[id]
	var pe *actor.PanicError
	switch {
	case err == nil:
		if v != 2*id+1 || !returned {
			m.t.Errorf("call %d: %d, nil; handler returned %v", id, v, returned)
		}
		tmCount("call ok")
	case errors.Is(err, actor.ErrStopped):
		if !m.stoppingLocked() && !stopping {
			m.t.Errorf("call %d: %v before any stop", id, err)
		}
		if returned {
			m.t.Errorf("call %d: %v, but its handler returned", id, err)
		}
		tmCount("call stopped")
	case errors.As(err, &pe) && !errors.Is(err, actor.ErrStopped):
		if !m.panicked[id] {
			m.t.Errorf("call %d: %v, its handler did not panic", id, err)
		}
		tmCount("call panic")
	case errors.Is(err, context.DeadlineExceeded):
		if now.Before(start.Add(d)) {
			m.t.Errorf("call %d: %v %v before its deadline", id, err, start.Add(d).Sub(now))
		}
		if returned && ret.Before(start.Add(d)) {
			m.t.Errorf("call %d: %v, but its handler returned before the deadline", id, err)
		}
		tmCount("call timeout")
	default:
		m.t.Errorf("call %d: %v", id, err)
	}
}

func (m *tmModel) cast(ref *actor.Ref[*tmState]) {
	var err error
	switch m.intn(4) {
	case 0, 1:
		err = tmArm.Cast(ref, tmArmReq{sent: time.Now(), key: tmKeys[m.intn(len(tmKeys))], d: m.dur(25), every: m.chance(30), panic: m.chance(10), touch: m.chance(30)})
	case 2:
		err = tmCancel.Cast(ref, tmCancelReq{key: tmKeys[m.intn(len(tmKeys))], sent: time.Now()})
	case 3:
		m.mu.Lock()
		id := m.nextID
		m.nextID++
		m.mu.Unlock()
		err = tmWork.Cast(ref, tmWorkReq{sent: time.Now(), id: id, panic: m.chance(20), touch: m.chance(30)})
	}
	if err != nil && !errors.Is(err, actor.ErrStopped) {
		m.t.Errorf("cast: %v", err)
	}
}

func runTimersModel(t *testing.T, seed uint64) {
	m := &tmModel{
		t: t, rng: rand.New(rand.NewPCG(seed, 0x717e)),
		tickM: tmTickM, live: map[string]int{}, panicked: map[int]bool{}, returned: map[int]time.Time{},
	}
	rt, err := troupe.New(troupe.WithDeadLetterHook((&recorder{}).Hook), troupe.WithTick(tmTick))
	if err != nil {
		t.Fatal(err)
	}
	shut := sync.OnceFunc(func() { testkitShutdown(t, rt) })
	defer shut()

	m.restart = m.chance(60)
	m.touched = m.chance(30)
	m.idleD = 3*time.Millisecond + m.dur(30)
	m.spawned = time.Now()
	opts := []actor.Option{actor.WithIdleTimeout(m.idleD, tmIdle, 0)}
	if m.touched {
		opts = append(opts, actor.IdleOnTouch())
	}
	var ref *actor.Ref[*tmState]
	if m.restart {
		m.sup = actor.Supervision{Directive: actor.Restart, MaxRestarts: 1 + m.intn(8), Window: time.Hour,
			Backoff: time.Millisecond + m.dur(20), MaxBackoff: 5*time.Millisecond + m.dur(60)}
		ref, err = actor.SpawnFunc(rt, m.factory, append(opts, actor.WithSupervision(m.sup))...)
	} else {
		if m.chance(50) {
			opts = append(opts, actor.WithSupervision(actor.Supervision{Directive: actor.Resume}))
		}
		ref, err = actor.Spawn(rt, m.factory(), opts...)
	}
	if err != nil {
		t.Fatal(err)
	}

	// The outside stop: a Kill, or a Stop whose ctx may end first (a
	// kill), at a random moment; or none until the end.
	var stopper sync.WaitGroup
	stopPlanned := m.chance(75)
	if stopPlanned {
		at := m.dur(150)
		kill := m.chance(40)
		stopD := time.Duration(0)
		if !kill && m.chance(30) {
			stopD = m.dur(5)
		}
		stopper.Go(func() {
			time.Sleep(at)
			m.mu.Lock()
			m.extStop, m.extAt = true, time.Now()
			if m.pending != nil {
				tmCount("stop during backoff")
			}
			m.mu.Unlock()
			if kill {
				ref.Kill()
				m.mu.Lock()
				m.killed = true
				m.mu.Unlock()
			} else {
				ctx := context.Background()
				if stopD > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, stopD)
					defer cancel()
				}
				if err := ref.Stop(ctx); err != nil {
					var se *actor.StopError
					if !errors.As(err, &se) || stopD == 0 {
						t.Errorf("Stop: %v", err)
					}
				}
			}
			select {
			case <-ref.Done():
			case <-time.After(3 * tmTick):
				t.Errorf("the actor had not stopped %v after its %s", 3*tmTick, map[bool]string{true: "Kill", false: "Stop"}[kill])
			}
		})
	}

	var drivers sync.WaitGroup
	for range 1 + m.intn(2) {
		drivers.Go(func() {
			for range 10 + m.intn(20) {
				time.Sleep(m.dur(10))
				if m.chance(35) {
					m.call(ref)
				} else {
					m.cast(ref)
				}
			}
		})
	}
	drivers.Wait()

	if !stopPlanned {
		// Quiet: no timer left, no restart pending once tmQuiet returned;
		// the idle method runs within d and a few ticks.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := tmQuiet.Call(ctx, ref, time.Now())
		cancel()
		m.mu.Lock()
		stopped := m.stopBegan
		m.mu.Unlock()
		switch {
		case err == nil:
			q := time.Now()
			time.Sleep(m.idleD + 3*tmTick)
			m.mu.Lock()
			if m.idleAt.Before(q) {
				t.Errorf("the idle method had not run %v after the actor went quiet (d %v)", m.idleD+3*tmTick, m.idleD)
			}
			m.mu.Unlock()
			tmCount("quiet idle checked")
		case errors.Is(err, actor.ErrStopped) && stopped:
		default:
			t.Errorf("tmQuiet: %v", err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		m.mu.Lock()
		m.extStop, m.extAt = true, time.Now()
		m.mu.Unlock()
		if err := ref.Stop(ctx); err != nil {
			t.Errorf("final Stop: %v", err)
		}
		cancel()
	}
	stopper.Wait()
	shut()
}
