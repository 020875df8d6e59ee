package actor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
)

// The deferred model test drives, over many seeds, in a synctest bubble,
// a few actors (some restarting after a panic, some resuming) whose
// deferred method keeps each call's Reply and answers it on its turn,
// from a later turn (a Cast that flushes the Replies kept in the state),
// from a goroutine (after a while or once Reply.Context ends), from the
// result of Go, or never; sends it twice; panics after handing it out;
// forwards the call to another actor with c.Context() (whose handler may
// call back: ErrCallCycle at once), or Asks itself and Awaits with
// c.Context() (ErrCallCycle at once). Callers use Call, Ask and Await
// (with an Await ctx that may end first) and AwaitAll, with random
// deadlines, cancels and the default call timeout; the actors are
// stopped, killed or made to panic at random times. Invariants (from
// NewDeferred's, Reply's, Future's and Go's docs and guarantees 3, 4, 7
// and 8):
//
//   - every call gets one outcome, no later than its deadline plus the
//     wheel's tick, and no later than its actor's stop (Done);
//   - of a Reply's Sends only the first counts: it returns nil (and the
//     caller gets exactly what it sent, no sooner than it was sent) or
//     ErrLateReply (the caller already had its outcome; a dead letter of
//     ReasonLate carries the error it sent); later ones get ErrReplied;
//   - without a Send that counted, the outcome is a sentinel that
//     happened: a timeout no sooner than the deadline, the caller's
//     cancel, ErrStopped once the actor was asked to stop, a *PanicError
//     of a handler that panicked;
//   - a Reply's Context has ended once the actor has stopped (Done), and
//     by the end of the run; Go's ctx has ended once the actor is killed
//     or has stopped; Go's result is never handed to a fresh state;
//   - a call back along the chain of callers, or an Await of a call to
//     the actor itself, fails with ErrCallCycle at once;
//   - everything ends: the bubble ends with no goroutine left.
func TestDeferredModelRandom(t *testing.T) {
	seeds := 1500
	if testing.Short() {
		seeds = 150
	}
	for seed := range testkit.Seeds(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			bubble(t, func(t *testing.T) { runDeferredModel(t, seed) })
		})
	}
	dmStats.mu.Lock()
	t.Logf("exercised: %v", dmStats.n)
	dmStats.mu.Unlock()
}

// Plans of the deferred handler.
const (
	dpTurn    = iota // Send on the turn
	dpState          // keep in the state; dmFlush sends it on a later turn
	dpGo             // a goroutine sends it later (or never)
	dpWork           // actor.Go; dmDone sends it
	dpNever          // never sent
	dpPanic          // handed to a goroutine, then the handler panics
	dpForward        // calls another actor's dmAsk with c.Context(), sends its outcome
	dpAskSelf        // Asks itself, Awaits with c.Context(): ErrCallCycle
	dpCycle          // (forwarded only) calls back the actor that forwarded: ErrCallCycle
	dpN
)

const dmTick = time.Millisecond

type dmDesk struct {
	m    *dmModel
	idx  int
	inc  int
	held []dmHeld
}

type dmHeld struct {
	r  *actor.Reply[int]
	cl *dmCall
}

type dmWork struct {
	r   *actor.Reply[int]
	cl  *dmCall
	inc int
}

