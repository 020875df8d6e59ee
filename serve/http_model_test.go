package serve_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
	"github.com/troupe-go/troupe/serve"
)

// The HTTP model test serves, over loopback HTTP, a Method and a stream
// (as SSE and as JSON lines) on one actor per session (LookupOrSpawn by
// the client's session name; resumed after a panic, not restarted within
// SpawnFunc's budget, past which a run of "panic" calls would stop it and
// the next call be a 503), to clients that act at random, each on its
// own session: calls that succeed, fail with a typed error (a
// *StatusError, a full mailbox, a stopped actor, not found), fail plainly,
// panic or outlast WithTimeout, or whose body is not JSON; streams that
// end cleanly or with an error (before their first item too), read to
// their end, read in part and cancelled, read slowly through small socket
// buffers (so that the reader falls behind the stream's journal of 4
// items), and resumed (Last-Event-ID, since) from the last event read. At
// a random moment the http.Server shuts down gracefully while some are
// running. Whatever the interleaving:
//
//   - every request that got its headers before the shutdown began gets
//     exactly one whole answer: a call's status and body are those its
//     outcome maps to (StatusOf, the default error writer: 200 and the
//     reply, 409 and the *StatusError's message, 503 with Retry-After: 1
//     for a full mailbox and without it for a stopped actor, 404 and the
//     message, 500, 504, 400), a stream's are a 200 of its content type,
//     or 500 if it fails before an item for the request;
//   - a stream's items arrive in order, each with its own value, starting
//     right after where the request resumed (Last-Event-ID + 1, since),
//     with no duplicate; any gap is announced, just before it, by a
//     truncation notice naming the next item (and, for SSE, with the id
//     before it); a whole stream ends after its last item with its clean
//     end, or with the producer's error;
//   - after the shutdown every producer has stopped (a cancelled or
//     finished reader's Out.Context ends) and nothing is left running
//     (goleak, in TestMain).
func TestHTTPModelRandom(t *testing.T) {
	for seed := range testkit.Seeds(7) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runHTTPModel(t, seed, hmMode{}) })
	}
}

// TestHTTPModelRuntimeStop runs the model of TestHTTPModelRandom with
// what it leaves out: sessions whose actor has a small bounded mailbox
// (WithMailbox, Reject), on which clients also make bursts of concurrent
// calls, and, in most seeds, the runtime's stop (Shutdown or Close, at
// random) at a random moment while requests run, before the http.Server
// shuts down (requests go on meanwhile, on the stopped runtime). Besides
// TestHTTPModelRandom's checks:
//
//   - on a bounded session any call, and any stream request, may be
//     answered as for a full mailbox (503 with Retry-After: 1), and a
//     burst's calls each get either their reply or that;
//   - a request answered after the runtime's stop began gets its answer
//     as before or 503 without Retry-After (actor.ErrStopped), a call
//     that waited for its WithTimeout possibly 500 (its handler returns
//     its Context's error, cancelled by Close: a handler's error), a
//     stream request 503 too if its stream ended before an item for it
//     (its producer ends with an error wrapping actor.ErrStopped); a
//     stream under way ends with an "error" event (or line), whatever
//     its message, at any point: never a body cut without its end
//     (only the http.Server's shutdown may cut one) nor a hang;
//   - every request is bounded: none waits its 10 s deadline.
func TestHTTPModelRuntimeStop(t *testing.T) {
	var fulls atomic.Int64
	for seed := range testkit.Seeds(7) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			runHTTPModel(t, seed, hmMode{bounded: true, rtStop: seed%4 != 3, fulls: &fulls})
		})
	}
	if fulls.Load() == 0 {
		t.Errorf("no request was answered for a full mailbox: the bounded sessions were not exercised")
	}
}

// hmMode is what a run of the model adds to TestHTTPModelRandom's.
type hmMode struct {
	bounded bool          // odd clients' sessions have a mailbox of 1, and burst
	rtStop  bool          // the runtime stops before the http.Server's shutdown
	fulls   *atomic.Int64 // counts the full-mailbox answers (bounded)
}

// hmSess is a session's actor.
type hmSess struct {
	name      string
	producers *atomic.Int64 // stream producers running
}

type hmOp struct {
	Kind string `json:"kind"`
	N    int    `json:"n"`
}

