package jetjobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
)

// Serve is called by jobs.Register: it records that host's procedure runs
// here (so that any node's Submit knows it) and, on host's first
// procedure, starts consuming its queues: the one for jobs without a
// queue, every queue a node has submitted to, and each new one as it
// appears (a watch of the queues bucket). A job of host whose procedure
// is not registered here is left to the nodes that have it (handle).
// A Serve of a host that another Serve is starting to serve waits for
// that one's outcome (for up to ctx), and starts serving the host itself
// if that one failed: it returns nil only once the host is consumed.
// A Serve that fails leaves no trace (the caller may try again): its
// registration here is taken back, and so is the procedure's record, if
// this Serve created it (a record some node wrote before stays), unless
// the store cannot be reached then: Submits then take the procedure's
// jobs, which wait queued for a node that serves it (as do the Submits of
// another node that read the record while this Serve started: that node
// remembers the procedure).
// Errors: jobs.ErrUnavailable, jobs.ErrClosed.
func (b *Backend) Serve(ctx context.Context, host, procedure string) (err error) {
	key := procKey(host, procedure)
	rev, err := b.procs.Create(ctx, key, []byte(b.cfg.node))
	created := err == nil
	if errors.Is(err, jetstream.ErrKeyExists) {
		// Written again (its revision moves on), so that a failed Serve
		// that created it, taking it back only at its own revision,
		// leaves it to this one.
		_, err = b.procs.Put(ctx, key, []byte(b.cfg.node))
	}
	if err != nil {
		return unavailable(err)
	}
	if created {
		defer func() {
			if err != nil {
				b.unrecord(ctx, key, rev)
			}
		}()
	}
	b.mu.Lock()
	// Registered before its host is consumed: a job handed over at once
	// finds it. Counted, so that a Serve that fails takes back its own
	// registration only, not that of another Serve of the procedure.
	b.here[key]++
	defer func() {
		if err != nil { // a failed Serve takes back its own registration
			b.mu.Lock()
			if b.here[key]--; b.here[key] <= 0 {
				delete(b.here, key)
			}
			b.mu.Unlock()
		}
	}()
	var s *served
	for {
		if b.stopped {
			b.mu.Unlock()
			return jobs.ErrClosed
		}
		if s = b.served[host]; s == nil {
			break
		}
		select {
		case <-s.ready: // served (a start that failed leaves served)
			b.mu.Unlock()
			return nil
		default:
		}
		b.mu.Unlock()
		select { // another Serve is starting to serve host: its outcome
		case <-s.ready:
			b.mu.Lock()
		case <-ctx.Done():
			return unavailable(fmt.Errorf("host %s: waiting for its queues to be consumed: %w", host, context.Cause(ctx)))
		}
	}
	s = &served{consuming: map[string]jetstream.ConsumeContext{}, ready: make(chan struct{})}
	b.served[host] = s
	b.mu.Unlock()
	w, err := b.startServing(ctx, s, host)
	b.mu.Lock()
	defer close(s.ready) // after the unlock: a waiter finds served as it was left
	if err != nil {
		if !b.stopped { // the next registration tries again
			for _, cc := range s.consuming {
				cc.Stop()
			}
			delete(b.served, host)
		}
		b.mu.Unlock()
		return err
	}
	if b.stopped {
		b.mu.Unlock()
		_ = w.Stop()
		return jobs.ErrClosed
	}
	b.watchers = append(b.watchers, w)
	b.work.Go(func() { b.watchQueues(w, s, host) })
	b.mu.Unlock()
	return nil
}

