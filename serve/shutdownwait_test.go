package serve_test

import (
	"context"
	"errors"
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

// blockedStop is a session whose Stopping hook waits for release.
type blockedStop struct {
	entered  chan struct{}
	release  chan struct{}
	finished *atomic.Bool
}

func (*blockedStop) Frame(*actor.Ctx, []byte) error { return nil }
func (s *blockedStop) Stopping(*actor.Ctx) {
	close(s.entered)
	<-s.release
	s.finished.Store(true)
}

// Close, like Shutdown, returns nil only once every connection's actor has
// stopped: after it no session code runs (here, a Stopping hook that takes
// its time); one that takes longer than the runtime's call timeout makes
// it return ErrHandlersStuck, as a handler that ignores its Context does.
// Close used to kill the actors and return once the connections'
// goroutines were gone, with the hooks still running.
func TestCloseWaitsForActors(t *testing.T) {
	for _, stuck := range []bool{false, true} {
		t.Run(map[bool]string{false: "slow", true: "stuck"}[stuck], func(t *testing.T) {
			testkit.Bubble(t, func(t *testing.T) {
				rt := testkit.NewRuntime(t)
				s := &blockedStop{entered: make(chan struct{}), release: make(chan struct{}), finished: new(atomic.Bool)}
				srv, err := serve.New(rt, func(*serve.Conn) *blockedStop { return s })
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
				if _, err := cli.Write([]byte("x\n")); err != nil { // the actor is made
					t.Fatal(err)
				}
				closed := make(chan error, 1)
				go func() { closed <- srv.Close() }()
				<-s.entered
				if stuck {
					if err := <-closed; !errors.Is(err, serve.ErrHandlersStuck) {
						t.Fatalf("Close: %v; want ErrHandlersStuck", err)
					}
					return
				}
				synctest.Wait()
				select {
				case err := <-closed:
					t.Fatalf("Close returned (%v) while an actor's Stopping hook ran", err)
				default:
				}
				release()
				if err := <-closed; err != nil {
					t.Fatalf("Close: %v", err)
				}
				if !s.finished.Load() {
					t.Fatal("Close returned before the actor's Stopping hook ended")
				}
			})
		})
	}
}