type hmReply struct {
	Sess string `json:"sess"`
	N    int    `json:"n"`
}

var errHMFail = errors.New("model failure")

var hmCall = actor.NewMethod("hm.call", func(s *hmSess, c *actor.Ctx, op hmOp) (hmReply, error) {
	switch op.Kind {
	case "conflict":
		return hmReply{}, &serve.StatusError{Code: http.StatusConflict, Err: fmt.Errorf("conflict %d", op.N)}
	case "busy":
		return hmReply{}, fmt.Errorf("busy %d: %w", op.N, actor.ErrMailboxFull)
	case "gone":
		return hmReply{}, fmt.Errorf("gone %d: %w", op.N, actor.ErrStopped)
	case "fail":
		return hmReply{}, errHMFail
	case "panic":
		panic("model panic")
	case "slow":
		<-c.Context().Done() // past WithTimeout
		return hmReply{}, c.Context().Err()
	case "hold": // a burst's: holds the actor, so that the others queue
		time.Sleep(time.Duration(1+op.N%3) * time.Millisecond)
	}
	return hmReply{Sess: s.name, N: 2 * op.N}, nil
})

// hmStreamReq is a stream's plan: n items, pace between them, then a
// clean end, or an error (fail).
type hmStreamReq struct {
	N     int  `json:"n"`
	Pace  int  `json:"pace"` // µs between items
	Fail  bool `json:"fail"`
	Burst bool `json:"burst"` // all items on the handler's turn
}

// hmValue is item seq's value, the same on every Open.
func hmValue(seq uint64) string {
	return strconv.FormatUint(seq, 10) + ":" + strings.Repeat(string(rune('a'+seq%26)), 1500)
}

const hmFailMsg = "model stream failed"

var hmStream = actor.NewStream("hm.stream", func(s *hmSess, c *actor.Ctx, req hmStreamReq, out *actor.Out[string]) error {
	if req.Burst || req.N == 0 {
		// All on the turn, before the request's reader reads any.
		for i := range req.N {
			_ = out.Send(hmValue(uint64(i)))
		}
		return hmEnd(req, out)
	}
	_ = out.Send(hmValue(0))
	s.producers.Add(1)
	err := actor.Go(c, func(ctx context.Context) (struct{}, error) {
		defer s.producers.Add(-1)
		for i := 1; i < req.N; i++ {
			select {
			case <-time.After(time.Duration(req.Pace) * time.Microsecond):
			case <-ctx.Done(): // the actor stops: a request with no item yet gets a 503
				return struct{}{}, out.Close(fmt.Errorf("producer: %w", actor.ErrStopped))
			case <-out.Context().Done(): // no reader left
				return struct{}{}, nil
			}
			_ = out.Send(hmValue(uint64(i)))
		}
		return struct{}{}, hmEnd(req, out)
	}, hmProduced)
	if err != nil {
		s.producers.Add(-1)
	}
	return err
}, actor.WithJournal(4, 1<<20))

// hmEnd ends a stream as req says.
func hmEnd(req hmStreamReq, out *actor.Out[string]) error {
	if req.Fail {
		return out.Close(errors.New(hmFailMsg))
	}
	return out.Close(nil)
}

var hmProduced = actor.NewMethod("hm.produced", func(*hmSess, *actor.Ctx, actor.Result[struct{}]) (struct{}, error) {
	return struct{}{}, nil
})

// smallBufListener gives accepted connections a small send buffer, so
// that a slow client holds few events in flight.
type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

type hmModel struct {
	t         *testing.T
	mode      hmMode
	url       string
	hc        *http.Client
	stopping  atomic.Bool // the http.Server's shutdown began
	rtStopped atomic.Bool // the runtime's stop began
	producers atomic.Int64
	// For the log: what the seed exercised.
	calls, streams, truncs, midTruncs, resumes, inFlight, cut atomic.Int64
	bursts, fulls, stopAnswers, stopEnds                      atomic.Int64
	inFlightAtStop                                            int64
}

// hmAnswer is a response's status, body and Retry-After.
type hmAnswer struct {
	code        int
	body, retry string
}

