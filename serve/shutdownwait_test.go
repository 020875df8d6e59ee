package serve_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// slowStop is a session that stops itself when idle and whose Stopping
// hook waits for release.
type slowStop struct {
	entered  chan struct{}
	release  chan struct{}
	finished *atomic.Bool
}

func (*slowStop) Frame(*actor.Ctx, []byte) error { return nil }
func (s *slowStop) Idle(c *actor.Ctx) error      { c.Stop(); return nil }
func (s *slowStop) Stopping(*actor.Ctx) {
	close(s.entered)
	<-s.release
	s.finished.Store(true)
}

// Shutdown returns nil only once every actor has stopped (as documented).
// A connection whose actor was stopping on its own (here, Ctx.Stop from
// Idle, its Stopping hook slow) while its client sent a frame: the frame
// was refused, the reader finished the connection and, finding the actor
// stopping (Ref.Stopped), did not wait for it. Shutdown returned while the
// Stopping hook still ran.
func TestShutdownWaitsForStoppingActor(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		rt := testkit.NewRuntime(t)
		s := &slowStop{entered: make(chan struct{}), release: make(chan struct{}), finished: new(atomic.Bool)}
		srv, err := serve.New(rt, func(*serve.Conn) *slowStop { return s }, serve.WithIdleTimeout(time.Second), serve.WithLinger(0))
		if err != nil {
			t.Fatal(err)
		}
		l := newPipeListener()
		served := make(chan error, 1)
		go func() { served <- srv.Serve(l) }()
		var once sync.Once
		release := func() { once.Do(func() { close(s.release) }) }
		defer func() {
			release()
			_ = srv.Close()
			<-served
		}()
		cli := l.dial(t)
		<-s.entered // idle: the actor stops, its Stopping hook waits
		go func() { _, _ = cli.Write([]byte("late\n")) }()
		synctest.Wait() // the frame is refused: the reader has finished the connection
		shut := make(chan error, 1)
		go func() { shut <- srv.Shutdown(context.Background()) }()
		synctest.Wait()
		select {
		case err := <-shut:
			t.Fatalf("Shutdown returned (%v) while an actor was still stopping", err)
		default:
		}
		release()
		if err := <-shut; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if !s.finished.Load() {
			t.Fatal("Shutdown returned before the actor's Stopping hook ended")
		}
	})
}
