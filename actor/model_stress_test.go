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

// The model test drives a runtime with a seeded random mix of operations
// (spawns, calls, casts, asks, stops, kills, pools, streams, timers,
// whitelists, actor.Go, nested calls and cycles, deferred replies, groups,
// OpenPool, owner-driven actors) in a synctest bubble,
// then shuts it down and checks global invariants:
//
//   - every sync call (Call, Ask's Await, CallPool, Open, nested calls
//     made by handlers) returned exactly once, with its own reply or an
//     error the docs name;
//   - every Cast (CastPool too) either ran exactly once or produced exactly
//     one dead letter carrying its payload, or both if its handler failed
//     (one ReasonFailed letter);
//   - every Stop, Shutdown and Close returned, every Done channel closed,
//     every stream reader ended with increasing sequence numbers;
//   - a deferred Reply's first Send returns nil or ErrLateReply, its
//     second ErrReplied; the caller got what was sent if and only if Send
//     returned nil; every late Send left one ReasonLate dead letter (and
//     nothing else left one, but a handler's panic after its caller gave up);
//   - a Call (deferred or not) with the runtime's call timeout, whose
//     actor stopped (well) before that deadline, never got ErrTimeout: the
//     stop gave it its outcome (a deferred Reply never sent: ErrStopped);
//   - no goroutine left (goleak in TestMain) and no data race (-race).

const (
	mOK uint8 = iota
	mErr
	mPanic
	mSleep
	mCall
	mGo
	mOnly
	mTimer
	mStopSelf
	mPump
	numModes
)

type mop struct {
	ID   int64
	Mode uint8
	Next uint8 // index of the actor a nested call goes to
	D    time.Duration
}

var errModel = errors.New("model: handler error")

type model struct {
	t       *testing.T
	mu      sync.Mutex
	refs    []*actor.Ref[*mnode]
	pools   []*actor.Pool[*mnode]
	groups  []*actor.Group[*mnode]
	firstG  map[*actor.Group[*mnode]]bool
	ran     map[int64]int    // handler runs per op ID
	casts   map[int64]mop    // casts issued (accepted or not)
	castErr map[int64]string // how each cast was sent, and its error
	first   map[*actor.Pool[*mnode]]bool
	multi   map[int64]bool // ops sent to a First pool: may run on several workers
	ok      map[int64]bool // sync calls that got their reply
	kinds   map[string]int // sync outcomes by kind, for the log
	ids     atomic.Int64
	issued  atomic.Int64 // sync calls issued
	done    atomic.Int64 // sync calls returned
	wg      sync.WaitGroup
	letters []troupe.DeadLetter

	// deferred replies
	sent    map[int64]bool                   // a Send of the op's Reply returned nil
	outcome map[int64]string                 // the sync outcome of each call, by op ID
	bgCalls map[int64]bgCall                 // Calls made with a background ctx
	late    int                              // Sends that returned ErrLateReply
	stopAt  map[*actor.Ref[*mnode]]time.Time // when each actor's Done closed
	dops    map[int64]bool                   // sync calls of mDefer
}

type bgCall struct {
	to    *actor.Ref[*mnode]
	start time.Time
}

type owedReply struct {
	q mop
	r *actor.Reply[int64]
}

type mnode struct {
	m     *model
	ticks int
	outs  []*mout
	owed  []owedReply // deferred Replies kept in the state, sent on a later turn
}

type mout struct {
	out *actor.Out[int]
	n   int
}

