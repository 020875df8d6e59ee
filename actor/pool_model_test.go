package actor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
)

// TestPoolModelRandom drives a pool of each strategy, over many seeds, with
// a random mix of operations in a synctest bubble: a driver goroutine
// resizes the pool while a few callers Call (random deadlines, some
// cancelled), Ask, Cast and Broadcast; handlers return, fail, sleep, panic
// (the worker restarts, resumes or is replaced, by a random supervision),
// call their own pool, stop or kill their own worker. Then the callers'
// chaos ends, every cast is accounted for, the pool is left quiet, and a
// last batch of calls and casts (and maybe a Resize) races the pool's end:
// a graceful Stop, a Stop whose ctx ends, a Kill, the runtime's Shutdown
// or its Close, or the Stop or Kill of the actor the workers are children
// of. It checks:
//
//   - every call returns once, with a documented outcome: its own reply,
//     its handler's error, a *PanicError (only for the ops that fail so),
//     ErrTimeout (never before its deadline), ctx's cancellation (only
//     when cancelled), ErrCallCycle (only from a handler), ErrStopped (in
//     a gentle run, where no worker is killed, only a refusal at once),
//     ErrPoolStopped (only once the pool's end began), ErrPoolFull (only
//     under WithMaxQueued, and never after running); no call ran twice
//     (but with First, which asks several workers);
//   - every accepted Cast ran exactly once or was reported exactly once
//     as a dead letter carrying its payload (a failed run: once, as
//     ReasonFailed), never both but so, never neither; a refused Cast is
//     reported once and never runs;
//   - a quiet pool counts nothing busy or queued, and answers a call;
//   - a graceful end (Stop, Shutdown, the parent's Stop) runs every call
//     and cast of the last batch it accepted: no ErrStopped but a refusal
//     at once, no timeout (their deadlines are far);
//   - Stop, Kill, Resize, Shutdown and Close return, Done closes, and the
//     bubble ends (no goroutine left).
//
// It found that a Balancing pool whose replacement worker was stopped by
// the first call it took, before the pool counted it, stopped for good
// (TestPoolReplacementStoppedBeforeAdded).
func TestPoolModelRandom(t *testing.T) {
	seeds := 600
	if testing.Short() {
		seeds = 48
	}
	for seed := range testkit.Seeds(seeds) {
		strat := pmStrategies[seed%uint64(len(pmStrategies))]
		t.Run(fmt.Sprintf("%s/%d", strat.name, seed), func(t *testing.T) {
			bubble(t, func(t *testing.T) { runPoolModel(t, seed, strat) })
		})
	}
}

type pmStrategy struct {
	name  string
	first bool // a call may run on several workers
	opt   func(r *rand.Rand) actor.PoolOption
}

var pmStrategies = []pmStrategy{
	{name: "roundrobin", opt: func(*rand.Rand) actor.PoolOption { return actor.RoundRobin() }},
	{name: "random", opt: func(*rand.Rand) actor.PoolOption { return actor.Random() }},
	{name: "leastbusy", opt: func(*rand.Rand) actor.PoolOption { return actor.LeastBusy() }},
	{name: "hash", opt: func(*rand.Rand) actor.PoolOption {
		return actor.Hash(func(q pmOp) string { return strconv.Itoa(int(q.Key)) })
	}},
	{name: "balancing", opt: func(*rand.Rand) actor.PoolOption { return actor.Balancing() }},
	{name: "first", first: true, opt: func(r *rand.Rand) actor.PoolOption {
		return actor.First(time.Duration(r.IntN(3)) * 5 * time.Millisecond)
	}},
}

// What a handler does with its op.
const (
	pmOK uint8 = iota
	pmErr
	pmPanic
	pmSleep
	pmStopSelf
	pmKillSelf
	pmNested // a CallPool to the pool itself, with the handler's Context
	pmModes
)

type pmOp struct {
	ID   int64
	Mode uint8
	Key  uint8
	D    time.Duration
}

var errPM = errors.New("pool model: handler error")

type pmWorker struct{ m *pmModel }

// nested is a call a handler makes through its own pool.
func (w *pmWorker) nested(c *actor.Ctx, q pmOp) {
	m := w.m
	p := m.pool.Load()
	ctx, cancel := context.WithTimeout(c.Context(), q.D+time.Millisecond)
	defer cancel()
	dl, _ := ctx.Deadline()
	nc := &pmCall{op: pmOp{ID: m.id(), Mode: pmOK, Key: q.Key + 1, D: q.D / 2}, how: "nested", start: time.Now(), deadline: dl, cancel: true}
	m.record(nc)
	v, err := actor.CallPool(ctx, pmWork, p, nc.op)
	m.settle(nc, v, err)
}

