// Command echo is cogen's echo server on troupe: one actor per connection.
// It greets each client with "WELCOME TO ECHO SERVER !", echoes every line
// it reads (8192 bytes at most, as cogen's ReadLine(sock, 8192)), answers
// "exit" with "GOOD BYE" and closes, and closes a connection idle for a
// minute. On SIGINT it shuts down gracefully (serve.Server.Shutdown): each
// connection gets the replies to the lines handled so far, in order and
// whole (the line in hand is finished; lines not yet handled are
// dropped), then a clean close.
//
//	go run ./examples/echo -addr 127.0.0.1:7777
//	nc 127.0.0.1 7777
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
	"github.com/troupe-go/troupe/serve"
)

const (
	banner  = "WELCOME TO ECHO SERVER !\r\n"
	goodbye = "GOOD BYE"
	maxLine = 8192
)

// session is a connection's actor.
type session struct{ conn *serve.Conn }

func (s *session) Frame(_ *actor.Ctx, line []byte) error {
	if string(bytes.TrimSpace(line)) == "exit" {
		err := s.conn.Write(context.Background(), []byte(goodbye))
		s.conn.Close() // once GOOD BYE is written
		return err
	}
	return s.conn.Write(context.Background(), line) // the write deadline: WithWriteTimeout
}

// newServer is the echo server on rt.
func newServer(rt *troupe.Runtime, idle time.Duration) (*serve.Server, error) {
	return serve.New(rt, func(conn *serve.Conn) *session {
		_ = conn.Write(context.Background(), []byte(banner))
		return &session{conn}
	}, serve.WithLines(maxLine), serve.WithIdleTimeout(idle))
}

// run serves on l until ctx ends, then shuts the server down, then the
// runtime, within grace.
func run(ctx context.Context, l net.Listener, idle, grace time.Duration) error {
	rt, err := troupe.New()
	if err != nil {
		return err
	}
	srv, err := newServer(rt, idle)
	if err != nil {
		_ = rt.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	serving := true
	select {
	case <-ctx.Done():
	case err = <-served: // the listener failed
		serving = false
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		_ = srv.Close()
		err = serr
	}
	if serving {
		<-served // ErrServerClosed
	}
	if rerr := rt.Shutdown(sctx); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

func main() {
	addr := flag.String("addr", "127.0.0.1:7777", "address to listen on")
	idle := flag.Duration("idle", time.Minute, "idle timeout")
	flag.Parse()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("echo server on", l.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop) // from the first Ctrl-C on, a second one ends the process at once
	if err := run(ctx, l, *idle, 10*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