var (
	mWork  *actor.Method[*mnode, mop, int64]
	mDefer *actor.Method[*mnode, mop, int64]
	mTick  = actor.NewMethod("tick", func(n *mnode, c *actor.Ctx, _ int) (int, error) {
		n.ticks++
		if n.ticks%4 == 0 {
			c.CancelTimer("every")
		}
		n.pump()
		return 0, nil
	})
	mUnlock = actor.NewMethod("unlock", func(n *mnode, c *actor.Ctx, _ int) (int, error) { c.AdmitAll(); return 0, nil })
	mGoDone = actor.NewMethod("godone", func(n *mnode, c *actor.Ctx, r actor.Result[int64]) (int, error) { return 0, nil })
	mStream = actor.NewStream("feed", func(n *mnode, c *actor.Ctx, req mop, out *actor.Out[int]) error {
		n.m.mark(req.ID)
		o := &mout{out: out}
		for range int(req.D % 7) {
			o.send()
		}
		switch req.Mode % 5 {
		case 0:
			return out.Close(nil)
		case 1:
			return errModel
		case 2:
			if req.D%3 == 0 {
				panic("model: stream panic")
			}
		}
		n.outs = append(n.outs, o) // left open: later pumps and ticks send more
		return nil
	}, actor.WithJournal(8, 1<<20))
)

func init() {
	mWork = actor.NewMethod("work", func(n *mnode, c *actor.Ctx, q mop) (int64, error) { return n.work(c, q) })
	mDefer = actor.NewDeferred("defer", func(n *mnode, c *actor.Ctx, q mop, r *actor.Reply[int64]) { n.deferred(c, q, r) })
}

// deferred handles mDefer: by q.Next%4 it sends its Reply in the turn,
// keeps it in the state for a later turn, hands it to a goroutine, or
// drops it (the actor's stop must fail its caller).
func (n *mnode) deferred(c *actor.Ctx, q mop, r *actor.Reply[int64]) {
	m := n.m
	m.mark(q.ID)
	n.payOwed()
	if q.Mode == mPanic {
		panic(fmt.Sprintf("model: deferred panic in op %d", q.ID))
	}
	switch q.Next % 4 {
	case 0:
		m.send(q, r)
	case 1:
		n.owed = append(n.owed, owedReply{q, r})
	case 2:
		ctx := r.Context()
		d := q.D
		m.wg.Go(func() {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
			m.send(q, r)
		})
	}
}

func (n *mnode) payOwed() {
	for _, o := range n.owed {
		n.m.send(o.q, o.r)
	}
	n.owed = nil
}

// send sends q's deferred reply, then again, and checks both.
func (m *model) send(q mop, r *actor.Reply[int64]) {
	v, err := q.ID, error(nil)
	if q.Mode == mErr {
		v, err = 0, errModel
	}
	e := r.Send(v, err)
	if e2 := r.Send(v, err); !errors.Is(e2, actor.ErrReplied) {
		m.t.Errorf("op %d: second Send: %v, want ErrReplied", q.ID, e2)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case e == nil:
		m.sent[q.ID] = true
	case errors.Is(e, actor.ErrLateReply):
		m.late++
	default:
		m.t.Errorf("op %d: Send: %v", q.ID, e)
	}
}

func (o *mout) send() {
	if o.out.Send(o.n) == nil {
		o.n++
	}
}

func (n *mnode) pump() {
	n.payOwed()
	for i, o := range n.outs {
		if o != nil {
			o.send()
			if o.n > 20 {
				_ = o.out.Close(nil)
				n.outs[i] = nil
			}
		}
	}
}

func (m *model) mark(id int64) {
	m.mu.Lock()
	m.ran[id]++
	m.mu.Unlock()
}

func (m *model) ref(i uint8) *actor.Ref[*mnode] {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.refs) == 0 {
		return nil
	}
	return m.refs[int(i)%len(m.refs)]
}