var pmWork *actor.Method[*pmWorker, pmOp, int64]

func init() { pmWork = actor.NewMethod("pm.work", (*pmWorker).work) }

func (w *pmWorker) work(c *actor.Ctx, q pmOp) (int64, error) {
	w.m.mark(q.ID)
	switch q.Mode {
	case pmErr:
		return 0, errPM
	case pmPanic:
		panic("pool model: panic in op " + strconv.Itoa(int(q.ID)))
	case pmSleep:
		select {
		case <-time.After(q.D):
		case <-c.Context().Done():
		}
	case pmStopSelf:
		c.Stop()
		if q.Key%2 == 0 { // and takes its time to return: the pool may stop meanwhile
			select {
			case <-time.After(q.D):
			case <-c.Context().Done():
			}
		}
	case pmKillSelf:
		actor.Self[*pmWorker](c).Kill()
	case pmNested:
		w.nested(c, q)
	}
	return q.ID, nil
}

// pmEnd is how a run ends.
type pmEnd uint8

const (
	pmEndStop       pmEnd = iota // Pool.Stop, with a ctx that does not end
	pmEndStopShort               // Pool.Stop with a ctx that may end first
	pmEndKill                    // Pool.Kill
	pmEndShutdown                // the runtime's Shutdown
	pmEndClose                   // the runtime's Close
	pmEndParentStop              // the Stop of the actor the workers are children of
	pmEndParentKill              // its Kill
	pmEnds
)

var pmEndNames = [pmEnds]string{"stop", "stop-short", "kill", "shutdown", "close", "parent-stop", "parent-kill"}

// pmParent is an actor that makes a pool of its children.
type pmParent struct{}

var pmMakePool = actor.NewMethod("pm.mkpool", func(_ *pmParent, c *actor.Ctx, mk func(actor.Spawner) (*actor.Pool[*pmWorker], error)) (*actor.Pool[*pmWorker], error) {
	return mk(c)
})

type pmCall struct {
	op       pmOp
	how      string // "call", "ask"
	final    bool   // of the last batch, racing the pool's end
	start    time.Time
	deadline time.Time
	cancel   bool // its ctx may be cancelled before its deadline
	err      error
	val      int64
	returned int
	ended    bool // the pool's end had begun when it returned
	back     time.Time
}

type pmModel struct {
	t      *testing.T
	strat  pmStrategy
	limit  int
	ended  chan struct{} // closed when the pool's end begins
	endHow pmEnd
	endAt  time.Time
	strict bool // the last batch may panic: its workers restart or resume
	gentle bool // strict, and no worker kills itself: nothing fails a queue
	pool   atomic.Pointer[actor.Pool[*pmWorker]]

	mu         sync.Mutex
	ran        map[int64]int
	calls      []*pmCall
	casts      map[int64]error // every cast sent, with CastPool's error
	finalCasts map[int64]bool  // casts of the last batch
	letters    map[int64][]troupe.DeadLetter
	others     []troupe.DeadLetter // pm.work letters without a cast's payload
	nextID     int64
}

func (m *pmModel) id() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	return m.nextID
}

func (m *pmModel) mark(id int64) {
	m.mu.Lock()
	m.ran[id]++
	m.mu.Unlock()
}

func (m *pmModel) letter(d troupe.DeadLetter) {
	if d.Method != pmWork.Name() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if q, ok := d.Payload.(pmOp); ok {
		m.letters[q.ID] = append(m.letters[q.ID], d)
	} else {
		m.others = append(m.others, d)
	}
}

func (m *pmModel) isEnded() bool {
	select {
	case <-m.ended:
		return true
	default:
		return false
	}
}

