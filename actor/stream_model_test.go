package actor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
)

// The stream model test drives, over many seeds, in a synctest bubble, a
// host actor's streams with small journals (so truncation happens):
// producers that Send and SendWait on the handler's turn, on later turns
// and from goroutines, and close with nil or an error, or leave the end to
// the host's stop or kill; readers that attach (Open, Stream.Follow,
// Follow.Follow, Out.Follow) with Since or Recent at random times, read
// with All or Collected, break out, close early, have their ctx cancelled
// or its deadline pass, time out, and resume after a *TruncatedError with
// Since(Oldest). Invariants:
//
//   - each reader chain (a reader and the ones it resumed as) reads items
//     in sequence order with no gap except one reported by a
//     *TruncatedError, whose Oldest is past the gap's start, no earlier
//     than the journal's bound allows and below the tail;
//   - every reader agrees on each sequence number's item, and reads only
//     items whose Send returned nil;
//   - each reader gets one end and then nothing: the stream's (the same
//     for every reader, the winning Close's if one returned nil; a reader
//     that got it read up to the stream's last item), or one of its own
//     doing (Close, break, ctx, read timeout, truncation);
//   - on a stream whose producers use SendWait only, a reader that keeps
//     reading is never truncated (unless its Since asked for an item
//     already dropped);
//   - the producer's Out.Context is not cancelled for want of readers
//     while a reader attached when it was live is still attached, and it
//     is done once every reader has left;
//   - everything ends: the bubble ends with no goroutine left.
func TestStreamModelRandom(t *testing.T) {
	seeds := 1000
	if testing.Short() {
		seeds = 100
	}
	for seed := range testkit.Seeds(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			bubble(t, func(t *testing.T) { runStreamModel(t, seed) })
		})
	}
	smStats.mu.Lock()
	t.Logf("exercised: %v", smStats.n)
	smStats.mu.Unlock()
}

var (
	errSMRet    = errors.New("sm: handler returned an error")
	errSMClose  = errors.New("sm: producer closed with an error")
	errSMCancel = errors.New("sm: reader cancelled")
	errSMAll    = errors.New("sm: every reader cancelled")
)

// smErr is errSMRet or errSMClose for one stream, to tell its dead
// letters from another's.
type smErr struct {
	kind error
	id   int
}

func (e *smErr) Error() string        { return fmt.Sprintf("%v (stream %d)", e.kind, e.id) }
func (e *smErr) Is(target error) bool { return target == e.kind }

// smStats counts what the seeds exercised, for the log.
var smStats struct {
	mu sync.Mutex
	n  map[string]int
}

func smCount(what string) {
	smStats.mu.Lock()
	if smStats.n == nil {
		smStats.n = map[string]int{}
	}
	smStats.n[what]++
	smStats.mu.Unlock()
}

type smHost struct{ outs map[int]*actor.Out[int] }

// smPlan is a stream's producer plan, chosen by the driver.
type smPlan struct {
	st       *smStream
	turnN    int  // items sent on the handler's turn
	turnWait bool // some of them with SendWait
	keep     bool // keep the Out for later turns (emit)
	goN      int  // items a goroutine sends, -1: no goroutine
	goWatch  bool // the goroutine stops once Out.Context is done
	goEnd    int  // 0: leave open, 1: Close(nil), 2: Close(errSMClose)
	goMore   int  // more goroutines like it
	ret      int  // 0: return nil, 1: return errSMRet, 2: Close(nil) on the turn
}

type smEmit struct {
	id    int
	n     int
	close int // 0: no, 1: Close(nil), 2: Close(errSMClose)
}

var (
	smStreams = map[[2]int]*actor.Stream[*smHost, smPlan, int]{}
	smEmitM   = actor.NewMethod("smemit", func(h *smHost, _ *actor.Ctx, e smEmit) (struct{}, error) {
		out := h.outs[e.id]
		st := smByID(e.id)
		if out == nil {
			return struct{}{}, nil // its Open failed before the handler ran, or is yet to run it
		}
		for range e.n {
			st.send(out, false, nil)
		}
		st.close(out, e.close)
		return struct{}{}, nil
	})
	smReg   sync.Mutex
	smByIDm = map[int]*smStream{}
)