func (n *mnode) work(c *actor.Ctx, q mop) (int64, error) {
	m := n.m
	m.mark(q.ID)
	switch q.Mode {
	case mErr:
		return 0, errModel
	case mPanic:
		panic(fmt.Sprintf("model: panic in op %d", q.ID))
	case mSleep:
		select {
		case <-time.After(q.D):
		case <-c.Context().Done():
		}
	case mCall:
		if to := m.ref(q.Next); to != nil {
			ctx, cancel := context.WithTimeout(c.Context(), q.D+time.Millisecond)
			mode := mOK
			if q.D%2 == 0 {
				mode = mCall // a chain, maybe a cycle
			}
			m.call(ctx, to, mop{ID: m.ids.Add(1), Mode: mode, Next: q.Next + 1, D: q.D / 2})
			cancel()
		}
	case mGo:
		d := q.D
		_ = actor.Go(c, func(ctx context.Context) (int64, error) {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
			return q.ID, nil
		}, mGoDone)
	case mOnly:
		if err := c.Only(mUnlock, mTick); err != nil {
			m.t.Errorf("Only: %v", err)
		}
		_ = actor.After(c, "unlock", q.D, mUnlock, 0)
	case mTimer:
		if q.D%2 == 0 {
			_ = actor.After(c, "after"+strconv.Itoa(int(q.D%3)), q.D, mTick, 0)
		} else {
			_ = actor.Every(c, "every", 50*time.Millisecond+q.D, mTick, 0)
		}
	case mStopSelf:
		c.Stop()
	case mPump:
		n.pump()
	}
	return q.ID, nil
}

// call makes one sync call and checks its outcome.
func (m *model) call(ctx context.Context, to *actor.Ref[*mnode], q mop) {
	m.callWith(ctx, mWork, to, q)
}

func (m *model) callWith(ctx context.Context, meth *actor.Method[*mnode, mop, int64], to *actor.Ref[*mnode], q mop) {
	m.issued.Add(1)
	defer m.done.Add(1)
	if meth == mDefer {
		m.mu.Lock()
		m.dops[q.ID] = true
		m.mu.Unlock()
	}
	if ctx == context.Background() {
		m.mu.Lock()
		m.bgCalls[q.ID] = bgCall{to: to, start: time.Now()}
		m.mu.Unlock()
	}
	r, err := meth.Call(ctx, to, q)
	m.checkReply(q, r, err, "Call")
}

func (m *model) checkReply(q mop, r int64, err error, what string) {
	if err == nil {
		if r != q.ID && what != "Open" {
			m.t.Errorf("%s(op %d): reply %d, not its own", what, q.ID, r)
		}
		m.mu.Lock()
		m.ok[q.ID] = true
		m.kinds["reply"]++
		m.outcome[q.ID] = "reply"
		m.mu.Unlock()
		return
	}
	var pe *actor.PanicError
	m.mu.Lock()
	m.kinds[outcomeKind(err)]++
	m.outcome[q.ID] = outcomeKind(err)
	m.mu.Unlock()
	switch {
	case errors.Is(err, errModel), errors.As(err, &pe), errors.Is(err, actor.ErrTimeout),
		errors.Is(err, actor.ErrStopped), errors.Is(err, actor.ErrMailboxFull),
		errors.Is(err, actor.ErrCallCycle), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
	default:
		m.t.Errorf("%s(op %d, mode %d): unexpected error %v", what, q.ID, q.Mode, err)
	}
}

func (m *model) hook(d troupe.DeadLetter) {
	m.mu.Lock()
	m.letters = append(m.letters, d)
	m.mu.Unlock()
}

func (m *model) randOp(rng *rand.Rand) mop {
	q := mop{ID: m.ids.Add(1), Mode: uint8(rng.IntN(int(numModes))), Next: uint8(rng.IntN(256)),
		D: time.Duration(rng.IntN(300)) * time.Millisecond}
	if q.Mode == mStopSelf && rng.IntN(3) > 0 {
		q.Mode = mOK // stopping oneself is rare
	}
	return q
}

func (m *model) randCtx(rng *rand.Rand) (context.Context, context.CancelFunc) {
	switch rng.IntN(3) {
	case 0:
		return context.Background(), func() {}
	case 1:
		return context.WithTimeout(context.Background(), time.Duration(1+rng.IntN(400))*time.Millisecond)
	default:
		ctx, cancel := context.WithCancel(context.Background())
		return ctx, cancel
	}
}

