package runtime

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// sink counts dead letters per reason, passes them to the user's hook and
// logs them at a bounded rate.
type sink struct {
	counts [actor.NumReasons]atomic.Uint64
	hook   func(actor.DeadLetter)
	logger *slog.Logger
	rate   int64
	start  time.Time
	window atomic.Int64 // the second (since start) being counted
	logged atomic.Int64 // entries logged in that second
	quiet  atomic.Uint64
}

func (s *sink) deliver(d actor.DeadLetter) {
	if int(d.Reason) < len(s.counts) {
		s.counts[d.Reason].Add(1)
	}
	if s.hook != nil {
		s.hook(d)
	}
	if s.logger != nil && s.allow() {
		s.logger.LogAttrs(context.Background(), slog.LevelWarn, "troupe: dead letter",
			slog.String("reason", d.Reason.String()),
			slog.String("actor", d.Actor),
			slog.String("method", d.Method),
			slog.Any("error", d.Err))
	}
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
	ByReason   map[actor.Reason]uint64
	Total      uint64
	Suppressed uint64 // not logged because of the rate limit
}

// DeadLetters returns the dead-letter counters. Safe for concurrent use.
func (rt *Runtime) DeadLetters() DeadLetterStats {
	st := DeadLetterStats{ByReason: make(map[actor.Reason]uint64), Suppressed: rt.sink.quiet.Load()}
	for i := range rt.sink.counts {
		if n := rt.sink.counts[i].Load(); n > 0 {
			st.ByReason[actor.Reason(i)] = n
			st.Total += n
		}
	}
	return st
}