// unrecord takes back the procedures bucket's record of key, created at
// rev by a Serve that failed, unless it was written since (by another
// Serve of the procedure, here or on another node). Bounded on its own
// (ctx may be what ended); a failure leaves the record. This node forgets
// that the record exists (known, which a Submit made meanwhile may have
// set), whatever the outcome (a delete whose answer was lost may have
// been done): a Submit here reads it again. Other nodes' Submits that
// read it meanwhile keep it (as they keep a record of a procedure nobody
// serves any more).
func (b *Backend) unrecord(ctx context.Context, key string, rev uint64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = b.procs.Delete(ctx, key, jetstream.LastRevision(rev))
	b.mu.Lock()
	delete(b.known, key)
	b.forgot++ // a knownProc that read the record before the delete does not keep it
	b.mu.Unlock()
}

// startServing consumes host's queue without a cap and starts watching
// its queues.
func (b *Backend) startServing(ctx context.Context, s *served, host string) (jetstream.KeyWatcher, error) {
	if _, err := b.ensureQueue(ctx, host, "", 0); err != nil { // the queue "" has no cap: never later
		return nil, err
	}
	if err := b.consume(ctx, s, host, ""); err != nil {
		return nil, err
	}
	w, err := b.queues.Watch(b.life, tok(host)+".*") // lives until Stop
	if err != nil {
		return nil, unavailable(err)
	}
	return w, nil
}

// watchQueues consumes each queue of host as it appears, until the
// watcher stops. A queue whose consumer could not be reached is tried
// again consumeRetry apart, until it is consumed (or the backend stops):
// the queue may never change again.
func (b *Backend) watchQueues(w jetstream.KeyWatcher, s *served, host string) {
	failed := map[string]struct{}{} // queues to try again
	retry := time.NewTimer(consumeRetry)
	retry.Stop()
	defer retry.Stop()
	try := func(queue string) {
		ctx, cancel := context.WithTimeout(b.life, b.cfg.lease)
		defer cancel()
		if err := b.consume(ctx, s, host, queue); err != nil {
			if len(failed) == 0 {
				retry.Reset(consumeRetry)
			}
			failed[queue] = struct{}{}
		}
	}
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			_, qt, _ := strings.Cut(e.Key(), ".")
			queue := ""
			if qt != noQueue {
				var ok bool
				if queue, ok = untok(qt); !ok {
					continue
				}
			}
			delete(failed, queue)
			try(queue)
		case <-retry.C:
			queues := failed
			failed = map[string]struct{}{}
			for queue := range queues {
				try(queue)
			}
		}
	}
}

// runsHere reports whether host's procedure is registered here.
func (b *Backend) runsHere(host, procedure string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.here[procKey(host, procedure)] > 0
}

// elsewhereDelay is how long a job message whose procedure is not
// registered here is put back for, before it is delivered again (to a
// node serving its host: another one, if there is one, or this one).
const elsewhereDelay = time.Second

// consumeRetry is how long a node waits before it tries again to consume
// a queue whose consumer it could not reach.
const consumeRetry = time.Second

// pullExpiry bounds a queue consumer's pull requests.
const pullExpiry = 2 * time.Second

// consume starts consuming host's queue, unless it is consumed already.
func (b *Backend) consume(ctx context.Context, s *served, host, queue string) error {
	name := consumerName(host, queue)
	b.mu.Lock()
	_, busy := s.consuming[name]
	b.mu.Unlock()
	if busy {
		return nil
	}
	c, err := b.queue.Consumer(ctx, name)
	if err != nil {
		return unavailable(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, busy := s.consuming[name]; busy || b.stopped {
		return nil
	}
	n := 64
	if info := c.CachedInfo(); info != nil && info.Config.MaxAckPending > 0 {
		n = info.Config.MaxAckPending
	}
	// Short pulls: a pull request lost while the consumer's leader is
	// elected (right after the consumer is made on a cluster) would
	// otherwise stall the queue until its expiry (30 s by default).
	cc, err := c.Consume(b.take, jetstream.PullMaxMessages(n), jetstream.PullExpiry(pullExpiry))
	if err != nil {
		return unavailable(err)
	}
	s.consuming[name] = cc
	return nil
}