func (m *model) spawn(rt *troupe.Runtime, rng *rand.Rand, step int) {
	var opts []actor.Option
	if rng.IntN(2) == 0 {
		opts = append(opts, actor.WithName("a"+strconv.Itoa(step)))
	}
	if rng.IntN(3) == 0 {
		opts = append(opts, actor.WithMailbox(1+rng.IntN(4), []actor.Overflow{actor.Reject, actor.DropOldest, actor.Block}[rng.IntN(3)]))
	}
	var ref *actor.Ref[*mnode]
	var err error
	switch rng.IntN(4) {
	case 3: // owner-driven: a goroutine of the test runs its turns
		var h *actor.Handler[*mnode]
		h, err = actor.NewHandler(rt, &mnode{m: m}, opts...)
		if err == nil {
			ref = h.Ref()
			forever, tick := rng.IntN(2) == 0, time.Duration(1+rng.IntN(20))*time.Millisecond
			m.wg.Go(func() { m.drive(h, forever, tick) })
		}
	case 0:
		ref, err = actor.Spawn(rt, &mnode{m: m}, opts...)
	case 1:
		opts = append(opts, actor.WithSupervision(actor.Supervision{Directive: actor.Restart, MaxRestarts: 2, Backoff: 5 * time.Millisecond}))
		ref, err = actor.SpawnFunc(rt, func() *mnode { return &mnode{m: m} }, opts...)
	default:
		opts = append(opts, actor.WithSupervision(actor.Supervision{Directive: actor.Terminate}))
		ref, err = actor.Spawn(rt, &mnode{m: m}, opts...)
	}
	if err != nil {
		m.t.Fatalf("spawn: %v", err)
	}
	m.mu.Lock()
	m.refs = append(m.refs, ref)
	m.mu.Unlock()
	m.wg.Go(func() {
		<-ref.Done()
		m.mu.Lock()
		m.stopAt[ref] = time.Now()
		m.mu.Unlock()
	})
}

// drive is the owner of an owner-driven actor: it runs its turns, at
// ticks or with Forever (returning now and then), until the actor stops.
func (m *model) drive(h *actor.Handler[*mnode], forever bool, tick time.Duration) {
	for {
		var err error
		if forever {
			ctx, cancel := context.WithTimeout(context.Background(), 10*tick)
			err = h.Process(ctx, actor.Forever())
			cancel()
		} else {
			err = h.Process(context.Background())
		}
		if errors.Is(err, actor.ErrStopped) {
			return
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, actor.ErrProcessing) {
			m.t.Errorf("Process: %v", err)
		}
		select {
		case <-h.Ref().Done():
			return
		case <-time.After(tick):
		}
	}
}

// newGroup makes a group of a few of the actors (some maybe stopped).
func (m *model) newGroup(rng *rand.Rand) {
	var members []*actor.Ref[*mnode]
	for range 1 + rng.IntN(4) {
		members = append(members, m.ref(uint8(rng.IntN(256))))
	}
	strategies := []func() actor.PoolOption{
		actor.RoundRobin, actor.Random, actor.LeastBusy,
		func() actor.PoolOption { return actor.Hash(func(q mop) string { return strconv.Itoa(int(q.ID % 5)) }) },
		func() actor.PoolOption { return actor.First(time.Duration(rng.IntN(20)) * time.Millisecond) },
	}
	si := rng.IntN(len(strategies))
	opts := []actor.PoolOption{strategies[si]()}
	if rng.IntN(3) == 0 {
		opts = append(opts, actor.WithMaxQueued(1+rng.IntN(4)))
	}
	g, err := actor.NewGroup(members, opts...)
	if errors.Is(err, actor.ErrEmptyGroup) {
		return
	}
	if err != nil {
		m.t.Fatalf("NewGroup: %v", err)
	}
	m.mu.Lock()
	m.groups = append(m.groups, g)
	m.firstG[g] = si == len(strategies)-1
	m.mu.Unlock()
}