// op is a random op; final ops only return or sleep.
func (m *pmModel) op(r *rand.Rand, final bool) pmOp {
	q := pmOp{ID: m.id(), Key: uint8(r.IntN(8)), D: time.Duration(r.IntN(40)) * time.Millisecond}
	switch k := r.IntN(21); {
	case final && m.strict:
		q.Mode = []uint8{pmOK, pmSleep, pmSleep, pmErr, pmPanic, pmStopSelf, pmNested}[r.IntN(7)]
	case final:
		q.Mode = []uint8{pmOK, pmSleep, pmErr, pmStopSelf, pmNested}[r.IntN(5)]
	case k == 20:
		q.Mode = pmNested
	case k < 6:
		q.Mode = pmOK
	case k < 11:
		q.Mode = pmSleep
	case k < 14:
		q.Mode = pmErr
	case k < 17:
		q.Mode = pmPanic
	case k < 19:
		q.Mode = pmStopSelf
	case m.gentle:
		q.Mode = pmStopSelf
	default:
		q.Mode = pmKillSelf
	}
	return q
}

// call makes one CallPool or AskPool with a random deadline (or the
// runtime's call timeout, or a cancellation) and records its outcome.
func (m *pmModel) call(r *rand.Rand, p *actor.Pool[*pmWorker], final bool) {
	c := &pmCall{op: m.op(r, final), final: final, start: time.Now(), how: "call"}
	if r.IntN(4) == 0 {
		c.how = "ask"
	}
	ctx := context.Background()
	var cancel context.CancelFunc
	switch k := r.IntN(6); {
	case final || k == 0:
		c.deadline = c.start.Add(pmCallTimeout)
	case k == 1:
		c.deadline = c.start.Add(pmCallTimeout)
		c.cancel = true
		ctx, cancel = context.WithCancel(ctx)
		time.AfterFunc(time.Duration(r.IntN(60))*time.Millisecond, cancel)
	default:
		c.deadline = c.start.Add(time.Duration(1+r.IntN(120)) * time.Millisecond)
		ctx, cancel = context.WithDeadline(ctx, c.deadline)
	}
	if cancel != nil {
		defer cancel()
	}
	m.record(c)
	var v int64
	var err error
	if c.how == "ask" {
		v, err = actor.AskPool(ctx, pmWork, p, c.op).Await(ctx)
	} else {
		v, err = actor.CallPool(ctx, pmWork, p, c.op)
	}
	m.settle(c, v, err)
}

func (m *pmModel) record(c *pmCall) {
	m.mu.Lock()
	m.calls = append(m.calls, c)
	m.mu.Unlock()
}

func (m *pmModel) settle(c *pmCall, v int64, err error) {
	ended := m.isEnded()
	m.mu.Lock()
	c.val, c.err = v, err
	c.returned++
	c.ended = ended
	c.back = time.Now()
	m.mu.Unlock()
	if errors.Is(err, actor.ErrTimeout) && time.Now().Before(c.deadline) {
		m.t.Errorf("op %d (%s, mode %d): ErrTimeout %v before its deadline", c.op.ID, c.how, c.op.Mode, time.Until(c.deadline))
	}
}

// broadcast makes a BroadcastPool and checks each worker's outcome.
func (m *pmModel) broadcast(r *rand.Rand, p *actor.Pool[*pmWorker]) {
	q := pmOp{ID: m.id(), Mode: []uint8{pmOK, pmSleep, pmErr}[r.IntN(3)], D: time.Duration(r.IntN(20)) * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+r.IntN(60))*time.Millisecond)
	defer cancel()
	vals, err := actor.BroadcastPool(ctx, pmWork, p, q)
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else if err != nil {
		errs = []error{err}
	}
	for _, e := range errs {
		switch {
		case errors.Is(e, actor.ErrTimeout), errors.Is(e, actor.ErrStopped), errors.Is(e, actor.ErrPoolFull) && m.limit > 0:
		case errors.Is(e, errPM) && q.Mode == pmErr:
		default:
			m.t.Errorf("broadcast %d (mode %d): undocumented outcome %v", q.ID, q.Mode, e)
		}
	}
	for _, v := range vals {
		if v != 0 && v != q.ID {
			m.t.Errorf("broadcast %d: reply %d, not its own", q.ID, v)
		}
	}
}

func (m *pmModel) cast(r *rand.Rand, p *actor.Pool[*pmWorker], final bool) {
	q := m.op(r, final)
	err := actor.CastPool(pmWork, p, q)
	m.mu.Lock()
	m.casts[q.ID] = err
	if final {
		m.finalCasts[q.ID] = true
	}
	m.mu.Unlock()
}

// castsSettled reports whether every accepted cast ran or was reported.
func (m *pmModel) castsSettled() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.casts {
		if m.ran[id] == 0 && len(m.letters[id]) == 0 {
			return false
		}
	}
	return true
}

