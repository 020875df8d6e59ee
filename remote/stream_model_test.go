package remote_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// The stream model: one serving node exports an actor whose stream method
// Gen hands its Out to a producer goroutine, run by the plan the test made
// for that stream (how many items, Send or SendWait, how fast, whether it
// ends with nil or an error). Remote readers on one or two other nodes
// open the stream or follow it (Since, Recent, or from the oldest item
// kept), read fast, slowly or with a pause longer than three heartbeats,
// break out early, Close from another goroutine or cancel their ctx, and
// resume after a truncation with Since(Oldest); the actor may be killed
// mid-stream (even seeds), the serving node shut down (seeds divisible by
// 3), the second client node closed (when there is one). Each reader
// checks, as it reads, that items come in order with no gap, each the
// value sent at its sequence number, the first one where its position
// says, and that nothing follows the end; once every goroutine is done,
// that each end is one the docs allow: clean, the producer's error or
// ErrStopped after every item sent, a truncation whose Oldest lies past
// the reader's next item and within the stream (and none past a reader's
// first item when the producer uses SendWait), the reader's own Close or
// ctx's end, ErrNotFound or ErrStopped for a Follow or Open only once the
// stream ended or the actor was killed, ErrClosed only once the reader's
// node or the serving node closed.

// smSrc is the serving actor: its Gen stream runs the model's plans.
type smSrc struct{ m *streamModel }

var Gen = actor.NewStream("gen", func(s *smSrc, c *actor.Ctx, id int, out *actor.Out[string]) error {
	s.m.produce(id, out)
	return nil // left open: the producer goroutine ends it
}, actor.WithJournal(12, 1<<20))

func smVal(id int, seq uint64) string {
	return fmt.Sprintf("s%d-%d-%d", id, seq, (seq*7919+uint64(id)*31)%1009)
}

type smStream struct {
	id    int
	n     int
	wait  bool // SendWait, else Send
	delay time.Duration
	fail  string // end with this error, else nil

	refc chan struct{} // closed once the opener's Open returned
	ref  string        // valid if refc closed and ref != ""

	mu      sync.Mutex
	sent    int
	closing bool  // the producer is about to end the stream, or has
	stopped bool  // the end that stands is the actor's stop (its Close lost)
	done    bool  // the producer has finished
	openErr error // the opener's Open returned this
}

func (st *smStream) sentNow() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sent
}

func (st *smStream) ended() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.closing
}

// smEnd is how one reader ended, checked once everything is done.
type smEnd struct {
	st     *smStream
	who    string
	next   int64 // the next seq it wanted (-1: it read nothing)
	start  string
	since  uint64 // its Since position, if start == "since"
	err    error
	broke  bool // broke out of All
	closed bool // we Closed it from another goroutine
	cancel bool // we cancelled its ctx
}

type streamModel struct {
	t       *testing.T
	rng     *rand.Rand
	rngMu   sync.Mutex
	wg      sync.WaitGroup
	killed  atomic.Bool
	cClosed atomic.Bool // client c1 closed
	sDown   atomic.Bool // the serving node stopped

	mu      sync.Mutex
	streams map[int]*smStream
	ends    []smEnd
	bad     []string
	items   int
	truncs  int
}

func (m *streamModel) badf(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.bad) < 20 {
		m.bad = append(m.bad, fmt.Sprintf(format, args...))
	}
}

func (m *streamModel) intn(n int) int {
	m.rngMu.Lock()
	defer m.rngMu.Unlock()
	return m.rng.IntN(n)
}

// produce runs stream id's plan on a goroutine of its own.
func (m *streamModel) produce(id int, out *actor.Out[string]) {
	m.mu.Lock()
	st := m.streams[id]
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for i := range st.n {
			v := smVal(st.id, uint64(i))
			var err error
			if st.wait {
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				err = out.SendWait(ctx, v)
				cancel()
			} else {
				err = out.Send(v)
			}
			if err != nil {
				if !errors.Is(err, actor.ErrStreamClosed) || !m.killed.Load() {
					m.badf("stream %d: send %d: %v", st.id, i, err)
				}
				break
			}
			st.mu.Lock()
			st.sent++
			st.mu.Unlock()
			if st.delay > 0 && i%8 == 0 {
				time.Sleep(st.delay)
			}
		}
		var end error
		if st.fail != "" {
			end = &remote.CodedError{Code: "gen_failed", Err: errors.New(st.fail)}
		}
		st.mu.Lock()
		st.closing = true
		st.mu.Unlock()
		cerr := out.Close(end)
		st.mu.Lock()
		st.stopped = cerr != nil
		st.done = true
		st.mu.Unlock()
		if cerr != nil && !m.killed.Load() {
			m.badf("stream %d: Close: %v, the actor not killed", st.id, cerr)
		}
	}()
}