type mrouter struct {
	r     actor.Router[*mnode]
	pool  *actor.Pool[*mnode]  // or
	group *actor.Group[*mnode] // or
	first bool
}

// router picks a pool or a group.
func (m *model) router(rng *rand.Rand) (mrouter, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.pools) + len(m.groups)
	if n == 0 {
		return mrouter{}, false
	}
	if i := rng.IntN(n); i < len(m.pools) {
		p := m.pools[i]
		return mrouter{r: p, pool: p, first: m.first[p]}, true
	} else {
		g := m.groups[i-len(m.pools)]
		return mrouter{r: g, group: g, first: m.firstG[g]}, true
	}
}

// refused reports whether err is a router's refusal to route.
func refused(err error) bool {
	return errors.Is(err, actor.ErrPoolFull) || errors.Is(err, actor.ErrPoolStopped) || errors.Is(err, actor.ErrEmptyGroup)
}

func (m *model) newPool(rt *troupe.Runtime, rng *rand.Rand) {
	strategies := []func() actor.PoolOption{
		actor.RoundRobin, actor.Random, actor.LeastBusy, actor.Balancing,
		func() actor.PoolOption { return actor.Hash(func(q mop) string { return strconv.Itoa(int(q.ID % 5)) }) },
		func() actor.PoolOption { return actor.First(time.Duration(rng.IntN(20)) * time.Millisecond) },
	}
	si := rng.IntN(len(strategies))
	opts := []actor.PoolOption{strategies[si]()}
	if rng.IntN(3) == 0 {
		opts = append(opts, actor.WithMaxQueued(1+rng.IntN(4)))
	}
	p, err := actor.NewPool(rt, 1+rng.IntN(4), func() *mnode { return &mnode{m: m} }, opts...)
	if err != nil {
		m.t.Fatalf("NewPool: %v", err)
	}
	m.mu.Lock()
	m.pools = append(m.pools, p)
	if si == len(strategies)-1 {
		m.first[p] = true
	}
	m.mu.Unlock()
}

func (m *model) pool(rng *rand.Rand) *actor.Pool[*mnode] {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pools) == 0 {
		return nil
	}
	return m.pools[rng.IntN(len(m.pools))]
}

// read reads f until it ends or leave items were read, checking order.
func (m *model) read(f *actor.Follow[int], leave int) {
	defer f.Close()
	last := int64(-1)
	n := 0
	for it, err := range f.All() {
		if err != nil {
			return
		}
		if int64(it.Seq) <= last || it.V != int(it.Seq) {
			m.t.Errorf("stream %d: item %d (%d) after %d", f.ID(), it.Seq, it.V, last)
		}
		last = int64(it.Seq)
		if n++; n == leave {
			return
		}
	}
}