const pmCallTimeout = 5 * time.Second

func runPoolModel(t *testing.T, seed uint64, strat pmStrategy) {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	m := &pmModel{
		t: t, strat: strat, ended: make(chan struct{}), endHow: pmEnd(r.IntN(int(pmEnds))),
		ran: map[int64]int{}, casts: map[int64]error{}, finalCasts: map[int64]bool{}, letters: map[int64][]troupe.DeadLetter{},
	}
	rt, err := troupe.New(troupe.WithDeadLetterHook(m.letter), troupe.WithCallTimeout(pmCallTimeout))
	if err != nil {
		t.Fatal(err)
	}
	opts := []actor.PoolOption{strat.opt(r)}
	if r.IntN(3) == 0 {
		m.limit = 1 + r.IntN(4)
		opts = append(opts, actor.WithMaxQueued(m.limit))
	}
	k := r.IntN(5)
	sup := []actor.Supervision{
		{}, // Restart, 3 in 5 s, from 10 ms
		{Directive: actor.Restart, MaxRestarts: 1, Window: time.Second, Backoff: 5 * time.Millisecond},
		{Directive: actor.Terminate},
		{Directive: actor.Resume},
		{Directive: actor.Restart, MaxRestarts: 1000, Backoff: 15 * time.Millisecond, MaxBackoff: 40 * time.Millisecond},
	}[k]
	m.strict = k >= 3 // a panic neither stops a worker nor fails its queue
	m.gentle = m.strict && r.IntN(2) == 0
	opts = append(opts, actor.WithWorkerSupervision(sup))
	size := 1 + r.IntN(4)
	mk := func(sp actor.Spawner) (*actor.Pool[*pmWorker], error) {
		return actor.NewPool(sp, size, func() *pmWorker { return &pmWorker{m: m} }, opts...)
	}
	var parent *actor.Ref[*pmParent]
	var p *actor.Pool[*pmWorker]
	if m.endHow >= pmEndParentStop || r.IntN(4) == 0 {
		if parent, err = actor.Spawn(rt, &pmParent{}); err != nil {
			t.Fatal(err)
		}
		p, err = pmMakePool.Call(context.Background(), parent, mk)
	} else {
		p, err = mk(rt)
	}
	if err != nil {
		t.Fatal(err)
	}
	m.pool.Store(p)
	t.Logf("seed %d: %s, size %d, limit %d, supervision %+v, gentle %v, end %s", seed, strat.name, size, m.limit, sup, m.gentle, pmEndNames[m.endHow])

	// The chaos: a driver resizing, callers calling and casting.
	var wg sync.WaitGroup
	wg.Go(func() {
		dr := rand.New(rand.NewPCG(seed, 1))
		for range 6 {
			time.Sleep(time.Duration(dr.IntN(30)) * time.Millisecond)
			if err := p.Resize(1 + dr.IntN(5)); err != nil && !errors.Is(err, actor.ErrPoolStopped) {
				t.Errorf("Resize: %v", err)
			}
		}
	})
	callers := 2 + r.IntN(3)
	for i := range callers {
		cr := rand.New(rand.NewPCG(seed, uint64(2+i)))
		wg.Go(func() {
			for range 12 + cr.IntN(12) {
				if cr.IntN(3) == 0 {
					time.Sleep(time.Duration(cr.IntN(15)) * time.Millisecond)
				}
				switch k := cr.IntN(12); {
				case k < 4:
					m.cast(cr, p, false)
				case k == 4:
					m.broadcast(cr, p)
				case k == 5:
					_ = p.Stats()
					m.call(cr, p, false)
				default:
					m.call(cr, p, false)
				}
			}
		})
	}
	wg.Wait()
	// Every accepted cast runs or is reported: wait for that (bounded).
	for range 1000 {
		if m.castsSettled() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !m.castsSettled() {
		t.Errorf("casts neither run nor reported 10 s after the chaos")
	}
	stoppedBefore := p.Stopped()
	// Quiet: every handler has returned, every backoff is over. Nothing
	// is counted busy or queued, and a call gets its reply.
	time.Sleep(2 * time.Second)
	if st, n := p.Stats(), p.Size(); st.Busy != 0 || st.Queued != 0 || st.Ready+st.Restarting != n {
		t.Errorf("a quiet pool of %d workers: %+v, want all ready, nothing queued", n, st)
	}
	probe := pmOp{ID: m.id(), Key: 3}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if v, err := actor.CallPool(ctx, pmWork, p, probe); err != nil || v != probe.ID {
		t.Errorf("a call to a quiet pool: %v, %v; want %d", v, err, probe.ID)
	}
	cancel()

	// The last batch races the pool's end.
	for i := range callers {
		cr := rand.New(rand.NewPCG(seed, uint64(100+i)))
		wg.Go(func() {
			for range 3 + cr.IntN(5) {
				time.Sleep(time.Duration(cr.IntN(10)) * time.Millisecond)
				if cr.IntN(3) == 0 {
					m.cast(cr, p, true)
				} else {
					m.call(cr, p, true)
				}
			}
		})
	}
	if r.IntN(2) == 0 { // a Resize races the end
		d := time.Duration(r.IntN(40)) * time.Millisecond
		n := 1 + r.IntN(5)
		wg.Go(func() {
			time.Sleep(d)
			if err := p.Resize(n); err != nil && !errors.Is(err, actor.ErrPoolStopped) && !errors.Is(err, actor.ErrStopped) {
				t.Errorf("Resize racing the end: %v", err)
			}
		})
	}
	time.Sleep(time.Duration(r.IntN(30)) * time.Millisecond)
	m.endAt = time.Now()
	close(m.ended)
	closed := false
	switch m.endHow {
	case pmEndStop:
		if err := p.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	case pmEndStopShort:
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(20))*time.Millisecond)
		err := p.Stop(ctx)
		cancel()
		var se *actor.StopError
		if err != nil && !(errors.As(err, &se) && errors.Is(err, context.DeadlineExceeded)) {
			t.Errorf("Stop with a short ctx: %v, want nil or a *StopError", err)
		}
	case pmEndKill:
		p.Kill()
	case pmEndShutdown:
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := rt.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		cancel()
		closed = true
	case pmEndClose:
		if err := rt.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		closed = true
	case pmEndParentStop:
		if err := parent.Stop(context.Background()); err != nil {
			t.Errorf("the parent's Stop: %v", err)
		}
	case pmEndParentKill:
		parent.Kill()
	}
	if closed || m.endHow != pmEndStopShort {
		select {
		case <-p.Done():
		case <-time.After(time.Minute):
			t.Errorf("pool's Done not closed a minute after its end (%s)", pmEndNames[m.endHow])
		}
	}
	if !p.Stopped() {
		t.Errorf("pool not Stopped after its end (%s)", pmEndNames[m.endHow])
	}
	wg.Wait()
	if err := p.Resize(2); !errors.Is(err, actor.ErrPoolStopped) {
		t.Errorf("Resize after the end: %v, want ErrPoolStopped", err)
	}
	if err := actor.CastPool(pmWork, p, pmOp{ID: m.id()}); !errors.Is(err, actor.ErrPoolStopped) {
		t.Errorf("CastPool after the end: %v, want ErrPoolStopped", err)
	}
	if !closed {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := rt.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		cancel()
	}
	select {
	case <-p.Done():
	default:
		t.Errorf("pool's Done not closed after the runtime's Shutdown")
	}
	m.check(stoppedBefore)
}