// reader reads st once, from node, opened (open) or followed at a random
// position (or at Since(since) if resume), and resumes after a truncation
// up to resumes times.
func (m *streamModel) reader(st *smStream, b *remote.StreamBinding[int, string], who string, open, resume bool, since uint64, resumes int) {
	e := smEnd{st: st, who: who, next: -1}
	var opts []actor.FollowOption
	before := st.sentNow()
	recent := 0
	switch {
	case open && m.intn(2) == 0: // from the oldest kept once the handler's turn is over
		e.start = "open"
	case open:
		e.start, e.since = "since", 0
		opts = append(opts, actor.Since(0))
	case resume:
		e.start, e.since = "since", since
		opts = append(opts, actor.Since(since))
	default:
		switch m.intn(3) {
		case 0:
			e.start = "oldest"
		case 1:
			e.start, e.since = "since", uint64(m.intn(st.n+5))
			opts = append(opts, actor.Since(e.since))
		default:
			e.start, recent = "recent", 1+m.intn(20)
			opts = append(opts, actor.Recent(recent))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var f *remote.Follow[string]
	var err error
	if open {
		f, err = b.Open(ctx, st.id, opts...)
		st.mu.Lock()
		st.openErr = err
		if err == nil {
			st.ref = f.Ref()
		}
		st.mu.Unlock()
		close(st.refc)
	} else {
		f, err = b.Follow(ctx, st.ref, opts...)
	}
	if err != nil {
		var te *actor.TruncatedError
		switch {
		case errors.As(err, &te):
			e.err = err
			m.record(e)
			m.resume(st, b, who, te, resumes)
		case (errors.Is(err, remote.ErrNotFound) || errors.Is(err, remote.ErrStopped)) && (m.killed.Load() || st.ended()):
		case errors.Is(err, remote.ErrClosed) && m.cClosed.Load() && strings.Contains(who, "@c1"):
		case (errors.Is(err, remote.ErrClosed) || errors.Is(err, remote.ErrNotFound)) && m.sDown.Load():
		case open && st.fail != "" && st.ended() && isGenErr(err, st.fail):
			// the producer failed before any item: Open returns its error
		default:
			m.badf("%s: stream %d: open/follow (%s): %v (killed %v, ended %v)", who, st.id, e.start, err, m.killed.Load(), st.ended())
		}
		return
	}
	// How this reader reads, and how it may stop early.
	speed := m.intn(4) // 0, 1 fast; 2 slow; 3 one long pause
	pauseAt := m.intn(200) * m.intn(2)
	breakAfter := -1
	if m.intn(5) == 0 {
		breakAfter = m.intn(100)
	}
	var stopT *time.Timer
	switch m.intn(6) {
	case 0:
		e.closed = true
		stopT = time.AfterFunc(time.Duration(m.intn(400))*time.Millisecond, func() { _ = f.Close() })
	case 1:
		e.cancel = true
		stopT = time.AfterFunc(time.Duration(m.intn(400))*time.Millisecond, cancel)
	}
	if speed == 3 && pauseAt == 0 { // not a frame read yet: the window waits
		time.Sleep(time.Duration(350+m.intn(300)) * time.Millisecond)
	}
	count, after := 0, 0
	for it, err := range f.All() {
		if e.err != nil || after > 0 {
			after++
			m.badf("%s: stream %d: (%+v, %v) after the end %v", who, st.id, it, err, e.err)
			continue
		}
		if err != nil {
			e.err = err
			continue
		}
		if it.V != smVal(st.id, it.Seq) {
			m.badf("%s: stream %d: item %d is %q; sent %q", who, st.id, it.Seq, it.V, smVal(st.id, it.Seq))
		}
		if e.next < 0 {
			switch e.start {
			case "since":
				if it.Seq != e.since {
					m.badf("%s: stream %d: Since(%d), first item %d", who, st.id, e.since, it.Seq)
				}
			case "recent":
				if int(it.Seq) < before-recent {
					m.badf("%s: stream %d: Recent(%d) with %d sent before, first item %d", who, st.id, recent, before, it.Seq)
				}
			}
		} else if int64(it.Seq) != e.next {
			m.badf("%s: stream %d: item %d after %d", who, st.id, it.Seq, e.next-1)
		}
		e.next = int64(it.Seq) + 1
		count++
		m.mu.Lock()
		m.items++
		m.mu.Unlock()
		switch {
		case speed == 2:
			time.Sleep(time.Duration(m.intn(1500)) * time.Microsecond)
		case speed == 3 && count == pauseAt:
			time.Sleep(time.Duration(350+m.intn(300)) * time.Millisecond) // over three heartbeats
		}
		if count == breakAfter {
			e.broke = true
			break
		}
	}
	if stopT != nil {
		stopT.Stop()
	}
	_ = f.Close()
	m.record(e)
	var te *actor.TruncatedError
	if errors.As(e.err, &te) {
		m.resume(st, b, who, te, resumes)
	}
}

func (m *streamModel) record(e smEnd) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ends = append(m.ends, e)
	if errors.Is(e.err, actor.ErrTruncated) {
		m.truncs++
	}
}

func (m *streamModel) resume(st *smStream, b *remote.StreamBinding[int, string], who string, te *actor.TruncatedError, resumes int) {
	if resumes <= 0 {
		return
	}
	m.reader(st, b, who+"'", false, true, te.Oldest, resumes-1)
}

func isGenErr(err error, msg string) bool {
	var re *remote.Error
	return errors.As(err, &re) && re.Code == "gen_failed" && re.Message == msg
}

// check checks one reader's end against its stream's, all goroutines done.
func (m *streamModel) check(e smEnd) {
	st := e.st
	sent := int64(st.sent)
	var te *actor.TruncatedError
	complete := func(what string) { // an end every item sent comes before
		if e.next != sent && !(e.next < 0 && (e.start != "since" && sent == 0 || e.start == "since" && int64(e.since) >= sent)) {
			m.badf("%s: stream %d: %s after item %d of %d sent (start %s %d)", e.who, st.id, what, e.next-1, sent, e.start, e.since)
		}
	}
	switch {
	case e.broke && e.err == nil:
	case e.err == nil:
		if st.fail != "" || st.stopped {
			m.badf("%s: stream %d: a clean end; the stream ended with %q (stopped %v)", e.who, st.id, st.fail, st.stopped)
		}
		complete("a clean end")
	case errors.As(e.err, &te):
		if st.wait && e.next >= 0 { // SendWait drops nothing an attached reader has yet to read
			m.badf("%s: stream %d (SendWait): %v after item %d", e.who, st.id, e.err, e.next-1)
		}
		if te.Oldest >= uint64(max(sent, 1)) || (e.next >= 0 && te.Oldest <= uint64(e.next)) ||
			(e.next < 0 && e.start == "since" && te.Oldest <= e.since) {
			m.badf("%s: stream %d: %v, next %d, start %s %d, %d sent", e.who, st.id, e.err, e.next, e.start, e.since, sent)
		}
	case isGenErr(e.err, st.fail) && st.fail != "" && !st.stopped:
		complete("the producer's error")
	case errors.Is(e.err, remote.ErrStopped) && st.stopped:
		complete("ErrStopped")
	case errors.Is(e.err, context.Canceled) && e.cancel:
	case errors.Is(e.err, remote.ErrStreamClosed) && e.closed:
	case errors.Is(e.err, remote.ErrClosed) && m.cClosed.Load() && strings.Contains(e.who, "@c1"):
	case errors.Is(e.err, remote.ErrClosed) && m.sDown.Load():
	default:
		m.badf("%s: stream %d: ended with %v (%T); stream: fail %q stopped %v; next %d of %d sent; closed %v cancel %v",
			e.who, st.id, e.err, e.err, st.fail, st.stopped, e.next, sent, e.closed, e.cancel)
	}
}

// endKind names how a reader ended, for the log.
func endKind(e smEnd) string {
	var re *remote.Error
	switch {
	case e.broke && e.err == nil:
		return "break"
	case e.err == nil:
		return "clean"
	case errors.Is(e.err, actor.ErrTruncated):
		return "truncated"
	case errors.As(e.err, &re):
		return re.Code
	case errors.Is(e.err, remote.ErrStopped):
		return "stopped"
	case errors.Is(e.err, context.Canceled):
		return "cancel"
	case errors.Is(e.err, remote.ErrStreamClosed):
		return "close"
	case errors.Is(e.err, remote.ErrClosed):
		return "node closed"
	}
	return "other"
}

func TestStreamModelRandom(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	for seed := 1; seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runStreamModel(t, uint64(seed)) })
	}
}