func (m *model) step(rt *troupe.Runtime, rng *rand.Rand, step int) {
	to := m.ref(uint8(rng.IntN(256)))
	switch k := rng.IntN(100); {
	case k < 10 || to == nil:
		m.spawn(rt, rng, step)
	case k < 30: // Call
		q := m.randOp(rng)
		ctx, cancel := m.randCtx(rng)
		cancelEarly := rng.IntN(4) == 0
		meth := mWork
		if rng.IntN(3) == 0 {
			meth = mDefer
		}
		m.wg.Go(func() { defer cancel(); m.callWith(ctx, meth, to, q) })
		if cancelEarly {
			time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
			cancel()
		}
	case k < 50: // Cast
		q := m.randOp(rng)
		meth := mWork
		if rng.IntN(3) == 0 {
			meth = mDefer
			if q.Mode == mErr {
				q.Mode = mOK // a oneway's Send error has no payload to match
			}
		}
		m.mu.Lock()
		m.casts[q.ID] = q
		m.mu.Unlock()
		err := meth.Cast(to, q)
		m.mu.Lock()
		m.castErr[q.ID] = fmt.Sprintf("Cast to %v: %v", to, err)
		m.mu.Unlock()
	case k < 58: // Ask, awaited later
		q := m.randOp(rng)
		ctx, cancel := m.randCtx(rng)
		m.issued.Add(1)
		f := mWork.Ask(ctx, to, q)
		wait := time.Duration(rng.IntN(100)) * time.Millisecond
		m.wg.Go(func() {
			defer cancel()
			defer m.done.Add(1)
			time.Sleep(wait)
			r, err := f.Await(context.Background())
			m.checkReply(q, r, err, "Ask")
		})
	case k < 62: // Stop
		ctx, cancel := m.randCtx(rng)
		m.wg.Go(func() {
			defer cancel()
			_ = to.Stop(ctx)
			if ctx.Err() == nil {
				<-to.Done()
			}
		})
	case k < 64:
		to.Kill()
	case k < 67:
		m.newPool(rt, rng)
	case k < 77: // CallPool / CastPool, on a pool or a group
		p, ok := m.router(rng)
		if !ok {
			m.newPool(rt, rng)
			return
		}
		q := m.randOp(rng)
		if q.Mode == mStopSelf && p.pool != nil {
			q.Mode = mSleep
		}
		meth := mWork
		if rng.IntN(3) == 0 {
			meth = mDefer
		}
		m.mu.Lock()
		m.multi[q.ID] = p.first
		m.dops[q.ID] = meth == mDefer
		m.mu.Unlock()
		if rng.IntN(3) == 0 {
			if meth == mDefer && q.Mode == mErr {
				q.Mode = mOK
			}
			m.mu.Lock()
			m.casts[q.ID] = q
			m.mu.Unlock()
			err := actor.CastPool(meth, p.r, q)
			m.mu.Lock()
			m.castErr[q.ID] = fmt.Sprintf("CastPool: %v", err)
			m.mu.Unlock()
			return
		}
		ctx, cancel := m.randCtx(rng)
		m.issued.Add(1)
		m.wg.Go(func() {
			defer cancel()
			defer m.done.Add(1)
			r, err := actor.CallPool(ctx, meth, p.r, q)
			if refused(err) {
				return
			}
			m.checkReply(q, r, err, "CallPool")
		})
	case k < 80: // make a group, change one, close one
		g := func() *actor.Group[*mnode] {
			m.mu.Lock()
			defer m.mu.Unlock()
			if len(m.groups) == 0 || rng.IntN(3) == 0 {
				return nil
			}
			return m.groups[rng.IntN(len(m.groups))]
		}()
		switch {
		case g == nil:
			m.newGroup(rng)
		case rng.IntN(10) == 0:
			g.Close()
		case rng.IntN(2) == 0:
			if err := g.Add(to); err != nil && !errors.Is(err, actor.ErrStopped) && !errors.Is(err, actor.ErrPoolStopped) {
				m.t.Errorf("Group.Add: %v", err)
			}
		default:
			g.Remove(to)
		}
	case k < 82: // stop, kill, resize or broadcast to a pool
		if p := m.pool(rng); p != nil {
			switch rng.IntN(4) {
			case 0:
				if err := p.Resize(1 + rng.IntN(4)); err != nil && !errors.Is(err, actor.ErrPoolStopped) {
					m.t.Errorf("Resize: %v", err)
				}
				return
			case 1:
				q := m.randOp(rng)
				q.Mode = []uint8{mOK, mErr, mSleep, mPanic}[rng.IntN(4)]
				ctx, cancel := m.randCtx(rng)
				m.mu.Lock()
				m.multi[q.ID] = true
				m.mu.Unlock()
				m.issued.Add(1)
				m.wg.Go(func() {
					defer cancel()
					defer m.done.Add(1)
					rs, _ := actor.BroadcastPool(ctx, mWork, p, q)
					for _, r := range rs {
						if r != 0 && r != q.ID {
							m.t.Errorf("BroadcastPool(op %d): reply %d", q.ID, r)
						}
					}
				})
				return
			}
			if rng.IntN(2) == 0 {
				p.Kill()
			} else {
				ctx, cancel := m.randCtx(rng)
				m.wg.Go(func() { defer cancel(); _ = p.Stop(ctx) })
			}
		}
	case k < 92: // streams
		q := m.randOp(rng)
		ctx, cancel := m.randCtx(rng)
		leave := rng.IntN(6)
		followers := rng.IntN(3)
		var opts []actor.FollowOption
		if rng.IntN(3) == 0 {
			opts = append(opts, actor.ReadTimeout(time.Duration(1+rng.IntN(100))*time.Millisecond))
		}
		seeds := []int{rng.IntN(10), rng.IntN(10), rng.IntN(2)}
		p, viaPool := m.router(rng)
		viaPool = viaPool && rng.IntN(3) == 0
		m.issued.Add(1)
		m.wg.Go(func() {
			defer cancel()
			var f *actor.Follow[int]
			var err error
			if viaPool {
				m.mu.Lock()
				m.multi[q.ID] = p.first // round robin, so once; but the same op ID
				m.mu.Unlock()
				f, err = actor.OpenPool(ctx, mStream, p.r, q, opts...)
				if err == nil {
					followers = 0 // its worker is unknown
				}
			} else {
				f, err = mStream.Open(ctx, to, q, opts...)
			}
			m.done.Add(1)
			if viaPool && refused(err) {
				return
			}
			if err != nil {
				if !errors.Is(err, errModel) {
					m.checkReply(q, 0, err, "Open")
				}
				return
			}
			for i := range followers {
				fo := actor.Since(uint64(seeds[i]))
				if seeds[2] == 1 {
					fo = actor.Recent(seeds[i])
				}
				g, err := mStream.Follow(ctx, to, f.ID(), fo)
				if err != nil {
					if !errors.Is(err, actor.ErrNoStream) && !errors.Is(err, actor.ErrStopped) {
						m.t.Errorf("Follow: %v", err)
					}
					continue
				}
				m.wg.Go(func() { m.read(g, leave+i) })
			}
			m.checkReply(q, 0, nil, "Open")
			m.read(f, leave)
		})
	default: // let time pass
		time.Sleep(time.Duration(rng.IntN(50)) * time.Millisecond)
	}
}

