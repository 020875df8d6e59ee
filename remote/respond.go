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
	body, _ := json.Marshal(wireError{Code: code, Message: msg, Method: ep.label, Node: n.id})
	_ = r.Error(code, headerSafe(msg), body)
}

// respondErr answers a call with an error (off the subscription's
// goroutine: published directly, not through micro).
func (n *Node) respondErr(reply string, ep *endpoint, w wireError) {
	w.Method, w.Node = ep.label, n.id
	body, _ := json.Marshal(w)
	_ = n.nc.PublishMsg(&nats.Msg{Subject: reply, Data: body, Header: nats.Header{
		micro.ErrorCodeHeader: {w.Code},
		micro.ErrorHeader:     {headerSafe(w.Message)},
	}})
}

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
