// Command manager is gevent_async's Manager scenario in Go. A resource
// manager runs its own management loop; monitor goroutines forward resource
// events to it as oneway updates; consumer goroutines read the resources
// with sync calls. The manager is an owner-driven actor (actor.NewHandler):
// its loop runs the pending calls between management steps, so no call ever
// sees a step half done, and no lock guards the resources.
//
// It runs in three phases:
//
//  1. Normal operation: management steps, with updates and reads served
//     between them. Every read is consistent.
//  2. An audit, a critical phase: the loop admits only reads, so updates
//     are held (gevent_async would drop them) while consumers keep reading
//     a frozen state.
//  3. Release: the held updates run, in arrival order.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Update is a resource event forwarded by a monitor.
type Update struct {
	Resource string
	Seq      int // the monitor's event number, from 1
	Delta    int
}

// Snapshot is what a consumer reads.
type Snapshot struct {
	Levels  map[string]int
	Total   int
	MidStep bool // true if the read ran in the middle of a management step
}

// Consistent reports whether the levels add up to the total and the read
// did not run mid-step.
func (s Snapshot) Consistent() bool {
	sum := 0
	for _, v := range s.Levels {
		sum += v
	}
	return sum == s.Total && !s.MidStep
}

// Manager owns the resources. Its invariant, the levels adding up to the
// total, holds between management steps only: a step moves a unit from the
// fullest resource to the emptiest in two halves.
type Manager struct {
	levels     map[string]int
	total      int
	applied    int
	lastSeq    map[string]int
	outOfOrder int // updates of one monitor that ran out of order
	inStep     bool
	steps      int
}

// NewManager returns a manager of the named resources, all at level 0.
func NewManager(names ...string) *Manager {
	m := &Manager{levels: make(map[string]int), lastSeq: make(map[string]int)}
	for _, n := range names {
		m.levels[n] = 0
	}
	return m
}

var (
	// UpdateResource applies a monitor's event (oneway).
	UpdateResource = actor.NewMethod("update_resource", func(m *Manager, _ *actor.Ctx, u Update) (struct{}, error) {
		if u.Seq != m.lastSeq[u.Resource]+1 {
			m.outOfOrder++
		}
		m.lastSeq[u.Resource] = u.Seq
		m.levels[u.Resource] += u.Delta
		m.total += u.Delta
		m.applied++
		return struct{}{}, nil
	})
	// AccessResources returns the managed resources (sync).
	AccessResources = actor.NewMethod("access_resources", func(m *Manager, _ *actor.Ctx, _ struct{}) (Snapshot, error) {
		return Snapshot{Levels: maps.Clone(m.levels), Total: m.total, MidStep: m.inStep}, nil
	})
)

// step is one management step: it moves a unit from the fullest resource
// to the emptiest. Between the two halves the invariant does not hold; no
// call runs then, because calls run only in Process, between steps.
func (m *Manager) step() {
	names := slices.Sorted(maps.Keys(m.levels))
	from, to := names[0], names[0]
	for _, n := range names {
		if m.levels[n] > m.levels[from] {
			from = n
		}
		if m.levels[n] < m.levels[to] {
			to = n
		}
	}
	m.inStep = true
	m.levels[from]-- // the unit is in transit: the levels miss one
	m.levels[to]++
	m.inStep = false
	m.steps++
}