// The answers of a full mailbox, of a stopped actor, and of a 500.
var (
	hmFull    = hmAnswer{503, "Service Unavailable\n", "1"}
	hmStopped = hmAnswer{503, "Service Unavailable\n", ""}
	hm500     = hmAnswer{500, "Internal Server Error\n", ""}
)

// otherwise reports whether got, not the answer the request's outcome
// maps to, is one that the mode allows: a full mailbox's on a bounded
// session, a stopped actor's (or, if may500, a 500) once the runtime's
// stop began. Call it after the response came.
func (m *hmModel) otherwise(sess string, got hmAnswer, may500 bool) bool {
	switch {
	case hmBounded(sess) && got == hmFull:
		m.fulls.Add(1)
		return true
	case m.rtStopped.Load() && (got == hmStopped || may500 && got == hm500):
		m.stopAnswers.Add(1)
		return true
	}
	return false
}

// hmBounded reports whether sess's actor has a bounded mailbox.
func hmBounded(sess string) bool { return strings.HasPrefix(sess, "b") }

func runHTTPModel(t *testing.T, seed uint64, mode hmMode) {
	rng := rand.New(rand.NewPCG(seed, 0x68747470))
	rt := testkit.NewRuntime(t)
	m := &hmModel{t: t, mode: mode}
	to := func(r *http.Request) (*actor.Ref[*hmSess], error) {
		name := r.URL.Query().Get("s")
		if name == "" {
			return troupe.Lookup[*hmSess](rt, "hm:nobody")
		}
		opts := []actor.Option{actor.WithSupervision(actor.Supervision{Directive: actor.Resume})}
		if hmBounded(name) {
			opts = append(opts, actor.WithMailbox(1, actor.Reject))
		}
		ref, _, err := troupe.LookupOrSpawn(r.Context(), rt, "hm:"+name, func() *hmSess {
			return &hmSess{name: name, producers: &m.producers}
		}, opts...)
		return ref, err
	}
	decodeStream := func(r *http.Request) (hmStreamReq, error) {
		var q hmStreamReq
		err := json.Unmarshal([]byte(r.URL.Query().Get("q")), &q)
		return q, err
	}
	encode := func(s string) ([]byte, error) { return []byte(s), nil }
	mux := http.NewServeMux()
	mux.Handle("POST /call", serve.Method(hmCall, to, serve.DecodeJSON[hmOp], serve.EncodeJSON[hmReply],
		serve.WithTimeout(100*time.Millisecond)))
	mux.Handle("GET /sse", serve.SSE(hmStream, to, decodeStream, encode))
	mux.Handle("GET /lines", serve.JSONLines(hmStream, to, decodeStream))
	hs := httptest.NewUnstartedServer(mux)
	hs.Listener = smallBufListener{hs.Listener}
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.Start()
	defer hs.Close()
	m.url = hs.URL
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096) // a slow client holds few events in flight
		}
		return c, err
	}}
	defer tr.CloseIdleConnections()
	m.hc = &http.Client{Transport: tr}

	var wg sync.WaitGroup
	const clients = 5
	for k := range clients {
		crng := rand.New(rand.NewPCG(seed, uint64(k)))
		sess := fmt.Sprintf("c%d", k)
		if mode.bounded && k%2 == 1 {
			sess = fmt.Sprintf("b%d", k)
		}
		wg.Go(func() { m.client(sess, crng) })
	}
	time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
	if mode.rtStop {
		m.stopRuntime(rt, rng)
	}
	m.stopping.Store(true)
	m.inFlightAtStop = m.inFlight.Load()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	shut := make(chan struct{})
	go func() {
		// net/http's Shutdown takes a connection the client dialled but
		// sent nothing on for busy during 5 s: the client drops them.
		defer close(shut)
		for ctx.Err() == nil {
			tr.CloseIdleConnections()
			select {
			case <-time.After(20 * time.Millisecond):
			case <-ctx.Done():
			}
		}
	}()
	if err := hs.Config.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	wg.Wait()
	cancel()
	<-shut
	t.Logf("%d calls, %d stream requests (%d resumed, %d truncation notices, %d of them mid-stream, %d cut by the shutdown), %d in flight at the shutdown",
		m.calls.Load(), m.streams.Load(), m.resumes.Load(), m.truncs.Load(), m.midTruncs.Load(), m.cut.Load(), m.inFlightAtStop)
	if mode.bounded || mode.rtStop {
		t.Logf("%d bursts, %d full-mailbox answers, %d answers and %d stream error ends after the runtime's stop",
			m.bursts.Load(), m.fulls.Load(), m.stopAnswers.Load(), m.stopEnds.Load())
	}
	if mode.fulls != nil {
		mode.fulls.Add(m.fulls.Load())
	}
	deadline := time.Now().Add(wait)
	for m.producers.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := m.producers.Load(); n != 0 {
		t.Errorf("%d stream producers still running after the shutdown", n)
	}
}