func smByID(id int) *smStream {
	smReg.Lock()
	defer smReg.Unlock()
	return smByIDm[id]
}

// smStreamFor is the stream method with a journal of k items and, if
// bytes > 0, of bytes bytes counted by smSize.
func smStreamFor(k, bytes int) *actor.Stream[*smHost, smPlan, int] {
	smReg.Lock()
	defer smReg.Unlock()
	if s := smStreams[[2]int{k, bytes}]; s != nil {
		return s
	}
	opts := []actor.StreamOption{actor.WithJournal(k, 1<<20)}
	if bytes > 0 {
		opts = []actor.StreamOption{actor.WithJournal(k, bytes), actor.WithItemSize(smSize)}
	}
	s := actor.NewStream(fmt.Sprintf("sm%d.%d", k, bytes), smHandler, opts...)
	smStreams[[2]int{k, bytes}] = s
	return s
}

// smSize is an item's size in a byte-bounded journal: 0 to 6.
func smSize(v int) int { return v % 7 }

func smHandler(h *smHost, c *actor.Ctx, p smPlan, out *actor.Out[int]) error {
	st := p.st
	st.setOut(out)
	for i := range p.turnN {
		if p.turnWait && i%2 == 0 {
			ctx, cancel := context.WithTimeout(c.Context(), 5*time.Millisecond)
			st.send(out, true, ctx)
			cancel()
		} else {
			st.send(out, false, nil)
		}
	}
	if p.keep {
		h.outs[st.id] = out
	}
	if p.goN >= 0 {
		for range 1 + p.goMore {
			st.m.wg.Go(func() { st.produce(out, p) })
		}
	}
	switch p.ret {
	case 1:
		st.mu.Lock()
		st.retErr = true
		st.mu.Unlock()
		return st.retE
	case 2:
		st.close(out, 1)
	}
	return nil
}

type smModel struct {
	t    *testing.T
	seed uint64
	mu   sync.Mutex
	rng  *rand.Rand // guarded by mu
	wg   sync.WaitGroup
	errs []string
	ref  *actor.Ref[*smHost]

	stopped atomic.Bool // Stop or Kill issued
	ended   []smEnded   // readers that got their stream's end (guarded by mu)
}

// smEnded is a reader that got its stream's end, as it was then.
type smEnded struct {
	st    *smStream
	name  string
	next  uint64
	known bool
	read  int
	log   []string
}

func (m *smModel) intn(n int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rng.IntN(n)
}

func (m *smModel) chance(pct int) bool { return m.intn(100) < pct }

func (m *smModel) dur(maxMs int) time.Duration {
	return time.Duration(m.intn(maxMs*1000)) * time.Microsecond
}

func (m *smModel) fail(format string, args ...any) {
	m.mu.Lock()
	m.errs = append(m.errs, fmt.Sprintf(format, args...))
	m.mu.Unlock()
}

// smStream is the model's view of one stream.
type smStream struct {
	m    *smModel
	id   int
	k    int
	wait bool // producers use SendWait only (after a turn that fits)
	s    *actor.Stream[*smHost, smPlan, int]

	outc     chan struct{} // closed once out is set
	opened   chan struct{} // closed once Open has returned
	out      *actor.Out[int]
	attempts atomic.Int64 // Sends begun
	sent     atomic.Int64 // Sends that returned nil

	mu           sync.Mutex
	vals         map[int]bool   // values whose Send returned nil
	tried        map[int]bool   // values whose Send began
	seqVal       map[uint64]int // what readers read at each seq
	valSeq       map[int]uint64 // and back
	next         int            // the next value
	closeWon     *error         // the end a Close that returned nil set
	retErr       bool           // the handler returned errSMRet
	retE, closeE error
	ends         []error // the stream ends readers got
	first        *actor.Follow[int]
}

func (st *smStream) setOut(out *actor.Out[int]) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.out == nil {
		st.out = out
		close(st.outc)
	}
}

