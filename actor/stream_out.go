package actor

import "context"

// Out is the producer end of a stream, passed to a [NewStream] handler.
// The handler may use it during its turn, keep it in the actor's state and
// use it on later turns, or hand it to other goroutines: every method is
// safe for concurrent use. A zero Out (not made by a stream) and a nil
// *Out return ErrNilStream.
type Out[E any] struct {
	j *journal[E]
}

func (o *Out[E]) journal() (*journal[E], error) {
	if o == nil || o.j == nil {
		return nil, ErrNilStream
	}
	return o.j, nil
}

// Send appends e to the stream's journal as the next item (sequence
// numbers from 0) and wakes the readers waiting for one. It never blocks
// the caller: a full journal drops its oldest item, and a reader that had
// yet to read it gets a [*TruncatedError] (use SendWait to wait for slow
// readers instead). Errors: ErrStreamClosed once the stream has ended
// (Close, the handler's error, the actor's stop), ErrNilStream. Cost: a
// short critical section that readers do not contend for, no allocation
// once the journal has grown to its size (it doubles up to it); a wake-up
// per waiting reader, only when some wait.
func (o *Out[E]) Send(e E) error {
	j, err := o.journal()
	if err != nil {
		return err
	}
	var sz int64
	if j.lim.size != nil {
		sz = j.sizeOf(e)
	}
	if !j.tryLockP() {
		j.lockSlowP()
	}
	if j.closed.Load() {
		j.unlockP()
		return ErrStreamClosed
	}
	j.sendP(e, sz)
	return nil
}

// SendWait is Send for a producer that wants back-pressure: it first waits
// until e fits without dropping an item that an attached reader has yet
// to read (see Wait), then appends it. It blocks, bounded by ctx; do not
// call it on an actor's turn (the actor would wait for its slowest
// reader): use it from a goroutine the handler handed out to. A ctx
// already ended sends nothing. Errors: ErrNilContext, ErrNilStream,
// ErrStreamClosed, ctx's end (ErrTimeout for a deadline, as for a call).
// Cost: as Send while readers keep up; O(readers) about once per bound's
// worth of items, and per wait.
func (o *Out[E]) SendWait(ctx context.Context, e E) error {
	j, err := o.journal()
	if err != nil {
		return err
	}
	if ctx == nil {
		return ErrNilContext
	}
	if ctx.Err() != nil {
		return ctxErr(ctx, j.label)
	}
	var sz int64
	if j.lim.size != nil {
		sz = j.sizeOf(e)
	}
	if !j.tryLockP() {
		j.lockSlowP()
	}
	if !j.closed.Load() && j.fitsP(j.low.Load(), sz) { // the common case: readers keep up
		j.sendP(e, sz)
		return nil
	}
	j.unlockP()
	return j.waitRoom(ctx, e, sz, true)
}

// Wait blocks until the journal has room: the items some attached reader
// has yet to read are fewer than the count bound and (with a size
// function) take fewer bytes than the byte bound, so one more Send (of an
// item of at most 1 byte, with a size function: SendWait waits for room
// for its own item) drops none of them. With no reader attached there is
// always room. Once it has to wait, it waits for room for a quarter of
// the count bound, not for one item: a producer and a reader of about the same speed then take turns
// by large batches instead of waking each other for every item. It is
// bounded by ctx; errors as for SendWait. Between Wait and a Send, another
// producer may take the room: SendWait checks and appends at once.
func (o *Out[E]) Wait(ctx context.Context) error {
	j, err := o.journal()
	if err != nil {
		return err
	}
	if ctx == nil {
		return ErrNilContext
	}
	if ctx.Err() != nil {
		return ctxErr(ctx, j.label)
	}
	// Room for the smallest item that counts: with a size function, one
	// of 1 byte, so that the unread bytes are fewer than the bound (with
	// exactly the bound unread, any item but an empty one drops one).
	var sz int64
	if j.lim.size != nil {
		sz = 1
	}
	var zero E
	return j.waitRoom(ctx, zero, sz, false)
}

// waitRoom waits for room for e, of sz bytes (send), or for any item,
// then appends e if send.
func (j *journal[E]) waitRoom(ctx context.Context, e E, sz int64, send bool) error {
	for {
		j.lockP()
		if j.closed.Load() {
			j.unlockP()
			return ErrStreamClosed
		}
		ok, room := j.roomP(sz)
		if ok && send {
			j.sendP(e, sz)
			return nil
		}
		j.unlockP()
		if ok {
			return nil
		}
		select {
		case <-room:
		case <-ctx.Done():
			return ctxErr(ctx, j.label)
		}
	}
}

// Close ends the stream: readers get the items kept, then err as their
// last pair (nothing more for a nil err); later Sends get ErrStreamClosed;
// the stream's Context is cancelled. An error that no reader is attached
// to receive goes to the runtime's dead letters. It returns
// ErrStreamClosed if the stream had already ended (the first end stands),
// ErrNilStream for a nil Out. Safe for concurrent use; does not block.
// Cost: O(readers).
func (o *Out[E]) Close(err error) error {
	j, e := o.journal()
	if e != nil {
		return e
	}
	if !j.end(err, false) {
		return ErrStreamClosed
	}
	return nil
}

// Context returns a context cancelled when the stream ends (cause
// ErrStreamClosed) or when its last reader detaches (cause ErrNoReader):
// a producer that watches it stops working for nobody. A reader ended by
// a [*TruncatedError] still counts until it is closed or its ctx ends,
// so a reader that resumes with Since before closing the truncated one
// keeps it alive. Streams whose producer should go on without readers (a
// job's log, read later with Since) just do not watch it. Once cancelled
// it stays so, even if a reader attaches later. The stream's end cancels
// it in one step too: a reader that has got the end (and whoever it tells)
// finds it cancelled, whoever ended the stream (a Close on another
// goroutine, the actor's stop after Kill).
//
// The last reader's leaving cancels it in one step with respect to
// attaching: a reader attached while the Context is live keeps it from
// ErrNoReader until that reader detaches, however close its attach comes
// to another reader's leaving. So whoever holds the Out can attach a
// reader ([Out.Follow]) and then look: a nil Context().Err() means the
// producer was not told to stop; ErrNoReader (as cause) means it was,
// before the reader attached, and may have stopped: close the reader and
// open the stream anew rather than wait on it. Made on first use (a few
// allocations); a nil Out's is a cancelled context.
func (o *Out[E]) Context() context.Context {
	j, err := o.journal()
	if err != nil {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(err)
		return ctx
	}
	return j.context()
}

// ID is the stream's id, unique in the process (0 for a nil Out).
func (o *Out[E]) ID() uint64 {
	if o == nil || o.j == nil {
		return 0
	}
	return o.j.id
}

// Follow attaches a reader to this stream, for whoever holds the Out (a
// job registry keeping streams for later readers): it works after the
// stream has ended too, as long as the Out is kept. The reader lives until
// ctx ends or it is detached (see [Follow]); it does not block. Errors:
// ErrNilContext, ErrNilStream, ErrInvalidOption, ErrNegativeDuration.
// Cost: a few allocations.
func (o *Out[E]) Follow(ctx context.Context, opts ...FollowOption) (*Follow[E], error) {
	j, err := o.journal()
	if err != nil {
		return nil, err
	}
	if ctx == nil {
		return nil, ErrNilContext
	}
	cfg, err := followConfigOf(opts)
	if err != nil {
		return nil, err
	}
	f := j.newFollow(ctx, cfg)
	f.watch()
	return f, nil
}
