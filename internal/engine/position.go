package engine

import "time"

// Position is what a list of actor.FollowOptions asks of a reader: where
// it starts and how long it waits for an item. actor.PositionOf reads it,
// for the packages that carry a reader's options to another process
// (remote's readers, jobs' HTTP client), so that one set of options,
// actor.Since, actor.Recent and actor.ReadTimeout, places every reader.
type Position struct {
	Since     uint64 // with HasSince: the first sequence number to read
	HasSince  bool
	Recent    int // with HasRecent: how many items before the end to start
	HasRecent bool
	// ReadTimeout, if positive, bounds each wait for the next item.
	ReadTimeout time.Duration
}
