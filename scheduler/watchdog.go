package scheduler

import (
	"math"
	"runtime/metrics"
	"time"
)

// stallCheck is how long the watchdog lets turns wait, with every loop
// busy and none completing a turn, before it looks at the goroutine
// scheduler. Turns that complete (even slowly) reset its count.
const stallCheck = time.Millisecond

// starveChecks is how many checks in a row may find no turn completed and
// no idle P before the watchdog starts a loop all the same: the probe
// cannot tell a P kept busy by a CPU-bound turn from one kept busy by a
// goroutine outside the scheduler (another package's work, a goroutine
// polling with Gosched), and one that trusted it alone would let a turn
// queued behind loops waiting in handlers wait for ever, if what keeps
// the Ps busy waits for that turn. It starts one such loop after
// starveChecks stalled checks, then after 2, 4, ... times as many, so a
// CPU-bound stall that lasts a second adds about 4, within the cap.
const starveChecks = 64

// The runtime/metrics the watchdog reads, by index in s.probe. The
// goroutine-state ones are Go 1.26's; on an older runtime they read as
// unsupported and the watchdog falls back to its cap alone.
const (
	probeProcs    = iota // /sched/gomaxprocs:threads
	probeRunning         // /sched/goroutines/running:goroutines
	probeRunnable        // /sched/goroutines/runnable:goroutines
	probes
)

// initProbe names the metrics of s.probe.
func (s *Scheduler) initProbe() {
	s.probe[probeProcs].Name = "/sched/gomaxprocs:threads"
	s.probe[probeRunning].Name = "/sched/goroutines/running:goroutines"
	s.probe[probeRunnable].Name = "/sched/goroutines/runnable:goroutines"
}

// watchLocked arms the watchdog, unless it is armed, the scheduler closed,
// or loops outside Block already reach base+maxExtra (then it could add
// none: with maxExtra 0 it never runs). The timer is made on first use
// and re-armed after, so watching allocates once per scheduler.
func (s *Scheduler) watchLocked() {
	if s.watching || s.closed || s.loops-s.blocked >= s.base+s.maxExtra {
		return
	}
	s.watching = true
	s.stalls = 0
	s.ticked.Store(false)
	if s.timer == nil {
		s.timer = time.AfterFunc(stallCheck, s.check)
	} else {
		s.timer.Reset(stallCheck)
	}
}

// check is the watchdog: it runs stallCheck after it was armed, on the
// timer's goroutine, and re-arms itself while turns wait and no loop is
// free. It starts loops only if no turn completed since the last check
// (every loop sits in one turn) and the runtime shows idle Ps: loops
// running CPU-bound turns are running or runnable goroutines and leave no
// P idle, while a loop waiting in a handler (sleep, I/O, a channel) is
// neither. Whatever it finds, it first gives back to the run queue the
// batches of loops that have not got past a turn since its last check
// (unhideLocked): turns completing elsewhere do not take them otherwise,
// as long as the run queue has turns of its own. It starts at most
// min(waiting turns, idle Ps) loops per check, and one even with no P
// idle once no turn has completed for starveChecks checks in a row (and
// again after twice, four times as many, ...), and never beyond
// base+maxExtra loops outside Block. It stops when the
// queue empties, the scheduler closes, or that cap is reached (Block and
// Schedule re-arm it if loops outside Block drop below it).
func (s *Scheduler) check() {
	// Read the runtime's counts before taking the lock, and only if no
	// turn completed since the last check: Schedule never waits on them.
	free := 0
	stalled := !s.ticked.Swap(false)
	if stalled {
		free = s.freeProcs()
	}
	s.mu.Lock()
	if !s.watching {
		// Close stopped us after the timer fired, or a test ran a
		// check by hand and the queue had emptied.
		s.mu.Unlock()
		return
	}
	moved := s.unhideLocked() // turns held behind a stuck one go back to the queue
	room := s.base + s.maxExtra - (s.loops - s.blocked)
	waiting := s.q.n + s.heldLocked() // held by stuck loops: new ones steal them
	if waiting == 0 || s.closed || room <= 0 {
		s.watching = false
		s.timer.Stop() // pending only when a test ran this check by hand
		s.maybeIdleLocked()
		s.mu.Unlock()
		return
	}
	if stalled {
		s.stalls++
	} else {
		s.stalls = 0
	}
	if free == 0 && s.stalls >= starveChecks && s.stalls&(s.stalls-1) == 0 {
		free = 1 // no P idle for too long: starveChecks
	}
	n := 0
	if s.parked == 0 && s.spinning == 0 {
		n = min(waiting, room, free)
		s.loops += n
	} else if moved && s.parked > 0 {
		s.cond.Signal() // a parked loop takes what came back
	}
	s.timer.Reset(stallCheck)
	s.mu.Unlock()
	s.start(n)
}

// freeProcs estimates how many Ps (GOMAXPROCS) sit idle: those not
// running a goroutine, less the goroutines that wait for one, not counting
// the caller's own. The counts are the runtime's approximate ones, read in
// one metrics.Read (~250 ns: it locks the goroutine scheduler and walks
// the Ps). If the runtime lacks the metrics, it returns MaxInt: the cap
// alone bounds the watchdog.
func (s *Scheduler) freeProcs() int {
	if s.hooks.freeProcs != nil {
		return s.hooks.freeProcs()
	}
	s.probeMu.Lock()
	defer s.probeMu.Unlock()
	metrics.Read(s.probe[:])
	for i := range s.probe {
		if s.probe[i].Value.Kind() != metrics.KindUint64 {
			return math.MaxInt
		}
	}
	procs := int(s.probe[probeProcs].Value.Uint64())
	running := int(s.probe[probeRunning].Value.Uint64())
	runnable := int(s.probe[probeRunnable].Value.Uint64())
	return max(0, procs-(running-1)-runnable)
}