// send sends the next value with Send, or SendWait bounded by ctx.
func (st *smStream) send(out *actor.Out[int], wait bool, ctx context.Context) error {
	st.mu.Lock()
	v := st.id*1_000_000 + st.next
	st.next++
	st.tried[v] = true
	st.mu.Unlock()
	st.attempts.Add(1)
	var err error
	if wait {
		err = out.SendWait(ctx, v)
	} else {
		err = out.Send(v)
	}
	if err == nil {
		st.mu.Lock()
		st.vals[v] = true
		st.mu.Unlock()
		st.sent.Add(1)
		return nil
	}
	if !errors.Is(err, actor.ErrStreamClosed) && !(wait && (errors.Is(err, actor.ErrTimeout) || ctx.Err() != nil)) {
		st.m.fail("stream %d: send(wait %v): unexpected error %v", st.id, wait, err)
	}
	return err
}

func (st *smStream) close(out *actor.Out[int], how int) {
	var end error
	switch how {
	case 0:
		return
	case 2:
		end = st.closeE
	}
	err := out.Close(end)
	if err == nil {
		st.mu.Lock()
		if st.closeWon != nil {
			st.m.fail("stream %d: two Closes returned nil", st.id)
		}
		st.closeWon = &end
		st.mu.Unlock()
	} else if !errors.Is(err, actor.ErrStreamClosed) {
		st.m.fail("stream %d: Close: %v", st.id, err)
	}
}

// produce is the goroutine producer.
func (st *smStream) produce(out *actor.Out[int], p smPlan) {
	m := st.m
	ctx := out.Context()
	for range p.goN {
		time.Sleep(m.dur(8))
		if p.goWatch && ctx.Err() != nil {
			break
		}
		var err error
		switch {
		case st.wait && p.goWatch:
			err = st.send(out, true, ctx)
		case st.wait || m.chance(30):
			wctx, cancel := context.WithTimeout(context.Background(), m.dur(40)+time.Millisecond)
			err = st.send(out, true, wctx)
			cancel()
		default:
			err = st.send(out, false, nil)
		}
		if errors.Is(err, actor.ErrStreamClosed) {
			return
		}
	}
	st.close(out, p.goEnd)
}

// smReader is one reader chain.
type smReader struct {
	st    *smStream
	name  string
	ctx   context.Context
	log   []string
	next  uint64 // the next seq expected, if known
	known bool
	since bool // this segment began with Since(next)
	first bool // this segment has had no outcome yet
	read  int  // items read in this segment
	last  uint64

	leaving  atomic.Bool // a Close or cancel of it was triggered
	deadline bool
	timeout  bool
	closedBy atomic.Bool
	broke    bool
}

func (r *smReader) fail(format string, args ...any) {
	tail := r.log
	if len(tail) > 12 {
		tail = tail[len(tail)-12:]
	}
	r.st.m.fail("stream %d (k %d, wait %v) %s: %s\n\t%s", r.st.id, r.st.k, r.st.wait, r.name, fmt.Sprintf(format, args...), strings.Join(tail, "\n\t"))
}

func (r *smReader) logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf(format, args...))
}

// item checks one item read.
func (r *smReader) item(it actor.Item[int], live bool) {
	st := r.st
	if r.known && it.Seq != r.next {
		r.fail("read seq %d; want %d", it.Seq, r.next)
	}
	r.logf("item %d=%d", it.Seq, it.V)
	r.known, r.next, r.first = true, it.Seq+1, false
	r.read++
	r.last = it.Seq
	st.mu.Lock()
	if !st.tried[it.V] {
		r.fail("read value %d at %d, which no Send sent", it.V, it.Seq)
	}
	if v, ok := st.seqVal[it.Seq]; ok && v != it.V {
		r.fail("read %d at %d; another reader read %d there", it.V, it.Seq, v)
	}
	if s, ok := st.valSeq[it.V]; ok && s != it.Seq {
		r.fail("read %d at %d; another reader read it at %d", it.V, it.Seq, s)
	}
	st.seqVal[it.Seq], st.valSeq[it.V] = it.V, it.Seq
	st.mu.Unlock()
	if live {
		cause := context.Cause(st.out.Context())
		if errors.Is(cause, actor.ErrNoReader) && !r.leaving.Load() && r.ctx.Err() == nil {
			r.fail("Out.Context cancelled with ErrNoReader while this reader, attached when it was live, is attached")
		}
	}
}

