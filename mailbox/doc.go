// Package mailbox implements the mailbox of an actor: a multi-producer,
// single-consumer queue with a system lane, an admit filter that holds back
// (never drops) what it does not admit, an optional capacity with overflow
// policies, and the idle/scheduled flag that tells a producer whether it
// must schedule the consumer.
//
// A [Mailbox] is generic over the message type and knows nothing of
// actors: a [Config], shared by many mailboxes, tells it how to read a
// message's [Key] and, optionally, whether a message is still wanted. It
// imports only the standard library.
//
// # Lanes
//
// [Mailbox.PushSystem] feeds the system lane: unbounded, never filtered,
// and popped before any user message. [Mailbox.Push] feeds the user lane,
// which is FIFO by arrival: messages from one producer come out in the
// order it pushed them, except where the admit filter holds some back.
//
// # Admit filter
//
// By default every user message is admitted. [Mailbox.Admit] restricts the
// consumer to some keys (the actor layer's whitelist of methods);
// [Mailbox.AdmitAll] lifts the restriction. When [Mailbox.Pop] meets a
// message it does not admit, it moves it to the held queue of its key: the
// message waits there, in arrival order, until its key is admitted, the
// mailbox evicts it (see Overflow) or [Mailbox.Close] returns it. Pop
// always returns the oldest admitted user message, held or queued: a held
// message of an admitted key comes before newer queued messages, and held
// messages of two admitted keys come out interleaved by arrival.
//
// # Overflow
//
// [Config.Capacity] bounds the user messages, queued and held together
// (0: unbounded; system messages never count). When a Push finds the
// mailbox full it first discards dead messages, if [Config.Live] is set
// (their callers gave up); if that frees nothing, the [Policy] decides:
// [Reject] fails with [ErrFull], [DropOldest] evicts the oldest user
// message and hands it to [Config.OnDrop], [Block] waits for room until
// its context is done.
//
// # The idle flag protocol
//
// A mailbox is idle (nobody runs its consumer) or scheduled. A Push that
// moves it from idle to scheduled returns schedule == true, and its caller
// must then run the consumer, exactly once. The consumer pops until Pop
// reports nothing, then calls [Mailbox.Idle]:
//
//	for {
//		msg, system, ok := mb.Pop()
//		if !ok {
//			if mb.Idle() {
//				return // a later Push will schedule us again
//			}
//			continue
//		}
//		handle(msg, system)
//	}
//
// Idle sets the flag to idle and then looks again for messages pushed in
// the meantime. Without that second look, a Push landing between the
// consumer's "nothing left" and its "I am idle" would see the flag still
// scheduled, schedule nobody, and its message would wait forever (the lost
// wake-up). With it, exactly one of the consumer and the producer keeps
// the flag: the flag is taken back by compare-and-swap.
//
// # Costs
//
// Push, PushSystem and Pop are O(1) amortised and allocate nothing in
// steady state. An unbounded mailbox's user queue is a lock-free list of
// blocks: a first one of 7 slots (288 bytes with 32-byte messages), then
// blocks of 31 (1.25 KB). Blocks read through are kept for the next (up
// to 256, given back with the queues by [Mailbox.Trim]; any beyond go to
// the garbage collector as they are read), so traffic whose backlog comes
// and goes allocates nothing. The other queues (the system lane,
// a bounded mailbox's user queue, held queues) are power-of-two ring
// buffers that grow by doubling. An emptied ring keeps its buffer unless
// the buffer is above 1024 entries and each of its last 64 rounds (a round
// ends when the ring empties) used at most a quarter of it, so a load that
// keeps refilling a queue, even unevenly, does not reallocate it, while
// the memory of a one-off burst goes back after 64 smaller rounds in a
// row. A Pop under a filter costs
// O(k) for the k held keys the filter admits, plus O(1) once per held
// message: held messages are never rescanned. The full path costs more:
// O(n) to discard dead messages, O(h) to find the oldest of h held keys
// for DropOldest. New allocates only the Mailbox (32 bytes); the lock, the
// queues and their storage come with the first message, in a separate
// 320-byte object, cache-line aligned, that keeps what producers write off
// the consumer's cache lines (and, with the first user message of an
// unbounded mailbox, its first block). [Mailbox.Trim] gives them back.
//
// In one benchmark run on a 2-core machine (BenchmarkPushPop), a Push and
// a Pop of a four-word message from one producer cost about 25ns against
// 36ns for a buffered channel; with 8 producers, 69ns unbounded and 56ns
// with a capacity of 1024 (Block), against 67ns. (Before the lane; see
// bench/RESULTS.md for the actor-level figures since.)
//
// # Concurrency
//
// Push, PushSystem, Close, Len, Held, Scheduled and Admitted are safe for
// concurrent use. Pop, Idle, Admit and AdmitAll belong to the consumer: one
// goroutine at a time, the one running its turn.
//
// A Push into an unbounded mailbox is lock-free: it reserves a position
// with one compare-and-swap on the queue's tail and publishes its message
// with one atomic store into the position's slot; producers never wait
// for one another (a failed compare-and-swap is retried at once) nor for
// the consumer, which reads the slots in order without the lock. With 8
// or 64 senders on 2 cores that made a oneway 2 to 2.5 times faster than
// the mutex it replaced, whose parking and waking were most of a
// message's cost.
//
// A short mutex guards the rest: the system lane, the held queues and
// filter, and a bounded mailbox's user queue, where a Push takes it once
// and makes no other atomic write unless the mailbox was empty (or, once
// every 64 pushes, to publish the backlog). A Push that finds that mutex
// held while the consumer is behind (a backlog of 64 or more) yields the
// processor a few times, trying again after each, before it sleeps on the
// mutex: many producers on few cores then take turns instead of parking
// one another. Scheduled, Backlog, Idle and an unbounded mailbox's Pop
// (with no system message, filter or admitted held message) are
// lock-free. [Config.Key] and [Config.Live] run under that mutex and must
// be cheap and non-blocking; [Config.OnDrop] runs without it, on the
// pushing goroutine.
//
// # Goroutines and shutdown
//
// The package starts no goroutines. Close is immediate and idempotent: it
// returns what was pending, wakes blocked producers with [ErrClosed], and
// every later Push or PushSystem returns [ErrClosed]. There is no reopen.
package mailbox