func runStreamModel(t *testing.T, seed uint64) {
	m := &streamModel{t: t, rng: rand.New(rand.NewPCG(seed, 0x5eed)), streams: map[int]*smStream{}}
	s := startServer(t)
	hb := remote.WithHeartbeat(100 * time.Millisecond)
	srv := startNode(t, s.ClientURL(), hb)
	clients := []*remote.Node{startNode(t, s.ClientURL(), hb)}
	if m.intn(2) == 0 {
		clients = append(clients, startNode(t, s.ClientURL(), hb))
	}
	ref, err := actor.Spawn(srv.Runtime(), &smSrc{m: m})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(srv, "src", ref, remote.ServeStream(Gen)); err != nil {
		t.Fatal(err)
	}
	binds := make([]*remote.StreamBinding[int, string], len(clients))
	for i, c := range clients {
		waitServed(t, c, "src")
		binds[i] = remote.BindStream(c, "src", Gen)
	}

	const nStreams = 5
	var readers sync.WaitGroup
	for id := range nStreams {
		st := &smStream{id: id, n: m.intn(700), wait: m.intn(2) == 0, refc: make(chan struct{})}
		if m.intn(2) == 0 {
			st.delay = time.Duration(m.intn(3000)) * time.Microsecond
		}
		if m.intn(2) == 0 {
			st.fail = fmt.Sprintf("gen %d failed", id)
		}
		m.mu.Lock()
		m.streams[id] = st
		m.mu.Unlock()
		startIn := time.Duration(m.intn(300)) * time.Millisecond
		followers := m.intn(3)
		readers.Add(1)
		go func() {
			defer readers.Done()
			time.Sleep(startIn)
			c := m.intn(len(binds))
			m.reader(st, binds[c], fmt.Sprintf("r%d.0@c%d", id, c), true, false, 0, 3)
		}()
		for k := 1; k <= followers; k++ {
			wait := time.Duration(m.intn(200)) * time.Millisecond
			c := m.intn(len(binds))
			readers.Add(1)
			go func() {
				defer readers.Done()
				<-st.refc
				time.Sleep(wait)
				st.mu.Lock()
				ok := st.openErr == nil
				st.mu.Unlock()
				if ok {
					m.reader(st, binds[c], fmt.Sprintf("r%d.%d@c%d", id, k, c), false, false, 0, 3)
				}
			}()
		}
	}
	if seed%2 == 0 { // the serving actor killed mid-stream
		killIn := time.Duration(m.intn(800)) * time.Millisecond
		readers.Add(1)
		go func() {
			defer readers.Done()
			time.Sleep(killIn)
			m.killed.Store(true)
			ref.Kill()
		}()
	}
	if seed%3 == 0 {
		downIn := time.Duration(m.intn(800)) * time.Millisecond
		readers.Add(1)
		go func() {
			defer readers.Done()
			time.Sleep(downIn)
			m.sDown.Store(true)
			_ = srv.Shutdown(context.Background())
		}()
	}
	if len(clients) == 2 {
		closeIn := time.Duration(m.intn(800)) * time.Millisecond
		readers.Add(1)
		go func() {
			defer readers.Done()
			time.Sleep(closeIn)
			m.cClosed.Store(true)
			_ = clients[1].Close()
		}()
	}
	all := make(chan struct{})
	go func() {
		readers.Wait()
		m.wg.Wait()
		close(all)
	}()
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		t.Fatalf("seed %d: readers or producers still running after 30 s", seed)
	}
	kinds := map[string]int{}
	for _, e := range m.ends {
		m.check(e)
		kinds[endKind(e)]++
	}
	t.Logf("seed %d: %d clients, %d items read, killed %v, ends %v",
		seed, len(clients), m.items, m.killed.Load(), kinds)
	for _, b := range m.bad {
		t.Error(b)
	}
}