// smEnd is how a reader's outcome is classified.
type smEnd int

const (
	smEndStream smEnd = iota
	smEndOwn
	smEndTrunc
)

// end checks a reader's last error (nil: a clean end) and classifies it.
func (r *smReader) end(err error, sentBefore int64) (smEnd, *actor.TruncatedError) {
	st := r.st
	r.logf("end %v", err)
	var se *smErr
	switch {
	case err == nil:
		smCount("end clean")
	case errors.As(err, new(*actor.TruncatedError)):
		smCount("end truncated")
	case errors.As(err, &se):
		smCount("end " + se.kind.Error())
	case errors.Is(err, errSMCancel), errors.Is(err, errSMAll):
		smCount("end cancelled")
	case errors.Is(err, actor.ErrTimeout):
		smCount("end timeout")
	case errors.Is(err, actor.ErrStopped):
		smCount("end stopped")
	case errors.Is(err, actor.ErrStreamClosed):
		smCount("end closed")
	default:
		smCount("end other")
	}
	var te *actor.TruncatedError
	switch {
	case err == nil, errors.Is(err, errSMRet), errors.Is(err, errSMClose), errors.Is(err, actor.ErrStopped):
		st.mu.Lock()
		st.ends = append(st.ends, err)
		st.mu.Unlock()
		if r.read > 0 {
			r.next = r.last + 1
		}
		r.logf("stream end at next %d (known %v)", r.next, r.known)
		return smEndStream, nil
	case errors.As(err, &te):
		after := st.attempts.Load()
		switch {
		case r.known && te.Oldest <= r.next:
			r.fail("truncated with Oldest %d, not past the next item %d", te.Oldest, r.next)
		case int64(te.Oldest)+int64(st.k) < sentBefore:
			r.fail("truncated with Oldest %d, but %d items were sent before the read and the journal keeps %d", te.Oldest, sentBefore, st.k)
		case int64(te.Oldest) >= after:
			r.fail("truncated with Oldest %d, not below the tail (%d Sends begun)", te.Oldest, after)
		}
		if st.wait && !(r.since && r.first) {
			r.fail("truncated (%v) on a SendWait-only stream", err)
		}
		return smEndTrunc, te
	case errors.Is(err, errSMCancel), errors.Is(err, errSMAll):
		if c := context.Cause(r.ctx); !errors.Is(err, c) {
			r.fail("ended by a ctx cancel (%v); the ctx's cause is %v", err, c)
		}
	case errors.Is(err, actor.ErrTimeout):
		if !r.deadline && !r.timeout {
			r.fail("ErrTimeout (%v) without a deadline or read timeout", err)
		}
	case errors.Is(err, actor.ErrStreamClosed):
		if !r.closedBy.Load() && !r.broke {
			r.fail("ErrStreamClosed (%v), never closed", err)
		}
	default:
		r.fail("unexpected end %v", err)
	}
	return smEndOwn, nil
}

// attach makes a reader of st for r, by one of the ways at random.
func (m *smModel) attach(r *smReader, ctx context.Context, opts []actor.FollowOption) (*actor.Follow[int], error) {
	st := r.st
	st.mu.Lock()
	first := st.first
	st.mu.Unlock()
	switch m.intn(3) {
	case 0:
		r.logf("Stream.Follow")
		return st.s.Follow(ctx, m.ref, first.ID(), opts...)
	case 1:
		r.logf("Follow.Follow")
		return first.Follow(ctx, opts...)
	default:
		r.logf("Out.Follow")
		return st.out.Follow(ctx, opts...)
	}
}