// check checks every call's outcome and every cast's accounting.
func (m *pmModel) check(stoppedBefore bool) {
	t := m.t
	m.mu.Lock()
	defer m.mu.Unlock()
	kinds := map[string]int{}
	for _, c := range m.calls {
		q, err := c.op, c.err
		ran := m.ran[q.ID]
		where := fmt.Sprintf("op %d (%s, mode %d, final %v, ran %d, start %v, took %v)", q.ID, c.how, q.Mode, c.final, ran, c.start.Sub(m.endAt), c.back.Sub(c.start))
		if c.returned != 1 {
			t.Errorf("%s: returned %d times", where, c.returned)
			continue
		}
		if ran > 1 && !m.strat.first {
			t.Errorf("%s: ran %d times", where, ran)
		}
		var pe *actor.PanicError
		kind := "?"
		switch {
		case err == nil:
			kind = "reply"
			if c.val != q.ID {
				t.Errorf("%s: reply %d, not its own", where, c.val)
			}
			if ran == 0 {
				t.Errorf("%s: a reply, but its handler never ran", where)
			}
			if q.Mode == pmErr || q.Mode == pmPanic {
				if !m.strat.first || c.final {
					t.Errorf("%s: a reply from a handler that fails", where)
				}
			}
		// (First joins its workers' errors: the handler's come first.)
		case errors.Is(err, errPM):
			kind = "error"
			if q.Mode != pmErr {
				t.Errorf("%s: the handler's error %v from an op that does not fail so", where, err)
			}
		case errors.As(err, &pe) && (q.Mode == pmPanic || !errors.Is(err, actor.ErrStopped)):
			// (ErrStopped wrapping another op's panic: the worker was
			// terminated, its queue failed.)
			kind = "panic"
			if q.Mode != pmPanic {
				t.Errorf("%s: %v from an op that does not panic", where, err)
			}
		case errors.Is(err, actor.ErrPoolFull):
			kind = "full"
			if m.limit == 0 {
				t.Errorf("%s: %v without WithMaxQueued", where, err)
			}
		case errors.Is(err, actor.ErrPoolStopped):
			kind = "pool stopped"
			if !c.ended && !stoppedBefore {
				t.Errorf("%s: %v before the pool's end", where, err)
			}
		case errors.Is(err, actor.ErrCallCycle):
			kind = "cycle"
			if c.how != "nested" {
				t.Errorf("%s: %v, not called from a handler", where, err)
			}
		case errors.Is(err, actor.ErrTimeout):
			kind = "timeout"
			if c.final && (m.endHow == pmEndStop || m.endHow == pmEndShutdown || m.endHow == pmEndParentStop) {
				t.Errorf("%s: %v in the last batch of a graceful %s", where, err, pmEndNames[m.endHow])
			}
		case errors.Is(err, context.Canceled):
			kind = "cancelled"
			if !c.cancel {
				t.Errorf("%s: %v, but its ctx was not cancelled", where, err)
			}
		case errors.Is(err, actor.ErrStopped):
			kind = "stopped"
			// Refused at once before the Stop, as when the only worker
			// left is stopping by itself (CallPool's doc), is no
			// accepted call.
			refused := ran == 0 && c.back.Equal(c.start)
			if m.gentle && !c.ended && !refused {
				t.Errorf("%s: %v, though no worker was killed", where, err)
			}
			if c.final && m.endHow == pmEndStop && !(refused && !c.start.After(m.endAt)) ||
				c.final && (m.endHow == pmEndShutdown || m.endHow == pmEndParentStop) && !refused {
				t.Errorf("%s: %v: a call accepted before a graceful %s did not run", where, err, pmEndNames[m.endHow])
			}
		default:
			t.Errorf("%s: undocumented outcome %v", where, err)
		}
		if err != nil && errors.Is(err, actor.ErrPoolFull) && ran > 0 && !m.strat.first {
			t.Errorf("%s: refused with %v, but ran", where, err)
		}
		if c.final {
			kind = "final " + kind
		}
		kinds[kind]++
	}
	castKinds := map[string]int{}
	for id, err := range m.casts {
		ran, ls := m.ran[id], m.letters[id]
		where := fmt.Sprintf("cast %d (CastPool: %v, ran %d, letters %v)", id, err, ran, ls)
		graceful := m.endHow == pmEndStop || m.endHow == pmEndShutdown || m.endHow == pmEndParentStop
		if m.finalCasts[id] && graceful && err == nil && ran != 1 {
			t.Errorf("%s: accepted before a graceful %s, but did not run", where, pmEndNames[m.endHow])
		}
		switch {
		case err != nil && ran > 0:
			t.Errorf("%s: refused, yet ran", where)
		case err != nil && len(ls) != 1:
			t.Errorf("%s: refused, reported %d times, want once", where, len(ls))
		case err != nil:
			castKinds["refused"]++
		case ran > 1:
			t.Errorf("%s: ran %d times", where, ran)
		case ran == 1 && len(ls) == 0:
			castKinds["ran"]++
		case ran == 1 && len(ls) == 1 && ls[0].Reason == troupe.ReasonFailed:
			castKinds["failed"]++
		case ran == 1:
			t.Errorf("%s: ran and reported", where)
		case len(ls) == 1 && ls[0].Reason != troupe.ReasonFailed:
			castKinds["dead: "+ls[0].Reason.String()]++
		default:
			t.Errorf("%s: want run once or reported once", where)
		}
	}
	for _, d := range m.others {
		if d.Reason == troupe.ReasonFailed {
			t.Errorf("a failed pm.work letter without a cast's payload: %v", d)
		}
	}
	t.Logf("calls %v; casts %v", kinds, castKinds)
}
