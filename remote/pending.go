package remote

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
)

// pending is a call waiting for its reply. Whoever settles it first (the
// reply, the caller's deadline or cancel, the node's close) writes the
// outcome and closes done: exactly one outcome per call.
type pending struct {
	settled atomic.Bool
	done    chan struct{}
	msg     *nats.Msg // the reply, or nil
	err     error     // why there is no reply
	after   func()    // run by the winner after settling (Ask's cleanup), or nil
}

// failedPending is a call that failed before it was sent.
func failedPending(err error) *pending {
	p := &pending{done: closedChan, err: err}
	p.settled.Store(true)
	return p
}

func (p *pending) settle(m *nats.Msg, err error) bool {
	if !p.settled.CompareAndSwap(false, true) {
		return false
	}
	p.msg, p.err = m, err
	close(p.done)
	if p.after != nil {
		p.after()
	}
	return true
}

// pendingTable holds a node's calls waiting for replies, by token (the last
// token of the reply subject). O(1) per operation under one mutex.
type pendingTable struct {
	seq    atomic.Uint64
	mu     sync.Mutex // guards what follows
	calls  map[uint64]*pending
	closed bool
	empty  chan struct{} // closed when closed and calls is empty
}

func (t *pendingTable) init() { t.calls = map[uint64]*pending{} }

// add registers a call; ErrClosed once the table is closed.
func (t *pendingTable) add(p *pending) (uint64, error) {
	tok := t.seq.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return 0, ErrClosed
	}
	t.calls[tok] = p
	return tok, nil
}

// take removes and returns the call of tok, or nil.
func (t *pendingTable) take(tok uint64) *pending {
	t.mu.Lock()
	p := t.calls[tok]
	if p != nil {
		delete(t.calls, tok)
		if t.closed && len(t.calls) == 0 {
			close(t.empty)
		}
	}
	t.mu.Unlock()
	return p
}

// close refuses new calls; drained is closed once the last one is taken.
func (t *pendingTable) close() {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		t.empty = make(chan struct{})
		if len(t.calls) == 0 {
			close(t.empty)
		}
	}
	t.mu.Unlock()
}

func (t *pendingTable) drained() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.empty
}

// failAll settles every call left with err.
func (t *pendingTable) failAll(err error) {
	t.mu.Lock()
	left := t.calls
	t.calls = map[uint64]*pending{}
	if t.closed && len(left) > 0 {
		close(t.empty)
	}
	t.mu.Unlock()
	for _, p := range left {
		p.settle(nil, err)
	}
}

// replySubject is the reply subject of token tok.
// One allocation: the string (built in a buffer on the stack while the
// inbox fits, as nats.go's default does).
func (n *Node) replySubject(tok uint64) string {
	var buf [64]byte
	return string(strconv.AppendUint(append(buf[:0], n.inbox...), tok, 10))
}

// onReply delivers a reply to its call, on the reply subscription's
// goroutine. A reply whose call is gone (its caller gave up) is late:
// discarded and reported.
func (n *Node) onReply(m *nats.Msg) {
	suffix := m.Subject[len(n.inbox):]
	if len(suffix) > 0 && suffix[0] == 's' {
		n.onStreamControl(suffix, m.Data)
		return
	}
	if suffix == "f" {
		n.onFollow(m)
		return
	}
	tok, err := strconv.ParseUint(suffix, 10, 64)
	var p *pending
	if err == nil {
		p = n.calls.take(tok)
	}
	if p == nil || !p.settle(m, nil) {
		n.refuse(Refusal{Reason: ReasonLate, Method: m.Header.Get("Nats-Subject")})
	}
}