// position picks Since, Recent or neither for a new reader.
func (m *smModel) position(r *smReader) []actor.FollowOption {
	st := r.st
	var opts []actor.FollowOption
	switch m.intn(3) {
	case 0:
		x := uint64(m.intn(int(st.sent.Load()) + 3))
		opts = append(opts, actor.Since(x))
		r.next, r.known, r.since = x, true, true
		r.logf("Since(%d)", x)
	case 1:
		n := m.intn(st.k + 3)
		opts = append(opts, actor.Recent(n))
		r.logf("Recent(%d)", n)
	}
	if m.chance(15) {
		r.timeout = true
		d := m.dur(30) + time.Millisecond
		opts = append(opts, actor.ReadTimeout(d))
		r.logf("ReadTimeout(%v)", d)
	}
	return opts
}

// reader runs one reader chain of st: the Open one if open.
func (m *smModel) reader(st *smStream, name string, all context.Context, open *smPlan) {
	r := &smReader{st: st, name: name, first: true}
	ctx := all
	if m.chance(15) {
		r.deadline = true
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.dur(200)+time.Millisecond)
		defer cancel()
	}
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ctx = cctx
	r.ctx = ctx
	if m.chance(20) {
		d := m.dur(200)
		tm := time.AfterFunc(d, func() { r.leaving.Store(true); cancel(errSMCancel) })
		defer tm.Stop()
	}
	opts := m.position(r)
	var f *actor.Follow[int]
	var err error
	if open != nil {
		r.logf("Open")
		f, err = st.s.Open(ctx, m.ref, *open, opts...)
		st.mu.Lock()
		if err == nil {
			st.first = f
		}
		st.mu.Unlock()
		close(st.opened)
		if err != nil {
			smCount("open failed")
			if !m.stopped.Load() && !errors.Is(err, actor.ErrStopped) && ctx.Err() == nil && !errors.Is(err, errSMRet) && !errors.Is(err, errSMClose) {
				m.fail("stream %d: Open: %v", st.id, err)
			}
			return
		}
	} else {
		f, err = m.attach(r, ctx, opts)
		if err != nil {
			if !errors.Is(err, actor.ErrNoStream) && !errors.Is(err, actor.ErrStopped) {
				m.fail("stream %d: %s: attach: %v", st.id, name, err)
			}
			return
		}
	}
	m.readChain(r, f)
}

func (m *smModel) readChain(r *smReader, f *actor.Follow[int]) {
	st := r.st
	follows := []*actor.Follow[int]{f}
	defer func() {
		for _, g := range follows {
			g.Close()
		}
	}()
	var cur atomic.Pointer[actor.Follow[int]]
	cur.Store(f)
	if m.chance(15) {
		d := m.dur(150)
		tm := time.AfterFunc(d, func() {
			r.leaving.Store(true)
			r.closedBy.Store(true)
			cur.Load().Close()
		})
		defer tm.Stop()
	}
	// The chain is one reader for the last-reader rule: each resume
	// attaches before the truncated reader is closed.
	live := st.out.Context().Err() == nil
	for {
		kind, te, ok := m.readOne(r, f, live)
		if !ok {
			return
		}
		if kind != smEndTrunc || m.chance(25) {
			return
		}
		// Resume, maybe a while later (the truncated reader still counts
		// as one): attach first, then close the truncated reader.
		if m.chance(50) {
			time.Sleep(m.dur(30))
		}
		opts := []actor.FollowOption{actor.Since(te.Oldest)}
		r.since, r.first, r.read, r.next, r.known = true, true, 0, te.Oldest, true
		r.logf("resume Since(%d)", te.Oldest)
		smCount("resume")
		g, err := f.Follow(r.ctx, opts...)
		if err != nil {
			r.fail("resume: %v", err)
			return
		}
		follows = append(follows, g)
		cur.Store(g)
		f.Close()
		f = g
	}
}

