package remote_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/remote"
)

// mute is a loopback listener that accepts connections and never speaks:
// a NATS client's connect waits there for the server's INFO. accepted is
// closed at the first connection.
type mute struct {
	ln       net.Listener
	accepted chan struct{}
	wg       sync.WaitGroup
}

func newMute(t *testing.T) *mute {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &mute{ln: ln, accepted: make(chan struct{})}
	m.wg.Go(func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if conns = append(conns, c); len(conns) == 1 {
				close(m.accepted)
			}
		}
	})
	t.Cleanup(func() { _ = ln.Close(); m.wg.Wait() })
	return m
}

func (m *mute) url() string { return "nats://" + m.ln.Addr().String() }

// TestStartCtxCancelled: Start connecting to a server that never answers
// returns ctx's error once ctx is cancelled, not nats.go's connect
// timeout (here a minute) later.
func TestStartCtxCancelled(t *testing.T) {
	m := newMute(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-m.accepted
		cancel()
	}()
	n, err := remote.Start(ctx, newRuntime(t), remote.WithURL(m.url()), remote.WithNATSOptions(nats.Timeout(time.Minute)))
	if err == nil {
		_ = n.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with a cancelled ctx: %v; want context.Canceled", err)
	}
}

// TestStartCtxDeadline: the same with ctx's deadline: Start returns ctx's
// error (context.DeadlineExceeded), as documented, not nats.go's.
func TestStartCtxDeadline(t *testing.T) {
	m := newMute(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	n, err := remote.Start(ctx, newRuntime(t), remote.WithURL(m.url()))
	if err == nil {
		_ = n.Close()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start past ctx's deadline: %v; want context.DeadlineExceeded", err)
	}
}
