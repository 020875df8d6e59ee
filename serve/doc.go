// Package serve embeds troupe in network servers: a TCP server that runs
// one actor per connection, and HTTP handlers that call actors.
//
// # One actor per connection
//
// A [Server] accepts connections and spawns, for each, an actor whose state
// the session factory makes. The actor gets its input as ordinary typed
// messages in its mailbox: each frame for [Session.Frame] (the reader
// waits until it is handled before it reads on), the idle timeout for
// [IdleHandler.Idle], the close for [CloseHandler.Closed]. So a session's
// state needs no lock, other actors can call it like any actor, and
// whitelists, supervision and dead letters apply. The echo server of cogen:
//
//	type echo struct{ conn *serve.Conn }
//
//	func (e *echo) Frame(c *actor.Ctx, line []byte) error {
//		if string(bytes.TrimSpace(line)) == "exit" {
//			err := e.conn.Write(c.Context(), []byte("GOOD BYE"))
//			e.conn.Close() // after what is queued
//			return err
//		}
//		return e.conn.Write(c.Context(), line) // the call's deadline is the write's
//	}
//
//	srv, err := serve.New(rt, func(conn *serve.Conn) *echo {
//		_ = conn.Write(context.Background(), []byte("WELCOME TO ECHO SERVER !\r\n"))
//		return &echo{conn}
//	}, serve.WithLines(8192), serve.WithIdleTimeout(time.Minute))
//	go srv.ListenAndServe(":7777")
//	...
//	srv.Shutdown(ctx) // then rt.Shutdown(ctx)
//
// # Framing
//
// Input is cut into lines ([WithLines], the default: each keeps its '\n',
// at most the limit long) or length-prefixed frames ([WithLengthPrefix]: a
// 4-byte big-endian length, checked against the limit before anything is
// allocated). A frame over its limit closes the connection with a
// [*LimitError]. The next frame is read only after Frame returns, so a slow
// actor slows its client down through TCP's flow control; a frame is valid
// only until Frame returns. When the actor is idle as a frame comes, its
// turn runs on the connection's reader goroutine (see [Server.Close]) and
// may go on, after Frame, with other messages queued meanwhile (at most 16
// in all): calls from other actors, the idle timeout. Until that turn
// ends the reader does not read, so any handler of the session that
// blocks, not only Frame, can hold its connection's input back.
//
// # Writes
//
// [Conn.Write] and [Conn.Send] queue bytes and return at once: a slow
// client never blocks its actor. The queue is bounded ([WithWriteQueue]):
// a write that does not fit fails with a [*QueueFullError]. A write's ctx
// deadline is its write deadline (else [WithWriteTimeout]); bytes that miss
// it close the connection with [ErrWriteTimeout].
//
// # Idle timeout
//
// [WithIdleTimeout] measures the client's silence: the count restarts
// after each frame (and each written batch with [WithIdleOnWrite]) and
// nothing else, so a connection whose actor keeps getting calls from
// other actors (pushes to a silent client) still times out. It runs on
// the runtime's timer wheel, as the actor's idle timeout
// (actor.WithIdleTimeout with actor.IdleOnTouch). Without an
// IdleHandler an idle connection closes with [ErrIdleTimeout].
//
// # HTTP
//
// [Method] serves an actor.Method as an http.Handler: the call's ctx is
// the request's, so a client that goes away cancels it, and only the
// handler writes the response, after the call. Errors map to statuses
// through [StatusOf] (timeout 504, stopped or full mailbox 503, body over
// the cap 413); a panic in the route's Target, decode or encode, which
// run on net/http's goroutine, is answered 500 as a *actor.PanicError,
// as the handler's is (one in the error writer, [WithErrorWriter], by the
// default writer, and logged to the http.Server's ErrorLog). [SSE] and
// [JSONLines] serve an actor.Stream as server-sent events (Last-Event-ID
// resumes) or JSON lines. A stream
// that fails before its first item for the request (SSE waits up to a
// tenth of a second for it) is answered with a status, not a 200 that ends in an
// error, so that a browser's EventSource does not reconnect to it for
// ever. A request for items the journal no longer keeps goes on from the
// oldest kept, after a "truncated" event (or line) that says so; a
// stream that ends with a truncation error of its own (its producer met
// one reading something else) ends there, as with any other error.
//
// # Goroutines and shutdown
//
// A Server runs an accept loop per Serve call (on the caller's goroutine),
// and per connection a reader goroutine for its life plus a writer
// goroutine while it has bytes queued. Every one belongs to the Server.
// [Server.Shutdown] stops accepting, lets each connection finish the frame
// in hand and write what is queued, shuts the server's side and waits
// briefly ([WithLinger]) for the client's, closes the sockets, stops the
// actors, and returns once all goroutines have exited; past its ctx it
// forces the stop. [Server.Close] closes everything now, kills the
// actors and waits (within the runtime's call timeout) for them to have
// stopped. Both are idempotent; afterwards Serve returns [ErrServerClosed].
// Shut the server down before its runtime. HTTP handlers start no
// goroutine: they run on net/http's.
//
// # Costs
//
// An idle connection costs its reader goroutine (its stack), the actor
// with its mailbox and idle timer (an actor timer, ~300 bytes) and its
// stop hook (see below), and the Conn (~300 bytes): about 5.7 KB, the
// same as raw Go's goroutine with its 4 KiB bufio.Reader
// (bench/serve_test.go's BenchmarkIdleConn: 5.7–5.8 KB against raw Go's
// 5.7–5.8 KB, run to run, within 2% of each other;
// it was 6.2–6.4 KB with the watcher actor each connection had before
// the stop hook). It holds no read buffer: on TCP and Unix sockets
// the reader gives its 4 KiB buffer back to a shared pool whenever it
// waits for input (other connections keep theirs). Write buffers are
// pooled too and held only while bytes are queued. Delivering a frame
// allocates nothing (one message, reused); an echoed line is one copy
// and, usually, one write(2) on the actor's turn. Writes queued while
// the writer is busy go out together in one system call.
//
// # When the actor stops
//
// However a connection's actor stops — Kill or Stop through its ref,
// Ctx.Stop, supervision, its runtime's stop — its connection closes at
// once, gracefully (what is queued is written) with reason
// actor.ErrStopped, even if its client is silent, whenever it stops (a
// kill from its Started hook, before it ran anything, included): the
// connection registers a hook, run as the actor finalizes, that closes
// it. Closed does not run then (the actor is gone).
package serve