// readOne reads f to its end; ok is false if the reader left on its own
// (break) or its end needs no resume.
func (m *smModel) readOne(r *smReader, f *actor.Follow[int], live bool) (smEnd, *actor.TruncatedError, bool) {
	st := r.st
	slow := m.chance(30)
	breakAt := -1
	if m.chance(15) {
		breakAt = m.intn(2*st.k + 2)
	}
	var ends int
	var kind smEnd
	var te *actor.TruncatedError
	sentBefore := st.sent.Load()
	if m.chance(60) {
		r.logf("All")
		n := 0
		for it, err := range f.All() {
			if ends > 0 {
				r.fail("a pair (%v, %v) after the end", it, err)
			}
			if err != nil {
				ends++
				kind, te = r.end(err, sentBefore)
				continue
			}
			r.item(it, live)
			n++
			if n == breakAt {
				r.leaving.Store(true)
				r.broke = true
				r.logf("break")
				break
			}
			if slow {
				time.Sleep(m.dur(10))
			}
			sentBefore = st.sent.Load()
		}
		if r.broke {
			items, err := f.Collected()
			// A cancellation of the reader's ctx (cancelAll, or its
			// own deadline) may detach it between its last item and
			// the break: it then keeps that end, as Close documents
			// ("a reader that had already ended keeps its end").
			cancelled := r.ctx.Err() != nil && errors.Is(err, context.Cause(r.ctx))
			if len(items) != 0 || !errors.Is(err, actor.ErrStreamClosed) && !cancelled {
				r.fail("Collected after a break: %d items, %v; want none, ErrStreamClosed", len(items), err)
			}
			return smEndOwn, nil, false
		}
		if ends == 0 {
			ends++
			kind, te = r.end(nil, sentBefore)
		}
	} else {
		r.logf("Collected")
		for {
			items, err := f.Collected()
			for _, it := range items {
				r.item(it, live)
			}
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				ends++
				kind, te = r.end(err, sentBefore)
				break
			}
			time.Sleep(m.dur(15))
			sentBefore = st.sent.Load()
		}
	}
	// Then nothing.
	if items, err := f.Collected(); len(items) != 0 || err == nil {
		r.fail("Collected after the end: %d items, %v; want none and an error", len(items), err)
	}
	if kind == smEndStream {
		m.mu.Lock()
		m.ended = append(m.ended, smEnded{st: st, name: r.name, next: r.next, known: r.known, read: r.read, log: r.log})
		m.mu.Unlock()
	}
	return kind, te, true
}