// stopRuntime stops rt, by Shutdown or Close, while the clients run on,
// then lets them make requests on the stopped runtime for a while.
func (m *hmModel) stopRuntime(rt *troupe.Runtime, rng *rand.Rand) {
	m.rtStopped.Store(true)
	if rng.IntN(2) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := rt.Shutdown(ctx); err != nil {
			m.t.Errorf("runtime Shutdown: %v", err)
		}
	} else if err := rt.Close(); err != nil {
		m.t.Errorf("runtime Close: %v", err)
	}
	time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond)
}

// client runs random operations on its session until the shutdown.
func (m *hmModel) client(sess string, rng *rand.Rand) {
	ops := 3
	if hmBounded(sess) {
		ops = 4 // bursts too
	}
	for i := 0; !m.stopping.Load() && !m.t.Failed(); i++ {
		m.inFlight.Add(1)
		switch rng.IntN(ops) {
		case 0:
			m.call(sess, hmCallKinds[rng.IntN(len(hmCallKinds))], i)
		case 3:
			m.burst(sess, rng, i)
		default:
			m.stream(sess, rng)
		}
		m.inFlight.Add(-1)
	}
}

var hmCallKinds = []string{"ok", "conflict", "busy", "gone", "fail", "panic", "slow", "badjson", "nobody"}

// burst makes 2 to 8 concurrent "hold" calls on sess: on a mailbox of
// 1, some find it full.
func (m *hmModel) burst(sess string, rng *rand.Rand, n int) {
	m.bursts.Add(1)
	var wg sync.WaitGroup
	for j := range 2 + rng.IntN(7) {
		wg.Go(func() { m.call(sess, "hold", n*16+j) })
	}
	wg.Wait()
}

// call makes one call of kind and checks its answer.
func (m *hmModel) call(sess, kind string, n int) {
	m.calls.Add(1)
	body := fmt.Sprintf(`{"kind":%q,"n":%d}`, kind, n)
	u := m.url + "/call?s=" + sess
	switch kind {
	case "badjson":
		body = body[:len(body)-1]
	case "nobody":
		u = m.url + "/call"
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, "POST", u, strings.NewReader(body))
	hr.Header.Set("Content-Type", "application/json")
	res, err := m.hc.Do(hr)
	if err != nil {
		if !m.stopping.Load() || errors.Is(err, context.DeadlineExceeded) {
			m.t.Errorf("%s: call %s: %v", sess, kind, err)
		}
		return
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		m.t.Errorf("%s: call %s: got %d, body %q: %v; want the whole body", sess, kind, res.StatusCode, b, err)
		return
	}
	code, want, retry := 0, "", ""
	switch kind {
	case "ok", "hold":
		rep, _ := json.Marshal(hmReply{Sess: sess, N: 2 * n})
		code, want = 200, string(rep)+"\n"
	case "conflict":
		code, want = 409, fmt.Sprintf("conflict %d\n", n)
	case "busy":
		code, want, retry = 503, "Service Unavailable\n", "1"
	case "gone":
		code, want = 503, "Service Unavailable\n"
	case "fail", "panic":
		code, want = 500, "Internal Server Error\n"
	case "slow":
		code, want = 504, "Gateway Timeout\n"
	case "badjson":
		code, want = 400, "unexpected EOF\n"
	case "nobody":
		code, want = 404, `runtime: actor not found: "hm:nobody"`+"\n"
	}
	got := hmAnswer{res.StatusCode, string(b), res.Header.Get("Retry-After")}
	if got != (hmAnswer{code, want, retry}) && !m.otherwise(sess, got, kind == "slow") {
		m.t.Errorf("%s: call %s: got %d %q, Retry-After %q; want %d %q, Retry-After %q",
			sess, kind, res.StatusCode, b, res.Header.Get("Retry-After"), code, want, retry)
	}
}

