package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

type Counter struct{ n int }

var Inc = actor.NewMethod("inc", func(c *Counter, _ *actor.Ctx, d int) (int, error) {
	if d < 0 {
		return c.n, errors.New("negative")
	}
	c.n += d
	return c.n, nil
})

func newRT(t *testing.T, opts ...troupe.Option) *troupe.Runtime {
	t.Helper()
	rt, err := troupe.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return rt
}

func TestLookup(t *testing.T) {
	rt := newRT(t)
	ref, err := actor.Spawn(rt, &Counter{}, actor.WithName("c1"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := troupe.Lookup[*Counter](rt, "c1")
	if err != nil || got != ref {
		t.Fatalf("Lookup = %v, %v; want the spawned ref", got, err)
	}
	if _, err := troupe.Lookup[*Counter](rt, "nope"); !errors.Is(err, troupe.ErrNotFound) {
		t.Fatalf("unknown name: %v; want ErrNotFound", err)
	}
	if _, err := troupe.Lookup[*strings.Builder](rt, "c1"); !errors.Is(err, troupe.ErrWrongType) {
		t.Fatalf("wrong type: %v; want ErrWrongType", err)
	}
	if _, err := troupe.Lookup[*Counter](rt, ""); !errors.Is(err, actor.ErrInvalidName) {
		t.Fatalf("empty name: %v; want ErrInvalidName", err)
	}
	if _, err := troupe.Lookup[*Counter](nil, "c1"); !errors.Is(err, actor.ErrNilRuntime) {
		t.Fatalf("nil runtime: %v; want ErrNilRuntime", err)
	}
	if _, err := actor.Spawn(rt, &Counter{}, actor.WithName("c1")); !errors.Is(err, actor.ErrNameTaken) {
		t.Fatalf("duplicate name: %v; want ErrNameTaken", err)
	}
	// Stopped: not found, and the name is free again; the stale ref never
	// reaches the new actor.
	if err := ref.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := troupe.Lookup[*Counter](rt, "c1"); !errors.Is(err, troupe.ErrNotFound) {
		t.Fatalf("stopped actor: %v; want ErrNotFound", err)
	}
	ref2, err := actor.Spawn(rt, &Counter{}, actor.WithName("c1"))
	if err != nil {
		t.Fatalf("respawn under a freed name: %v", err)
	}
	if _, err := Inc.Call(context.Background(), ref, 1); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("stale ref: %v; want ErrStopped", err)
	}
	if n, _ := Inc.Call(context.Background(), ref2, 0); n != 0 {
		t.Fatalf("new actor saw %d; want 0 (the stale ref reached it)", n)
	}
}

// Names are unique under concurrent spawns.
func TestNamesUniqueUnderConcurrency(t *testing.T) {
	rt := newRT(t)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Go(func() {
			for j := 0; j < 50; j++ {
				_, err := actor.Spawn(rt, &Counter{}, actor.WithName(fmt.Sprintf("n%d", j)))
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, actor.ErrNameTaken):
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if wins.Load() != 50 {
		t.Fatalf("%d spawns won; want exactly 50 (one per name)", wins.Load())
	}
}

// Dead letters are logged through the given logger only, at a bounded rate.
func TestDeadLetterLoggingRateLimited(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&buf, &mu}, nil))
	rt := newRT(t, troupe.WithLogger(logger), troupe.WithLogRate(3))
	ref, _ := actor.Spawn(rt, &Counter{})
	for range 20 {
		_ = Inc.Cast(ref, -1)
	}
	if _, err := Inc.Call(context.Background(), ref, 0); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	lines := strings.Count(out, "dead letter")
	st := rt.DeadLetters()
	if st.ByReason[troupe.ReasonFailed] != 20 {
		t.Fatalf("counted %d failed; want 20", st.ByReason[troupe.ReasonFailed])
	}
	// The rate is per second; a slow machine may cross a second boundary.
	if lines < 3 || lines > 9 || !strings.Contains(out, "method=inc") {
		t.Fatalf("logged %d lines; want 3 per second, with the method:\n%s", lines, out)
	}
	if st.Suppressed == 0 {
		t.Fatal("no suppressed count")
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// Shutdown stops children before parents, newest first.
type Node struct {
	name  string
	order *[]string
	mu    *sync.Mutex
}

func (n *Node) Stopping(*actor.Ctx) { n.mu.Lock(); *n.order = append(*n.order, n.name); n.mu.Unlock() }

func TestShutdownOrder(t *testing.T) {
	rt, err := troupe.New()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	node := func(name string) *Node { return &Node{name: name, order: &order, mu: &mu} }
	spawnChild := actor.NewMethod("spawn", func(n *Node, c *actor.Ctx, name string) (string, error) {
		_, err := actor.Spawn(c, node(name))
		return name, err
	})
	p1, _ := actor.Spawn(rt, node("p1"))
	for _, k := range []string{"p1.a", "p1.b"} {
		if _, err := spawnChild.Call(context.Background(), p1, k); err != nil {
			t.Fatal(err)
		}
	}
	p2, _ := actor.Spawn(rt, node("p2"))
	if err := rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !p1.Stopped() || !p2.Stopped() {
		t.Fatal("actors still running after Shutdown")
	}
	if got, want := strings.Join(order, " "), "p2 p1.b p1.a p1"; got != want {
		t.Fatalf("stop order = %q; want %q", got, want)
	}
}

// Shutdown bounded by ctx reports the actors that did not stop.
func TestShutdownDeadline(t *testing.T) {
	rt, err := troupe.New()
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	stuck := actor.NewMethod("stuck", func(c *Counter, _ *actor.Ctx, _ int) (int, error) { <-gate; return 0, nil })
	ref, _ := actor.Spawn(rt, &Counter{}, actor.WithName("stuck-one"))
	_ = stuck.Cast(ref, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = rt.Shutdown(ctx)
	var se *actor.StopError
	if !errors.As(err, &se) || !errors.Is(err, context.DeadlineExceeded) || len(se.Actors) != 1 || se.Actors[0] != "stuck-one" {
		t.Fatalf("Shutdown = %v; want a StopError naming stuck-one, matching DeadlineExceeded", err)
	}
	close(gate)
	_ = rt.Close() // waits for the handler and every goroutine
}

// A factory that panics ends its spawn: the panic reaches its caller, a
// caller that waited for that spawn spawns with its own factory, and the
// name is not left reserved.
func TestLookupOrSpawnFactoryPanics(t *testing.T) {
	rt := newRT(t)
	entered, release := make(chan struct{}), make(chan struct{})
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_, _, _ = troupe.LookupOrSpawn(context.Background(), rt, "flaky", func() *Counter {
			close(entered)
			<-release
			panic("factory boom")
		})
	}()
	<-entered
	waited := make(chan bool, 1)
	go func() {
		_, created, err := troupe.LookupOrSpawn(context.Background(), rt, "flaky", func() *Counter { return &Counter{} })
		if err != nil {
			t.Error(err)
		}
		waited <- created
	}()
	close(release)
	if v := <-panicked; v != "factory boom" {
		t.Fatalf("the panicking factory's caller recovered %v; want factory boom", v)
	}
	if !<-waited {
		t.Fatal("the caller behind the panicked spawn did not spawn")
	}
	if _, err := troupe.Lookup[*Counter](rt, "flaky"); err != nil {
		t.Fatalf("Lookup after the retried spawn = %v", err)
	}
}

// LookupOrSpawn is race-free: of many concurrent callers for one name, one
// spawns (its factory runs once) and all get the same ref.
func TestLookupOrSpawn(t *testing.T) {
	rt := newRT(t)
	var made, started atomic.Int32
	const callers = 64
	factory := func() *Counter {
		// Slow, to keep the window open: every caller has started, and
		// has had time to look the name up, before the first factory
		// returns (it ran once per caller that missed, before the single
		// flight).
		for started.Load() < callers {
			runtime.Gosched()
		}
		for range 100 {
			runtime.Gosched()
		}
		made.Add(1)
		return &Counter{}
	}
	refs := make([]*actor.Ref[*Counter], callers)
	created := make([]bool, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			started.Add(1)
			var err error
			refs[i], created[i], err = troupe.LookupOrSpawn(context.Background(), rt, "session-42", factory)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	n := 0
	for i := range callers {
		if refs[i] != refs[0] {
			t.Fatalf("caller %d got another ref", i)
		}
		if created[i] {
			n++
		}
	}
	if n != 1 || made.Load() != 1 {
		t.Fatalf("%d callers created, factory ran %d times; want 1 and 1", n, made.Load())
	}
	if _, _, err := troupe.LookupOrSpawn(context.Background(), rt, "session-42", func() *struct{ x int } { return &struct{ x int }{} }); !errors.Is(err, troupe.ErrWrongType) {
		t.Fatalf("LookupOrSpawn with another type = %v; want ErrWrongType", err)
	}
}

// A named actor can be found, and called, as soon as its name is
// registered, before Spawn has returned: its turn may then run while Spawn
// arms the idle timeout, and must not race with it (go test -race).
func TestCallDuringSpawnWithIdleTimeout(t *testing.T) {
	rt := newRT(t)
	idle := actor.NewMethod("idle", func(*Counter, *actor.Ctx, struct{}) (struct{}, error) { return struct{}{}, nil })
	for i := range 300 {
		name := fmt.Sprint("s", i)
		called := make(chan struct{})
		go func() {
			defer close(called)
			for range 10000 {
				if ref, err := troupe.Lookup[*Counter](rt, name); err == nil {
					_ = Inc.Cast(ref, 1)
					return
				}
				runtime.Gosched()
			}
		}()
		if _, err := actor.Spawn(rt, &Counter{}, actor.WithName(name), actor.WithIdleTimeout(time.Hour, idle, struct{}{})); err != nil {
			t.Fatal(err)
		}
		<-called
	}
}

// A nil or zero Runtime (one not made by New) is refused with
// actor.ErrNilRuntime everywhere, never a panic.
func TestNilRuntime(t *testing.T) {
	for _, tt := range []struct {
		name string
		rt   *troupe.Runtime
	}{{"nil", nil}, {"zero", &troupe.Runtime{}}} {
		t.Run(tt.name, func(t *testing.T) {
			rt := tt.rt
			check := func(what string, f func() error) {
				t.Helper()
				var err error
				func() {
					defer func() {
						if v := recover(); v != nil {
							err = fmt.Errorf("panic: %v", v)
						}
					}()
					err = f()
				}()
				if !errors.Is(err, actor.ErrNilRuntime) {
					t.Errorf("%s = %v; want ErrNilRuntime", what, err)
				}
			}
			check("Shutdown", func() error { return rt.Shutdown(context.Background()) })
			check("Close", rt.Close)
			check("Lookup", func() error { _, err := troupe.Lookup[*Counter](rt, "c"); return err })
			check("LookupOrSpawn", func() error {
				_, _, err := troupe.LookupOrSpawn(context.Background(), rt, "c", func() *Counter { return &Counter{} })
				return err
			})
			check("Spawn", func() error { _, err := actor.Spawn(rt, &Counter{}); return err })
			check("DeadLetters", func() error {
				if st := rt.DeadLetters(); st.Total != 0 {
					return fmt.Errorf("total %d", st.Total)
				}
				return actor.ErrNilRuntime
			})
		})
	}
}