var (
	dmAsk = actor.NewDeferred("dmask", func(d *dmDesk, c *actor.Ctx, cl *dmCall, r *actor.Reply[int]) {
		dmHandle(d.m, d, c, cl, r)
	})
	dmHandle func(*dmModel, *dmDesk, *actor.Ctx, *dmCall, *actor.Reply[int]) // (*dmModel).handle: set by init, breaking the cycle through do
	dmFlush  = actor.NewMethod("dmflush", func(d *dmDesk, _ *actor.Ctx, _ int) (struct{}, error) {
		held := d.held
		d.held = nil
		for _, h := range held {
			h.cl.send(h.r)
			if h.cl.twice {
				h.cl.send(h.r)
			}
		}
		return struct{}{}, nil
	})
	dmDone = actor.NewMethod("dmdone", func(d *dmDesk, _ *actor.Ctx, res actor.Result[*dmWork]) (struct{}, error) {
		w := res.Value
		if w == nil {
			d.m.fail("actor %d: Go's result without a value: %v", d.idx, res.Err)
			return struct{}{}, nil
		}
		if w.inc != d.inc {
			d.m.fail("actor %d: Go's result of incarnation %d handed to incarnation %d", d.idx, w.inc, d.inc)
		}
		w.cl.send(w.r)
		if w.cl.twice {
			w.cl.send(w.r)
		}
		return struct{}{}, nil
	})
	dmBoom = actor.NewMethod("dmboom", func(*dmDesk, *actor.Ctx, int) (struct{}, error) {
		panic("dm boom")
	})
	dmPing = actor.NewMethod("dmping", func(*dmDesk, *actor.Ctx, int) (int, error) { return 1, nil })
)

func init() { dmHandle = (*dmModel).handle }

// dmStats counts what the seeds exercised, for the log.
var dmStats struct {
	mu sync.Mutex
	n  map[string]int
}

func dmCount(what string) {
	dmStats.mu.Lock()
	if dmStats.n == nil {
		dmStats.n = map[string]int{}
	}
	dmStats.n[what]++
	dmStats.mu.Unlock()
}

