package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
)

// sink counts dead letters per reason, passes them to the user's hook and
// logs them at a bounded rate. It is also where the runtime reports the
// errors nobody else can receive (see report).
type sink struct {
	counts  [engine.NumReasons]atomic.Uint64
	hook    func(DeadLetter)
	errHook func(error)
	stderr  io.Writer // where report writes without errHook or logger; os.Stderr
	logger  *slog.Logger
	rate    int64
	start   time.Time
	window  atomic.Int64 // the second (since start) being counted
	logged  atomic.Int64 // entries logged in that second
	quiet   atomic.Uint64
	inHook  atomic.Int32 // hook calls in progress (see deliver)
}

// hookDepth bounds the dead-letter hook calls in progress at once, nested
// or not (see deliver).
const hookDepth = 1024

// deliver is the engine's dead-letter sink.
func (s *sink) deliver(why uint8, actor, method string, err error, payload any) {
	d := DeadLetter{Reason: Reason(why), Actor: actor, Method: method, Err: err, Payload: payload}
	if int(d.Reason) < len(s.counts) {
		s.counts[d.Reason].Add(1)
	}
	if s.hook != nil {
		// A hook that sends to a stopped or full actor makes a dead
		// letter of its own send, reported by calling it again on the
		// same goroutine: without a bound that recursion runs until the
		// stack overflows, which kills the process. Go has no goroutine
		// identity, so the bound counts every call in progress: a hook
		// kept short never has hookDepth calls running at once.
		s.hookOrWrite(d)
	}
	if s.logger != nil && s.allow() {
		s.logger.LogAttrs(context.Background(), slog.LevelWarn, "troupe: dead letter",
			slog.String("reason", d.Reason.String()),
			slog.String("actor", d.Actor),
			slog.String("method", d.Method),
			slog.Any("error", d.Err))
	}
}

// hookOrWrite gives d to the user's hook, or writes it out past the
// recursion bound (see deliver). The count of calls in progress is given
// back by a deferred call: a hook that ends its goroutine with
// runtime.Goexit (which callHook cannot recover) must not leave it raised
// for good.
func (s *sink) hookOrWrite(d DeadLetter) {
	defer s.inHook.Add(-1)
	if s.inHook.Add(1) <= hookDepth {
		s.callHook(d)
		return
	}
	// Past the bound no user hook runs (the error hook could recurse the
	// same way): written out, never dropped.
	s.write(fmt.Errorf("dead-letter hook nested more than %d deep (does it send to a stopped or full actor?): %v", hookDepth, d))
}

// callHook runs the user's dead-letter hook. This is the one place its
// panics are recovered: the goroutine that produced the dead letter (often
// an actor's turn) goes on unharmed, and the panic is reported.
func (s *sink) callHook(d DeadLetter) {
	defer func() {
		if v := recover(); v != nil {
			s.report(&actor.PanicError{Method: "dead-letter hook", Value: v, Stack: debug.Stack()})
		}
	}()
	s.hook(d)
}

// report hands err, which nobody else can receive, to the error hook; or,
// without one, logs it at error level; or, without a logger, writes it to
// standard error. Nothing is dropped. A panic in the error hook itself is
// written to standard error.
func (s *sink) report(err error) {
	if s.errHook != nil {
		defer func() {
			if v := recover(); v != nil {
				s.write(fmt.Errorf("troupe: error hook panicked: %v (reporting %w)", v, err))
			}
		}()
		s.errHook(err)
		return
	}
	if s.logger != nil {
		s.logger.LogAttrs(context.Background(), slog.LevelError, "troupe: error", slog.Any("error", err))
		return
	}
	s.write(err)
}

func (s *sink) write(err error) {
	w := s.stderr
	if w == nil {
		w = os.Stderr
	}
	var pe *actor.PanicError
	if errors.As(err, &pe) {
		fmt.Fprintf(w, "troupe: %v\n%s\n", err, pe.Stack)
		return
	}
	fmt.Fprintf(w, "troupe: %v\n", err)
}

// allow is a per-second budget: at most rate entries each second; the rest
// are counted as suppressed.
func (s *sink) allow() bool {
	sec := int64(time.Since(s.start) / time.Second)
	if w := s.window.Load(); w != sec && s.window.CompareAndSwap(w, sec) {
		s.logged.Store(0)
	}
	if s.logged.Add(1) <= s.rate {
		return true
	}
	s.quiet.Add(1)
	return false
}

// DeadLetterStats counts dead letters per reason since New.
type DeadLetterStats struct {
	ByReason   map[Reason]uint64
	Total      uint64
	Suppressed uint64 // not logged because of the rate limit
}

// DeadLetters returns the dead-letter counters (all zero for a nil
// *Runtime). Safe for concurrent use.
func (rt *Runtime) DeadLetters() DeadLetterStats {
	st := DeadLetterStats{ByReason: make(map[Reason]uint64)}
	if rt == nil {
		return st
	}
	st.Suppressed = rt.sink.quiet.Load()
	for i := range rt.sink.counts {
		if n := rt.sink.counts[i].Load(); n > 0 {
			st.ByReason[Reason(i)] = n
			st.Total += n
		}
	}
	return st
}