// serve processes calls for one tick of the loop, with the given
// whitelist, and returns nil when the tick ends.
func serve(ctx context.Context, h *actor.Handler[*Manager], tick time.Duration, opts ...actor.ProcessOption) error {
	tctx, cancel := context.WithTimeout(ctx, tick)
	defer cancel()
	err := h.Process(tctx, append(opts, actor.Forever())...)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// world is the goroutines around the manager: one monitor per resource,
// the event sources feeding them, and consumers. stop ends and waits for
// all of them.
type world struct {
	ref      *actor.Ref[*Manager]
	ctx      context.Context // consumers' calls; cancelled by stop
	cancel   context.CancelFunc
	events   []chan int     // one per monitor, closed by stop
	monitors sync.WaitGroup // the monitors
	feeders  sync.WaitGroup // event sources and consumers
	failures atomic.Int64   // casts or calls that failed
}

func newWorld(ref *actor.Ref[*Manager], names []string) *world {
	w := &world{ref: ref}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	for _, name := range names {
		ch := make(chan int)
		w.events = append(w.events, ch)
		w.monitors.Go(func() { w.monitor(name, ch) })
	}
	return w
}

// monitor forwards each event of its resource as a oneway update, like
// gevent_async's manager.oneway.update_resource(event).
func (w *world) monitor(name string, events <-chan int) {
	seq := 0
	for delta := range events {
		seq++
		if err := UpdateResource.Cast(w.ref, Update{Resource: name, Seq: seq, Delta: delta}); err != nil {
			w.failures.Add(1)
		}
	}
}

// emit sends n more events to every monitor (event k of monitor i has
// delta (i+1)·k mod 7 + 1) from a new goroutine; the channel is closed
// when all are sent.
func (w *world) emit(from, n int) <-chan struct{} {
	done := make(chan struct{})
	w.feeders.Go(func() {
		defer close(done)
		for k := from; k < from+n; k++ {
			for i, ch := range w.events {
				ch <- delta(i, k)
			}
		}
	})
	return done
}

func delta(i, k int) int { return (i+1)*k%7 + 1 }

// readStats counts the reads of the consumers.
type readStats struct {
	reads, consistent atomic.Int64
}

// consume starts consumers that each make reads sync calls; the channel is
// closed when all are done.
func (w *world) consume(consumers, reads int, st *readStats) <-chan struct{} {
	var cw sync.WaitGroup
	for range consumers {
		cw.Go(func() {
			for range reads {
				cctx, cancel := context.WithTimeout(w.ctx, time.Second)
				s, err := AccessResources.Call(cctx, w.ref, struct{}{})
				cancel()
				if err != nil {
					w.failures.Add(1)
					continue
				}
				st.reads.Add(1)
				if s.Consistent() {
					st.consistent.Add(1)
				}
			}
		})
	}
	done := make(chan struct{})
	w.feeders.Go(func() {
		cw.Wait()
		close(done)
	})
	return done
}

// stop cancels the consumers' calls, waits for the event sources and
// consumers, then ends the monitors and waits for them.
func (w *world) stop() {
	w.cancel()
	w.feeders.Wait() // the monitors still receive: sources finish
	for _, ch := range w.events {
		close(ch)
	}
	w.monitors.Wait()
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

const (
	tick      = time.Millisecond
	consumers = 2
)

func run(out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rt, err := troupe.New(troupe.WithCallTimeout(2 * time.Second))
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.Background())

	names := []string{"cpu", "disk", "net"}
	m := NewManager(names...)
	h, err := actor.NewHandler(rt, m, actor.WithName("manager"))
	if err != nil {
		return err
	}
	w := newWorld(h.Ref(), names)
	defer w.stop()

	// Phase 1: the management loop, serving calls between steps.
	const events, reads = 20, 15
	var st readStats
	fed := w.emit(0, events)
	readers := w.consume(consumers, reads, &st)
	for !(closed(fed) && m.applied == len(names)*events && closed(readers)) {
		m.step()
		if err := serve(ctx, h, tick); err != nil {
			return fmt.Errorf("phase 1: %w", err)
		}
	}
	fmt.Fprintf(out, "monitors: %d monitors cast %d updates; %d applied between management steps; total %d\n",
		len(names), len(names)*events, m.applied, m.total)
	fmt.Fprintf(out, "reads:    %d consumers made %d reads; %d consistent (levels add up to the total, never mid-step)\n",
		consumers, st.reads.Load(), st.consistent.Load())

	// Phase 2: the audit, a critical phase. Only reads are admitted: the
	// resources stay frozen, updates are held, consumers keep reading.
	const auditEvents, auditReads = 5, 5
	before, applied := maps.Clone(m.levels), m.applied
	var ast readStats
	fed = w.emit(events, auditEvents)
	readers = w.consume(consumers, auditReads, &ast)
	for !(closed(fed) && closed(readers) && h.Ref().Held()["update_resource"] == len(names)*auditEvents) {
		if err := serve(ctx, h, tick, actor.Admitting(AccessResources)); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	fmt.Fprintf(out, "audit:    only access_resources admitted: held %v while %d reads were served; levels unchanged: %t\n",
		h.Ref().Held(), ast.reads.Load(), maps.Equal(before, m.levels) && m.applied == applied)

	// Phase 3: release. The held updates run, oldest first.
	if err := h.Process(ctx); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	fmt.Fprintf(out, "release:  %d held updates applied after the audit, each monitor's in order: %t; total %d; held now %v\n",
		m.applied-applied, m.outOfOrder == 0, m.total, h.Ref().Held())

	if err := h.Ref().Stop(ctx); err != nil {
		return err
	}
	_, err = AccessResources.Call(ctx, h.Ref(), struct{}{})
	fmt.Fprintf(out, "stopped:  read after stop: %v\n", err)
	if n := w.failures.Load(); n > 0 {
		return fmt.Errorf("%d casts or calls failed", n)
	}
	return rt.Shutdown(ctx)
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}