func TestModelStress(t *testing.T) {
	const seeds, steps = 60, 400
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			testkit.Bubble(t, func(t *testing.T) { runModel(t, seed, steps) })
		})
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	m := &model{t: t, ran: map[int64]int{}, casts: map[int64]mop{}, castErr: map[int64]string{}, multi: map[int64]bool{}, first: map[*actor.Pool[*mnode]]bool{}, ok: map[int64]bool{}, kinds: map[string]int{},
		firstG: map[*actor.Group[*mnode]]bool{}, sent: map[int64]bool{}, outcome: map[int64]string{}, bgCalls: map[int64]bgCall{}, dops: map[int64]bool{}, stopAt: map[*actor.Ref[*mnode]]time.Time{}}
	rng := rand.New(rand.NewPCG(seed, 0x7e57))
	rt, err := troupe.New(troupe.WithDeadLetterHook(m.hook), troupe.WithCallTimeout(time.Second),
		troupe.WithThroughput([]int{1, 3, 256}[rng.IntN(3)]), troupe.WithPoolSize([]int{1, 4, -1}[rng.IntN(3)]),
		troupe.WithErrorHook(func(err error) { t.Errorf("error hook: %v", err) }))
	if err != nil {
		t.Fatal(err)
	}
	for i := range steps {
		m.step(rt, rng, i)
		if rng.IntN(4) == 0 {
			time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(200))*time.Millisecond)
	_ = rt.Shutdown(ctx)
	cancel()
	if err := rt.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	m.wg.Wait()

	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.refs {
		select {
		case <-r.Done():
		default:
			t.Errorf("%v: Done not closed after Close", r)
		}
	}
	for i, p := range m.pools {
		select {
		case <-p.Done():
		default:
			t.Errorf("pool %d: Done not closed after Close", i)
		}
	}
	if i, d := m.issued.Load(), m.done.Load(); i != d {
		t.Errorf("sync calls: %d issued, %d returned", i, d)
	}
	for id, n := range m.ran {
		if n > 1 && !m.multi[id] {
			t.Errorf("op %d ran %d times", id, n)
		}
	}
	for id := range m.ok {
		if m.ran[id] == 0 {
			t.Errorf("op %d got its reply but never ran", id)
		}
	}
	for id, kind := range m.outcome {
		if m.multi[id] {
			continue
		}
		if got := kind == "reply" || kind == "handler error"; m.dops[id] && got != m.sent[id] {
			t.Errorf("deferred op %d: caller got %q, but its Reply's Send returned nil: %v", id, kind, m.sent[id])
		}
	}
	for id, dc := range m.bgCalls {
		at, stopped := m.stopAt[dc.to]
		deadline := dc.start.Add(time.Second)
		if m.outcome[id] == "timeout" && stopped && at.Before(deadline.Add(-time.Millisecond)) {
			t.Errorf("op %d to %v: ErrTimeout at %v, though the actor stopped at %v", id, dc.to, deadline, at)
		}
	}
	lateLetters := 0
	for _, d := range m.letters {
		var pe *actor.PanicError // a panic after the caller gave up is late too
		if d.Method == mDefer.Name() && d.Reason == troupe.ReasonLate && !errors.As(d.Err, &pe) {
			lateLetters++
		}
	}
	if lateLetters != m.late {
		t.Errorf("%d Sends returned ErrLateReply, %d ReasonLate dead letters", m.late, lateLetters)
	}
	letters := map[int64][]troupe.DeadLetter{}
	for _, d := range m.letters {
		if q, ok := d.Payload.(mop); ok && (d.Method == mWork.Name() || d.Method == mDefer.Name()) {
			if _, cast := m.casts[q.ID]; !cast {
				t.Errorf("dead letter %v carries op %d, not a oneway", d, q.ID)
			}
			letters[q.ID] = append(letters[q.ID], d)
		}
	}
	for id, q := range m.casts {
		ran, ls := m.ran[id], letters[id]
		switch {
		case ran == 0 && len(ls) == 1, ran == 1 && len(ls) == 0 && q.Mode != mErr && q.Mode != mPanic:
		case ran == 1 && len(ls) == 1 && ls[0].Reason == troupe.ReasonFailed && (q.Mode == mErr || q.Mode == mPanic):
		default:
			t.Errorf("cast %d (mode %d, %s): ran %d times, dead letters %v", id, q.Mode, m.castErr[id], ran, ls)
		}
	}
	t.Logf("seed %d: %d actors, %d pools, %d groups, %d sync calls (%d deferred), %d casts, %d dead letters, %d late Sends", seed, len(m.refs), len(m.pools), len(m.groups), m.issued.Load(), len(m.dops), len(m.casts), len(m.letters), m.late)
	t.Logf("seed %d: sync outcomes %v", seed, m.kinds)
}

func outcomeKind(err error) string {
	var pe *actor.PanicError
	for _, k := range []struct {
		s   string
		err error
	}{{"cycle", actor.ErrCallCycle}, {"dropped", actor.ErrDropped}, {"full", actor.ErrMailboxFull}, {"stopped", actor.ErrStopped},
		{"timeout", actor.ErrTimeout}, {"canceled", context.Canceled}, {"handler error", errModel}} {
		if errors.Is(err, k.err) {
			return k.s
		}
	}
	if errors.As(err, &pe) {
		return "panic"
	}
	return "other"
}