// How a stream is read.
const (
	readFull   = iota // to its end
	readPart          // some events, then the request is cancelled
	readSlow          // to its end, slowly
	readResume        // some events, then cancelled and resumed from the last one, to the end
)

// hmEvent is a stream's event, in either format: an item, a truncation
// notice (trunc: the next item), the clean end, or an error end.
type hmEvent struct {
	seq   uint64
	value string
	trunc bool
	end   bool
	err   string
}

// stream opens a stream and reads it as chosen.
func (m *hmModel) stream(sess string, rng *rand.Rand) {
	sse := rng.IntN(2) == 0
	req := hmStreamReq{N: rng.IntN(40), Pace: rng.IntN(1000), Fail: rng.IntN(4) == 0, Burst: rng.IntN(4) == 0}
	how := rng.IntN(4)
	if how == readSlow {
		req.Pace = 0
	}
	start := uint64(0)
	if rng.IntN(4) == 0 && req.N > 0 {
		start = uint64(rng.IntN(req.N + 1)) // resume from the outset
	}
	stopAfter := -1 // events read before the cancel
	if how == readPart || how == readResume {
		stopAfter = rng.IntN(10)
	}
	var delay time.Duration
	if how == readSlow {
		delay = time.Duration(1+rng.IntN(3)) * time.Millisecond
	}
	name := fmt.Sprintf("%s: stream %+v sse %t how %d", sess, req, sse, how)
	next, ok := m.readStream(name, sess, sse, req, start, stopAfter, delay)
	if ok && how == readResume {
		m.resumes.Add(1)
		m.readStream(name+" resumed", sess, sse, req, next, -1, 0)
	}
}

// readStream reads one request's events from start (0: no resume),
// stopping after stopAfter events (-1: to the end), sleeping delay after
// each, and checks them; it returns where a resume starts and whether
// the stream may be resumed (it was cut, not ended).
func (m *hmModel) readStream(name, sess string, sse bool, req hmStreamReq, start uint64, stopAfter int,
	delay time.Duration) (uint64, bool) {
	m.streams.Add(1)
	qb, _ := json.Marshal(req)
	u := m.url + "/lines?s=" + sess + "&q=" + url.QueryEscape(string(qb))
	if sse {
		u = m.url + "/sse?s=" + sess + "&q=" + url.QueryEscape(string(qb))
	}
	if start > 0 && !sse {
		u += "&since=" + strconv.FormatUint(start, 10)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	if start > 0 && sse {
		hr.Header.Set("Last-Event-ID", strconv.FormatUint(start-1, 10))
	}
	res, err := m.hc.Do(hr)
	if err != nil {
		if !m.stopping.Load() || errors.Is(err, context.DeadlineExceeded) {
			m.t.Errorf("%s from %d: %v", name, start, err)
		}
		return 0, false
	}
	defer res.Body.Close()
	cutOK := m.stopping.Load() // the shutdown began before the headers: it may cut the body
	nItems := uint64(req.N)
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		got := hmAnswer{res.StatusCode, string(b), res.Header.Get("Retry-After")}
		// Failing before any item for the request: a status (SSE waits
		// for it; JSON lines only if it has failed by Open's return).
		if (!req.Fail || start < nItems || got != hm500) && !m.otherwise(sess, got, false) {
			m.t.Errorf("%s from %d: got %d %q; want 200", name, start, res.StatusCode, b)
		}
		return 0, false
	}
	ct := "application/x-ndjson"
	if sse {
		ct = "text/event-stream"
	}
	if got := res.Header.Get("Content-Type"); got != ct {
		m.t.Errorf("%s from %d: Content-Type %q; want %q", name, start, got, ct)
	}
	br := bufio.NewReader(res.Body)
	want := start // the next item
	var seen []string
	for n := 0; ; n++ {
		if n == stopAfter {
			return want, true
		}
		ev, err := readHMEvent(br, sse)
		if err != nil {
			m.cut.Add(1)
			if !cutOK || !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) {
				m.t.Errorf("%s from %d: after %v: %v", name, start, seen, err)
			}
			return 0, false
		}
		seen = append(seen, fmt.Sprintf("%+v", hmEvent{seq: ev.seq, trunc: ev.trunc, end: ev.end, err: ev.err}))
		switch {
		case ev.trunc:
			if ev.seq <= want || ev.seq >= nItems {
				m.t.Errorf("%s from %d: truncation notice to %d after %v; want one past %d, before %d",
					name, start, ev.seq, seen, want, nItems)
				return 0, false
			}
			m.truncs.Add(1)
			if n > 0 {
				m.midTruncs.Add(1) // a reader that fell behind, not the turn's burst
			}
			want = ev.seq
		case ev.err != "" && ev.err != hmFailMsg && m.rtStopped.Load():
			// The actor stopped under the stream: its error end.
			m.stopEnds.Add(1)
			if _, err := br.ReadByte(); err != io.EOF {
				m.t.Errorf("%s from %d: after the end %v: %v; want EOF", name, start, seen, err)
			}
			return 0, false
		case ev.end || ev.err != "":
			if want < nItems || ev.end == req.Fail || ev.err != "" && ev.err != hmFailMsg {
				m.t.Errorf("%s from %d: end %+v after %v; want items to %d, then fail %t", name, start,
					ev, seen, nItems, req.Fail)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				m.t.Errorf("%s from %d: after the end %v: %v; want EOF", name, start, seen, err)
			}
			return 0, false
		default:
			if ev.seq != want || ev.value != hmValue(ev.seq) {
				m.t.Errorf("%s from %d: item %d (%.10q) after %v; want item %d", name, start, ev.seq, ev.value, seen, want)
				return 0, false
			}
			want++
		}
		time.Sleep(delay)
	}
}