func runStreamModel(t *testing.T, seed uint64) {
	m := &smModel{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
	rec := &recorder{}
	rt, err := troupe.New(troupe.WithDeadLetterHook(rec.Hook))
	if err != nil {
		t.Fatal(err)
	}
	shut := sync.OnceFunc(func() { testkitShutdown(t, rt) })
	defer shut()
	m.ref, err = actor.Spawn(rt, &smHost{outs: map[int]*actor.Out[int]{}})
	if err != nil {
		t.Fatal(err)
	}
	all, cancelAll := context.WithCancelCause(context.Background())
	defer cancelAll(nil)

	var streams []*smStream
	var readers sync.WaitGroup
	nstreams := 1 + m.intn(3)
	for i := range nstreams {
		k, bytes := 1+m.intn(6), 0
		if m.chance(30) {
			k, bytes = 2+m.intn(8), 1+m.intn(20)
		}
		st := &smStream{
			retE: &smErr{errSMRet, int(seed)*10 + i}, closeE: &smErr{errSMClose, int(seed)*10 + i},
			m: m, id: int(seed)*10 + i, k: k, wait: m.chance(35), s: smStreamFor(k, bytes),
			outc: make(chan struct{}), opened: make(chan struct{}), vals: map[int]bool{}, tried: map[int]bool{}, seqVal: map[uint64]int{}, valSeq: map[int]uint64{},
		}
		smReg.Lock()
		smByIDm[st.id] = st
		smReg.Unlock()
		defer func() {
			smReg.Lock()
			delete(smByIDm, st.id)
			smReg.Unlock()
		}()
		streams = append(streams, st)
		p := smPlan{st: st, goN: -1}
		if st.wait {
			p.turnN = m.intn(k + 1)
			p.turnWait = m.chance(50)
		} else {
			p.turnN = m.intn(2*k + 3)
			p.turnWait = m.chance(30)
			p.keep = m.chance(50)
		}
		if m.chance(75) {
			p.goN = m.intn(40)
			p.goWatch = m.chance(60)
			p.goEnd = m.intn(3)
			p.goMore = m.intn(3)
		}
		switch r := m.intn(100); {
		case r < 15:
			p.ret = 1
		case r < 25:
			p.ret = 2
		}
		nread := 1 + m.intn(7)
		readers.Go(func() {
			time.Sleep(m.dur(20))
			var wg sync.WaitGroup
			wg.Go(func() { m.reader(st, "reader 0 (Open)", all, &p) })
			<-st.opened
			for n := 1; n < nread; n++ {
				wg.Go(func() {
					time.Sleep(m.dur(150))
					st.mu.Lock()
					ok := st.first != nil
					st.mu.Unlock()
					if ok {
						m.reader(st, fmt.Sprintf("reader %d", n), all, nil)
					}
				})
			}
			wg.Wait()
		})
		if p.keep {
			for range m.intn(4) {
				e := smEmit{id: st.id, n: m.intn(k + 2)}
				if m.chance(20) {
					e.close = 1 + m.intn(2)
				}
				d := m.dur(200) + 30*time.Millisecond
				m.wg.Go(func() {
					time.Sleep(d)
					_, err := smEmitM.Call(context.Background(), m.ref, e)
					if err != nil && !errors.Is(err, actor.ErrStopped) {
						m.fail("stream %d: emit: %v", st.id, err)
					}
				})
			}
		}
	}
	// The host's stop or kill, mid-stream.
	switch r := m.intn(100); {
	case r < 12:
		d := m.dur(200)
		m.wg.Go(func() {
			time.Sleep(d)
			m.stopped.Store(true)
			_ = m.ref.Stop(context.Background())
		})
	case r < 24:
		d := m.dur(200)
		m.wg.Go(func() {
			time.Sleep(d)
			m.stopped.Store(true)
			m.ref.Kill()
		})
	}
	// Once Open has returned on each stream and the host has run a turn
	// after its stream's (or stopped: Done), its handler has started its
	// producers, if any (an Open that gives up returns while the handler
	// may still run): wait for the producers.
	for _, st := range streams {
		<-st.opened
	}
	if _, err := smEmitM.Call(context.Background(), m.ref, smEmit{id: -1}); err != nil {
		<-m.ref.Done()
	}
	m.wg.Wait()
	abandon := m.chance(40)
	if abandon {
		// Every reader leaves: each Out.Context must end.
		cancelAll(errSMAll)
	} else {
		switch m.intn(4) {
		case 0:
			m.stopped.Store(true)
			_ = m.ref.Stop(context.Background())
		case 1:
			m.stopped.Store(true)
			m.ref.Kill()
		default:
			for _, st := range streams {
				st.mu.Lock()
				out := st.out
				st.mu.Unlock()
				if out != nil {
					st.close(out, 1+m.intn(2))
				}
			}
		}
	}
	readers.Wait()
	m.wg.Wait()
	for _, st := range streams {
		st.check(abandon)
	}
	shut()
	synctest.Wait()
	for _, st := range streams {
		st.checkDead(rec.All())
	}
	m.mu.Lock()
	for _, e := range m.ended {
		final := uint64(e.st.sent.Load())
		if e.read > 0 && e.next != final || e.known && e.read == 0 && e.next < final {
			m.errs = append(m.errs, fmt.Sprintf("stream %d %s: got the end at %d (read %d in its last segment); the stream's last item is %d\n\t%s",
				e.st.id, e.name, e.next, e.read, int64(final)-1, strings.Join(e.log[max(0, len(e.log)-12):], "\n\t")))
		}
	}
	errs := m.errs
	m.mu.Unlock()
	for _, e := range errs {
		t.Errorf("seed %d: %s", seed, e)
	}
}

// check checks st once every reader is done.
func (st *smStream) check(abandon bool) {
	m := st.m
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.out == nil {
		return
	}
	if st.first == nil {
		// Open failed once the handler's turn had begun: the stream
		// ended, read by nobody.
		if err := st.out.Send(-1); !errors.Is(err, actor.ErrStreamClosed) || st.out.Context().Err() == nil {
			m.errs = append(m.errs, fmt.Sprintf("stream %d: its Open failed, yet Send gets %v and its Context's error is %v", st.id, err, st.out.Context().Err()))
		}
		return
	}
	cause := context.Cause(st.out.Context())
	smCount(fmt.Sprintf("out ctx %v (abandon %v)", cause, abandon))
	if cause == nil {
		m.errs = append(m.errs, fmt.Sprintf("stream %d: Out.Context live once every reader has left", st.id))
	} else if !errors.Is(cause, actor.ErrNoReader) && !errors.Is(cause, actor.ErrStreamClosed) {
		m.errs = append(m.errs, fmt.Sprintf("stream %d: Out.Context cause %v", st.id, cause))
	}
	for seq, v := range st.seqVal {
		if !st.vals[v] {
			m.errs = append(m.errs, fmt.Sprintf("stream %d: a reader read %d at %d, whose Send failed", st.id, v, seq))
		}
	}
	for i, e := range st.ends {
		if i > 0 && !smSameEnd(e, st.ends[0]) {
			m.errs = append(m.errs, fmt.Sprintf("stream %d: readers got different ends: %v and %v", st.id, st.ends[0], e))
		}
		switch {
		case st.closeWon != nil:
			if !smSameEnd(e, *st.closeWon) {
				m.errs = append(m.errs, fmt.Sprintf("stream %d: a reader got the end %v; the winning Close was %v", st.id, e, *st.closeWon))
			}
		case e == nil:
			m.errs = append(m.errs, fmt.Sprintf("stream %d: a clean end, but no Close(nil) returned nil", st.id))
		case errors.Is(e, errSMRet):
			if !st.retErr {
				m.errs = append(m.errs, fmt.Sprintf("stream %d: the handler's error, never returned", st.id))
			}
		case errors.Is(e, actor.ErrStopped):
			if !m.stopped.Load() {
				m.errs = append(m.errs, fmt.Sprintf("stream %d: ErrStopped, never stopped", st.id))
			}
		default:
			m.errs = append(m.errs, fmt.Sprintf("stream %d: end %v", st.id, e))
		}
	}
}

func smSameEnd(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return errors.Is(a, b) || errors.Is(b, a) || a.Error() == b.Error()
}

func testkitShutdown(t *testing.T, rt *troupe.Runtime) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rt.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// checkDead checks st's dead letters once the runtime is shut down: an
// end error that no reader received is one dead letter, one that a reader
// received at most one, and a handler's error returned after its stream
// had ended another.
func (st *smStream) checkDead(letters []troupe.DeadLetter) {
	m := st.m
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.first == nil {
		return // Open failed (and returned its error)
	}
	n := map[error]int{}
	for _, d := range letters {
		var se *smErr
		if errors.As(d.Err, &se) && (se == st.retE || se == st.closeE) {
			n[se]++
		}
	}
	for e, k := range n {
		if k > 1 {
			m.errs = append(m.errs, fmt.Sprintf("stream %d: %d dead letters of %v", st.id, k, e))
		}
	}
	var end error
	known := true
	switch {
	case st.closeWon != nil:
		end = *st.closeWon
	case len(st.ends) > 0:
		end = st.ends[0]
	default:
		known = false
	}
	if !known {
		return
	}
	var se *smErr
	if errors.As(end, &se) && len(st.ends) == 0 && n[se] != 1 {
		m.errs = append(m.errs, fmt.Sprintf("stream %d: ended with %v, which no reader got, and %d dead letters of it", st.id, end, n[se]))
	}
	if st.retErr && !errors.Is(end, st.retE) && n[st.retE] != 1 {
		m.errs = append(m.errs, fmt.Sprintf("stream %d: the handler returned %v after the end %v: %d dead letters of it", st.id, st.retE, end, n[st.retE]))
	}
}