func dmKind(err error) string {
	var pe *actor.PanicError
	var de *dmErr
	switch {
	case err == nil:
		return "value"
	case errors.As(err, &de):
		return "sent error"
	case errors.As(err, &pe):
		return "panic"
	case errors.Is(err, actor.ErrLateReply):
		return "late"
	case errors.Is(err, actor.ErrReplied):
		return "replied"
	case errors.Is(err, actor.ErrCallCycle):
		return "cycle"
	case errors.Is(err, actor.ErrStopped):
		return "stopped"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "other"
}

// dmErr is an error a Send carries, unique to the call and attempt.
type dmErr struct{ id, k int }

func (e *dmErr) Error() string { return fmt.Sprintf("dm: call %d, send %d", e.id, e.k) }

type dmSend struct {
	v          int
	err        error
	res        error
	start, end time.Time
}

// dmCall is the model's record of one call of dmAsk.
type dmCall struct {
	m        *dmModel
	id       int
	to       int
	from     int // the forwarding actor, -1 for a top-level call
	plan     int
	twice    bool
	nsend    int // dpGo, dpPanic: sends from the goroutine (0 to 2)
	watch    bool
	errSend  bool
	delay    time.Duration
	sub      *dmCall // dpForward: the call it makes
	deadline time.Time

	mu       sync.Mutex
	start    time.Time
	cancelAt time.Time
	reply    *actor.Reply[int]
	rctx     bool      // the reply's Context was taken
	rctxAt   time.Time // when
	rctxEnd  time.Time // when it ended
	sending  int
	sends    []dmSend
	outcomes int
	val      int
	err      error
	at       time.Time
	doneAt   time.Time // an Ask: when its future was done
	ctxEnded bool      // a Call: its ctx had ended when it returned
	what     []string
}

func (cl *dmCall) logf(format string, args ...any) {
	cl.mu.Lock()
	cl.what = append(cl.what, fmt.Sprintf("%v: ", time.Now().Format("05.000000"))+fmt.Sprintf(format, args...))
	cl.mu.Unlock()
}

func (cl *dmCall) send(r *actor.Reply[int]) {
	cl.mu.Lock()
	k := len(cl.sends) + cl.sending
	cl.mu.Unlock()
	var err error
	if cl.errSend {
		err = &dmErr{cl.id, k}
	}
	cl.sendVE(r, cl.id*10+k, err)
}

func (cl *dmCall) sendVE(r *actor.Reply[int], v int, err error) {
	cl.mu.Lock()
	cl.sending++
	s := dmSend{v: v, err: err, start: time.Now()}
	cl.mu.Unlock()
	s.res = r.Send(v, err)
	s.end = time.Now()
	cl.mu.Lock()
	cl.sending--
	cl.sends = append(cl.sends, s)
	cl.mu.Unlock()
}

func (cl *dmCall) outcome(v int, err error) {
	cl.mu.Lock()
	cl.outcomes++
	cl.val, cl.err, cl.at = v, err, time.Now()
	if !cl.doneAt.IsZero() {
		cl.at = cl.doneAt // an Ask: when its future was done
	}
	cl.mu.Unlock()
}

// dmWorkCtx is a Go function's ctx, and the incarnation that started it.
type dmWorkCtx struct {
	ctx context.Context
	inc int
}

type dmModel struct {
	t   *testing.T
	mu  sync.Mutex
	rng *rand.Rand // guarded by mu
	wg  sync.WaitGroup

	ct     time.Duration // the runtime's call timeout
	refs   []*actor.Ref[*dmDesk]
	incs   []int
	stopAt []time.Time
	doneAt []time.Time
	works  [][]dmWorkCtx // per actor: the ctx of each Go function
	calls  []*dmCall
	errs   []string
}

func (m *dmModel) intn(n int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rng.IntN(n)
}

func (m *dmModel) chance(pct int) bool { return m.intn(100) < pct }

func (m *dmModel) dur(maxMs int) time.Duration {
	return time.Duration(m.intn(maxMs*1000)) * time.Microsecond
}

func (m *dmModel) fail(format string, args ...any) {
	m.mu.Lock()
	m.errs = append(m.errs, fmt.Sprintf(format, args...))
	m.mu.Unlock()
}

// newCall makes a call to actor to with a random plan.
func (m *dmModel) newCall(to, from int) *dmCall {
	m.mu.Lock()
	cl := &dmCall{m: m, id: len(m.calls) + 1, to: to, from: from}
	m.calls = append(m.calls, cl)
	m.mu.Unlock()
	cl.plan = m.intn(dpN - 1)
	if from >= 0 {
		switch {
		case cl.plan == dpForward:
			cl.plan = dpTurn
		case m.chance(40):
			cl.plan = dpCycle
		}
	}
	cl.twice = m.chance(25)
	cl.nsend = m.intn(3)
	cl.watch = m.chance(50)
	cl.errSend = m.chance(40)
	cl.delay = m.dur(120)
	if cl.plan == dpForward {
		if len(m.refs) < 2 {
			cl.plan = dpTurn
		} else {
			sub := (to + 1 + m.intn(len(m.refs)-1)) % len(m.refs)
			cl.sub = m.newCall(sub, to)
		}
	}
	return cl
}

func (m *dmModel) handle(d *dmDesk, c *actor.Ctx, cl *dmCall, r *actor.Reply[int]) {
	cl.mu.Lock()
	if cl.reply != nil && cl.reply != r {
		cl.mu.Unlock()
		m.fail("call %d: handled twice", cl.id)
		return
	}
	cl.reply = r
	cl.mu.Unlock()
	cl.logf("handled by actor %d inc %d, plan %d", d.idx, d.inc, cl.plan)
	dmCount(fmt.Sprintf("plan %d", cl.plan))
	m.mu.Lock()
	works := slices.Clone(m.works[d.idx])
	m.mu.Unlock()
	for k, w := range works { // not under m.mu, which fail takes
		if w.inc < d.inc && w.ctx.Err() == nil {
			m.fail("actor %d: incarnation %d runs, Go function %d of incarnation %d has its ctx live", d.idx, d.inc, k, w.inc)
		}
	}
	switch cl.plan {
	case dpTurn:
		cl.send(r)
		if cl.twice {
			cl.send(r)
		}
	case dpState:
		d.held = append(d.held, dmHeld{r, cl})
	case dpGo, dpPanic:
		m.wg.Go(func() { cl.later(r) })
		if cl.plan == dpPanic {
			panic("dm handler")
		}
	case dpWork:
		inc, idx := d.inc, d.idx
		err := actor.Go(c, func(ctx context.Context) (*dmWork, error) {
			m.mu.Lock()
			m.works[idx] = append(m.works[idx], dmWorkCtx{ctx, inc})
			m.mu.Unlock()
			select {
			case <-time.After(cl.delay):
			case <-ctx.Done():
			}
			return &dmWork{r, cl, inc}, nil
		}, dmDone)
		if err != nil {
			if !errors.Is(err, actor.ErrStopped) {
				m.fail("call %d: Go: %v", cl.id, err)
			}
			cl.send(r)
		}
	case dpNever:
	case dpForward:
		sub := cl.sub
		ctx := c.Context()
		v, err := m.do(ctx, sub)
		if err != nil {
			err = fmt.Errorf("forwarded: %w", err)
		}
		cl.sendVE(r, v, err)
	case dpAskSelf:
		ctx := c.Context()
		pre, t0 := ctx.Err(), time.Now()
		f := dmPing.Ask(ctx, actor.Self[*dmDesk](c), 0)
		_, err := f.Await(ctx)
		m.mu.Lock()
		stopping := !m.stopAt[d.idx].IsZero() // the Ask may be refused: ErrStopped
		m.mu.Unlock()
		if pre == nil && !(stopping && errors.Is(err, actor.ErrStopped)) && (!errors.Is(err, actor.ErrCallCycle) || !time.Now().Equal(t0)) {
			m.fail("call %d: actor %d Awaits an Ask of itself: %v after %v; want ErrCallCycle at once", cl.id, d.idx, err, time.Since(t0))
		}
		cl.sendVE(r, 0, err)
	case dpCycle:
		ctx := c.Context()
		pre, t0 := ctx.Err(), time.Now()
		_, err := dmPing.Call(ctx, m.refs[cl.from], 0)
		if pre == nil && (!errors.Is(err, actor.ErrCallCycle) || !time.Now().Equal(t0)) {
			m.fail("call %d: actor %d calls back actor %d, which waits for it: %v after %v; want ErrCallCycle at once", cl.id, d.idx, cl.from, err, time.Since(t0))
		}
		cl.sendVE(r, 0, err)
	}
}

// later is a goroutine that holds the Reply.
func (cl *dmCall) later(r *actor.Reply[int]) {
	if cl.watch {
		rc := r.Context()
		cl.mu.Lock()
		cl.rctx, cl.rctxAt = true, time.Now()
		cl.mu.Unlock()
		context.AfterFunc(rc, func() {
			cl.mu.Lock()
			cl.rctxEnd = time.Now()
			cl.mu.Unlock()
		})
		select {
		case <-time.After(cl.delay):
		case <-rc.Done():
			cl.logf("reply Context done: %v", context.Cause(rc))
		}
	} else {
		time.Sleep(cl.delay)
	}
	for range cl.nsend {
		cl.send(r)
	}
}

// callCtx is a random caller's ctx: none (the default timeout), a
// deadline, or a cancel at a random time.
func (m *dmModel) callCtx(cl *dmCall) (context.Context, context.CancelFunc) {
	switch m.intn(3) {
	case 0:
		return context.Background(), func() {}
	case 1:
		return context.WithTimeout(context.Background(), m.dur(150)+time.Microsecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := m.dur(150)
	m.wg.Go(func() {
		time.Sleep(d)
		cl.mu.Lock()
		if cl.cancelAt.IsZero() {
			cl.cancelAt = time.Now()
		}
		cl.mu.Unlock()
		cancel()
	})
	return ctx, cancel
}

// begin records the call's start and deadline.
func (m *dmModel) begin(ctx context.Context, cl *dmCall) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.start = time.Now()
	if d, ok := ctx.Deadline(); ok {
		cl.deadline = d
	} else {
		cl.deadline = cl.start.Add(m.ct)
	}
}

// do makes cl with Call.
func (m *dmModel) do(ctx context.Context, cl *dmCall) (int, error) {
	m.begin(ctx, cl)
	v, err := dmAsk.Call(ctx, m.refs[cl.to], cl)
	cl.mu.Lock()
	cl.ctxEnded = ctx.Err() != nil
	cl.mu.Unlock()
	cl.outcome(v, err)
	return v, err
}

// caller is a top-level caller: Call, Ask + Await, or AwaitAll.
func (m *dmModel) caller(all context.Context) {
	time.Sleep(m.dur(100))
	n := len(m.refs)
	switch m.intn(3) {
	case 0:
		cl := m.newCall(m.intn(n), -1)
		ctx, cancel := m.callCtx(cl)
		defer cancel()
		m.do(ctx, cl)
	case 1, 2:
		k := 1
		if m.chance(50) {
			k += m.intn(3)
		}
		var cls []*dmCall
		var fs []*actor.Future[int]
		for range k {
			cl := m.newCall(m.intn(n), -1)
			ctx, cancel := m.callCtx(cl)
			defer cancel()
			m.begin(ctx, cl)
			cls = append(cls, cl)
			f := dmAsk.Ask(ctx, m.refs[cl.to], cl)
			fs = append(fs, f)
			m.wg.Go(func() {
				<-f.Done()
				cl.mu.Lock()
				cl.doneAt = time.Now()
				cl.mu.Unlock()
			})
		}
		actx, acancel := context.WithTimeout(all, m.dur(200)+time.Microsecond)
		defer acancel()
		if k > 1 && m.chance(60) {
			vals, err := actor.AwaitAll(actx, fs...)
			if vals != nil {
				for i, f := range fs {
					select {
					case <-f.Done():
					default:
						m.fail("call %d: AwaitAll returned with it pending", cls[i].id)
						continue
					}
					v, e := f.Await(context.Background())
					if e == nil && vals[i] != v {
						m.fail("call %d: AwaitAll got %d, Await %d", cls[i].id, vals[i], v)
					}
					if e != nil && !errors.Is(err, e) {
						m.fail("call %d: AwaitAll's error %v lacks %v", cls[i].id, err, e)
					}
				}
			} else if actx.Err() == nil {
				m.fail("AwaitAll: %v, with its ctx live", err)
			}
		} else {
			for i, f := range fs {
				v, err := f.Await(actx)
				select {
				case <-f.Done():
				default:
					if actx.Err() == nil || !errors.Is(err, actx.Err()) {
						m.fail("call %d: Await returned %d, %v with the future pending and its ctx live", cls[i].id, v, err)
					}
				}
			}
		}
		for i, f := range fs {
			v, err := f.Await(context.Background())
			cls[i].outcome(v, err)
			v2, err2 := f.Await(context.Background())
			if v2 != v || err2 != err {
				m.fail("call %d: a second Await got %d, %v; the first %d, %v", cls[i].id, v2, err2, v, err)
			}
		}
	}
}

func runDeferredModel(t *testing.T, seed uint64) {
	m := &dmModel{t: t, rng: rand.New(rand.NewPCG(seed, 0xdefe))}
	m.ct = 20*time.Millisecond + m.dur(150)
	rec := &recorder{}
	rt, err := troupe.New(troupe.WithDeadLetterHook(rec.Hook), troupe.WithCallTimeout(m.ct), troupe.WithTick(dmTick))
	if err != nil {
		t.Fatal(err)
	}
	shut := sync.OnceFunc(func() { testkitShutdown(t, rt) })
	defer shut()

	n := 1 + m.intn(3)
	m.incs = make([]int, n)
	m.stopAt = make([]time.Time, n)
	m.doneAt = make([]time.Time, n)
	m.works = make([][]dmWorkCtx, n)
	for i := range n {
		var ref *actor.Ref[*dmDesk]
		if m.chance(50) {
			sup := actor.Supervision{Directive: actor.Restart, MaxRestarts: 100, Backoff: m.dur(20) + time.Microsecond}
			ref, err = actor.SpawnFunc(rt, func() *dmDesk {
				m.mu.Lock()
				defer m.mu.Unlock()
				m.incs[i]++
				return &dmDesk{m: m, idx: i, inc: m.incs[i]}
			}, actor.WithSupervision(sup))
		} else {
			ref, err = actor.Spawn(rt, &dmDesk{m: m, idx: i})
		}
		if err != nil {
			t.Fatal(err)
		}
		m.refs = append(m.refs, ref)
	}
	var watchers sync.WaitGroup
	for i, ref := range m.refs {
		watchers.Go(func() {
			<-ref.Done()
			m.atDone(i)
		})
	}
	all, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()

	// The actors' fates: flushes, panics, a stop or a kill.
	var fates sync.WaitGroup
	for i, ref := range m.refs {
		for range m.intn(4) {
			d := m.dur(200)
			fates.Go(func() {
				time.Sleep(d)
				_ = dmFlush.Cast(ref, 0)
			})
		}
		for range m.intn(3) {
			d := m.dur(200)
			fates.Go(func() {
				time.Sleep(d)
				_ = dmBoom.Cast(ref, 0)
			})
		}
		if m.chance(50) {
			d, kill := m.dur(250), m.chance(50)
			fates.Go(func() {
				time.Sleep(d)
				m.mu.Lock()
				if m.stopAt[i].IsZero() {
					m.stopAt[i] = time.Now()
				}
				m.mu.Unlock()
				if kill {
					ref.Kill()
					m.mu.Lock()
					works := slices.Clone(m.works[i])
					m.mu.Unlock()
					for k, w := range works {
						if w.ctx.Err() == nil {
							m.fail("actor %d: killed, Go function %d's ctx still live", i, k)
						}
					}
					return
				}
				if err := ref.Stop(context.Background()); err != nil {
					m.fail("actor %d: Stop: %v", i, err)
				}
			})
		}
	}
	var callers sync.WaitGroup
	for range 1 + m.intn(12) {
		callers.Go(func() { m.caller(all) })
	}
	callers.Wait()
	fates.Wait()
	m.mu.Lock()
	for i := range m.stopAt {
		if m.stopAt[i].IsZero() {
			m.stopAt[i] = time.Now()
		}
	}
	m.mu.Unlock()
	shut()
	watchers.Wait()
	m.wg.Wait()
	m.check(rec)
	for _, e := range m.errs {
		t.Error(e)
	}
}

// atDone checks, as actor i's Done closes, that its Replies' Contexts and
// its Go functions' ctx have ended.
func (m *dmModel) atDone(i int) {
	now := time.Now()
	m.mu.Lock()
	m.doneAt[i] = now
	if m.stopAt[i].IsZero() {
		m.stopAt[i] = now // the runtime's shutdown
	}
	calls := slices.Clone(m.calls)
	works := slices.Clone(m.works[i])
	m.mu.Unlock()
	for k, w := range works {
		if w.ctx.Err() == nil {
			m.fail("actor %d: stopped, Go function %d's ctx still live", i, k)
		}
	}
	for _, cl := range calls {
		if cl.to != i {
			continue
		}
		cl.mu.Lock()
		r, sending, sends, what := cl.reply, cl.sending, len(cl.sends), strings.Join(cl.what, "\n\t")
		cl.mu.Unlock()
		if r == nil || sending > 0 {
			continue
		}
		if r.Context().Err() == nil {
			m.fail("call %d (plan %d): actor %d stopped, its Reply's Context still live (%d sends)\n\t%s", cl.id, cl.plan, i, sends, what)
		}
	}
}

func (m *dmModel) check(rec *recorder) {
	late := map[error]int{}
	for _, d := range rec.All() {
		// Only a *dmErr as it is: a forward sends its call's error
		// wrapped, and that Send may be late too.
		if e, ok := d.Err.(*dmErr); ok && d.Reason == troupe.ReasonLate {
			late[e]++
		}
	}
	for _, cl := range m.calls {
		cl.mu.Lock()
		if cl.start.IsZero() {
			cl.mu.Unlock()
			continue // a forward whose handler never ran
		}
		fail := func(format string, args ...any) {
			m.fail("call %d to actor %d (plan %d, from %d, start %v, deadline %v, outcome %d, %v at %v): %s\n\t%s",
				cl.id, cl.to, cl.plan, cl.from, cl.start.Format("05.000000"), cl.deadline.Format("05.000000"), cl.val, cl.err, cl.at.Format("05.000000"),
				fmt.Sprintf(format, args...), strings.Join(cl.what, "\n\t"))
		}
		if cl.outcomes != 1 {
			fail("%d outcomes", cl.outcomes)
			cl.mu.Unlock()
			continue
		}
		if cl.at.After(cl.deadline.Add(dmTick)) {
			fail("outcome %v after the deadline", cl.at.Sub(cl.deadline))
		}
		if done := m.doneAt[cl.to]; !done.IsZero() && !cl.start.After(done) && cl.at.After(done) {
			fail("outcome %v after the actor's stop", cl.at.Sub(done))
		}
		if cl.rctx && cl.reply.Context().Err() == nil {
			fail("the Reply's Context is live at the end")
		}
		if cl.rctx && !cl.rctxEnd.IsZero() && cl.rctxEnd.Before(cl.at.Add(-dmTick)) && (len(cl.sends) == 0 || cl.sends[0].start.After(cl.rctxEnd)) {
			fail("the Reply's Context ended at %v, before the caller's outcome, unsent", cl.rctxEnd.Format("05.000000"))
		}
		var counted *dmSend
		for k, s := range cl.sends {
			dmCount(fmt.Sprintf("send %d: %s", k, dmKind(s.res)))
			switch {
			case k == 0 && (s.res == nil || errors.Is(s.res, actor.ErrLateReply)):
				counted = &cl.sends[0]
			case k > 0 && errors.Is(s.res, actor.ErrReplied):
			default:
				fail("send %d got %v", k, s.res)
			}
			if e, ok := s.err.(*dmErr); ok {
				want := 0
				if errors.Is(s.res, actor.ErrLateReply) {
					want = 1
				}
				if late[e] != want {
					fail("send %d (%v): %v, %d late dead letters", k, s.err, s.res, late[e])
				}
			}
		}
		if counted != nil && counted.res != nil && cl.at.After(counted.end) {
			fail("a Send at %v was late", counted.start.Format("05.000000"))
		}
		if cl.rctx && !cl.rctxAt.After(cl.at) && cl.rctxEnd.After(cl.at) && (counted == nil || counted.res != nil) {
			fail("the Reply's Context ended at %v, after the caller had its outcome", cl.rctxEnd.Format("05.000000"))
		}
		dmCount(dmKind(cl.err))
		switch {
		case counted != nil && counted.res == nil:
			if cl.at.Before(counted.start) {
				fail("outcome before its Send")
			}
			if counted.err != nil && cl.err != counted.err || counted.err == nil && (cl.err != nil || cl.val != counted.v) {
				fail("the Send of %d, %v counted", counted.v, counted.err)
			}
		case cl.err == nil:
			fail("a reply nobody sent")
		case errors.Is(cl.err, context.DeadlineExceeded):
			if cl.at.Before(cl.deadline) {
				fail("timed out %v before the deadline", cl.deadline.Sub(cl.at))
			}
		case errors.Is(cl.err, context.Canceled):
			// A forwarded call's ctx is its handler's Context: cancelled
			// when its caller gives up or its actor is killed.
			if cl.from < 0 && (cl.cancelAt.IsZero() || cl.cancelAt.After(cl.at)) || cl.from >= 0 && !cl.ctxEnded {
				fail("cancelled, not by its caller")
			}
		case errors.Is(cl.err, actor.ErrCallCycle):
			// Forwarded calls can close a cycle: A forwards to B as B
			// forwards to A.
			if cl.from < 0 || !cl.at.Equal(cl.start) {
				fail("unexpected ErrCallCycle")
			}
		case errors.Is(cl.err, actor.ErrStopped):
			if st := m.stopAt[cl.to]; st.IsZero() || st.After(cl.at) {
				fail("ErrStopped before the actor was stopped (at %v)", st)
			}
		default:
			var pe *actor.PanicError
			if !errors.As(cl.err, &pe) || cl.plan != dpPanic {
				fail("unexpected outcome")
			}
		}
		cl.mu.Unlock()
	}
}