// readHMEvent reads an event. A JSON lines body's clean end is its EOF;
// a body cut before its end is io.ErrUnexpectedEOF.
func readHMEvent(br *bufio.Reader, sse bool) (hmEvent, error) {
	var ev hmEvent
	if !sse {
		line, err := br.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			return hmEvent{end: true}, nil
		}
		if err != nil {
			return ev, fmt.Errorf("%w: %q, %w", io.ErrUnexpectedEOF, line, err)
		}
		var l struct {
			Seq       *uint64 `json:"seq"`
			Value     string  `json:"value"`
			Truncated *uint64 `json:"truncated"`
			Error     string  `json:"error"`
		}
		d := json.NewDecoder(bytes.NewReader(line))
		d.DisallowUnknownFields()
		if err := d.Decode(&l); err != nil {
			return ev, fmt.Errorf("line %q: %w", line, err)
		}
		switch {
		case l.Seq != nil && l.Truncated == nil && l.Error == "":
			return hmEvent{seq: *l.Seq, value: l.Value}, nil
		case l.Truncated != nil && l.Seq == nil && l.Error == "":
			return hmEvent{seq: *l.Truncated, trunc: true}, nil
		case l.Error != "" && l.Seq == nil && l.Truncated == nil:
			return hmEvent{err: l.Error}, nil
		}
		return ev, fmt.Errorf("line %q: not an item, a notice or an error", line)
	}
	var id, name, data string
	var hasID bool
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return ev, fmt.Errorf("%w: %q, %w", io.ErrUnexpectedEOF, line, err)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			break
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id, hasID = value, true
		case "event":
			name = value
		case "data":
			data += value
		default:
			return ev, fmt.Errorf("event line %q", line)
		}
	}
	switch name {
	case "":
		seq, err := strconv.ParseUint(id, 10, 64)
		if !hasID || err != nil {
			return ev, fmt.Errorf("item with id %q", id)
		}
		return hmEvent{seq: seq, value: data}, nil
	case "truncated":
		next, err1 := strconv.ParseUint(data, 10, 64)
		before, err2 := strconv.ParseUint(id, 10, 64)
		if err1 != nil || err2 != nil || before+1 != next {
			return ev, fmt.Errorf("truncated event id %q data %q; want k-1 and k", id, data)
		}
		return hmEvent{seq: next, trunc: true}, nil
	case "end":
		if hasID || data != "" {
			return ev, fmt.Errorf("end event id %q data %q", id, data)
		}
		return hmEvent{end: true}, nil
	case "error":
		return hmEvent{err: data}, nil
	}
	return ev, fmt.Errorf("event %q id %q data %.20q", name, id, data)
}
