package actor

import "sync"

// streamSet is what an actor produces: its open streams, by id, for
// Stream.Follow and for the actor's stop, which ends them all with
// ErrStopped. The cell's ext holds it, made with the actor's first stream,
// whose turn registers one atStop for the whole set (so a long-lived actor
// accumulates no closures). A stream leaves the set when it ends.
type streamSet struct {
	mu   sync.Mutex // guards open and done
	open map[uint64]streamEnder
	done bool // the actor finalized: the set takes no more streams
}

// streamEnder is a journal as its actor's set sees it.
type streamEnder interface {
	stop(err error)
}

// addStream puts a stream the actor now produces in its set, on the
// actor's turn, and returns the set; nil if the actor has finalized (the
// caller ends the stream).
func (c *cell) addStream(id uint64, j streamEnder) *streamSet {
	c.mu.Lock()
	e := c.extLocked()
	set, fresh := e.streams, false
	if set == nil {
		set, fresh = &streamSet{open: make(map[uint64]streamEnder)}, true
		e.streams = set
	}
	c.mu.Unlock()
	if fresh && !c.atStop(func() { set.stopAll(c.stopErr()) }) {
		set.stopAll(c.stopErr())
	}
	if !set.add(id, j) {
		return nil
	}
	return set
}

// stream returns the actor's open stream id, if any.
func (c *cell) stream(id uint64) streamEnder {
	c.mu.Lock()
	var set *streamSet
	if c.ext != nil {
		set = c.ext.streams
	}
	c.mu.Unlock()
	if set == nil {
		return nil
	}
	set.mu.Lock()
	defer set.mu.Unlock()
	return set.open[id]
}

func (s *streamSet) add(id uint64, j streamEnder) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return false
	}
	s.open[id] = j
	return true
}

func (s *streamSet) remove(id uint64) {
	s.mu.Lock()
	delete(s.open, id)
	s.mu.Unlock()
}

// endOpen ends every stream open now with err and goes on taking new
// ones: a restart ends the streams of the state that died.
func (s *streamSet) endOpen(err error) {
	s.mu.Lock()
	open := s.open
	if !s.done {
		s.open = make(map[uint64]streamEnder)
	}
	s.mu.Unlock()
	for _, j := range open {
		j.stop(err)
	}
}

// stopAll ends every open stream with err and takes no more.
func (s *streamSet) stopAll(err error) {
	s.mu.Lock()
	s.done = true
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for _, j := range open {
		j.stop(err)
	}
}
