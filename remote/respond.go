package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/troupe-go/troupe/actor"
)

// reject refuses a request before it reaches the actor: reported, and
// answered (through micro, which counts it in the endpoint's errors) if it
// is a call.
func (n *Node) reject(r micro.Request, ex *export, ep *endpoint, reason, code, msg string) {
	err := &Error{Code: code, Message: msg, Method: ep.label, Node: n.id}
	n.refuse(Refusal{Reason: reason, Name: ex.name, Method: ep.method, Err: err})
	if r.Reply() == "" {
		return
	}
	hs := headerSafe(msg)
	body := n.errorBody(wireError{Code: code, Message: msg, Method: ep.label, Node: n.id}, errorHeaderRoom(code, hs))
	_ = r.Error(code, hs, body)
}

// respondErr answers a call with an error (off the subscription's
// goroutine: published directly, not through micro).
func (n *Node) respondErr(reply string, ep *endpoint, w wireError) {
	w.Method, w.Node = ep.label, n.id
	hs := headerSafe(w.Message)
	body := n.errorBody(w, errorHeaderRoom(w.Code, hs))
	_ = n.nc.PublishMsg(&nats.Msg{Subject: reply, Data: body, Header: nats.Header{
		micro.ErrorCodeHeader: {w.Code},
		micro.ErrorHeader:     {hs},
	}})
}

// errorHeaderRoom is the most bytes an error reply's headers (code and
// message hs) take on the wire, as nats.go counts them against the
// maximum payload.
func errorHeaderRoom(code, hs string) int {
	return len("NATS/1.0\r\n") + len(micro.ErrorCodeHeader) + len(code) + len(": \r\n") +
		len(micro.ErrorHeader) + len(hs) + len(": \r\n") + len("\r\n")
}

// errorBody encodes w to fit one message with overhead bytes beside it
// (payloadLimit): an error too large to publish would never reach its
// caller, who would wait for its deadline (a call) or for ever (a
// stream's end, resent in vain). The longest of the stack, the panic's
// value and the message is cut until it fits, marked as cut.
func (n *Node) errorBody(w wireError, overhead int) []byte {
	return n.errorBodyWithin(w, n.payloadLimit(overhead))
}

// errorBodyWithin is errorBody cut to limit bytes.
func (n *Node) errorBodyWithin(w wireError, limit int) []byte {
	for {
		body, _ := json.Marshal(w)
		if len(body) <= limit {
			return body
		}
		f := &w.Stack
		if len(w.Value) > len(*f) {
			f = &w.Value
		}
		if len(w.Message) > len(*f) {
			f = &w.Message
		}
		if len(*f) <= len(cutMark) {
			return body // nothing left to cut: the node's limit is below an error's bare fields
		}
		keep := max(0, len(*f)-len(cutMark)-(len(body)-limit))
		*f = strings.ToValidUTF8((*f)[:keep], "") + cutMark
	}
}

// cutMark ends a field errorBody cut.
const cutMark = "…(cut)"

// canceler ends a served call (*callCtx) or stream (cancelFunc).
type canceler interface{ cancel() }

// cancelFunc is a context.CancelFunc as a canceler (a func is one word: no
// allocation to make it an interface value).
type cancelFunc context.CancelFunc

func (f cancelFunc) cancel() { f() }

// wireErrorOf is the wire form of a call's failure.
func wireErrorOf(err error) wireError {
	if pe, ok := errors.AsType[*actor.PanicError](err); ok {
		return wireError{Code: CodePanic, Message: err.Error(), Value: fmt.Sprint(pe.Value), Stack: string(pe.Stack)}
	}
	return wireError{Code: codeOf(err), Message: err.Error()}
}

// headerSafe makes s fit a header value: one line, bounded.
func headerSafe(s string) string {
	if len(s) > 1024 {
		s = s[:1024]
	}
	if s == "" {
		return "error"
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// track records a served call or stream under its reply subject (so Close
// can cancel it) and counts it in wg, under mu so that Shutdown's wait
// sees it; on a closing node it cancels it, refuses the request and
// reports false. One whose caller's cancel came first is cancelled and
// reported, without a reply (its caller has given up), and track reports
// false.
func (n *Node) track(r micro.Request, ex *export, ep *endpoint, reply string, c canceler, wg *sync.WaitGroup) bool {
	n.mu.Lock()
	if n.state.Load() != running {
		n.mu.Unlock()
		c.cancel()
		n.reject(r, ex, ep, ReasonClosing, CodeClosed, "node "+n.id+" is closing")
		return false
	}
	if n.early.takeLocked(reply) {
		n.mu.Unlock()
		c.cancel()
		n.refuse(Refusal{Reason: ReasonCancelled, Name: ex.name, Method: ep.method})
		return false
	}
	n.serving[reply] = c
	wg.Add(1)
	n.mu.Unlock()
	return true
}
