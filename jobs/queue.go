package jobs

import "time"

// queue is a named queue: its jobs wait in order for one of limit slots.
// A slot is held from the start of a job until its handler has really
// returned — past a cancel or an expiry too — so at most limit handlers
// of the queue ever run at once. Guarded by the dispatcher's mu.
//
// Slots are runners: a runner that finishes a job takes the next waiting
// one in its slot, so a busy queue of concurrency n is served by n
// goroutines, each looping, and an idle queue by none (it is dropped from
// the dispatcher's map; its limit comes again with its next job).
type queue struct {
	name       string
	limit      int
	running    int // slots held
	waiting    int
	head, tail *Job // the waiting jobs, oldest first
}

func (q *queue) pushLocked(j *Job) {
	j.queue, j.prev, j.next = q, q.tail, nil
	if q.tail != nil {
		q.tail.next = j
	} else {
		q.head = j
	}
	q.tail = j
	q.waiting++
}

// removeLocked takes a waiting job out of the queue. O(1).
func (q *queue) removeLocked(j *Job) {
	if j.prev != nil {
		j.prev.next = j.next
	} else {
		q.head = j.next
	}
	if j.next != nil {
		j.next.prev = j.prev
	} else {
		q.tail = j.prev
	}
	j.prev, j.next, j.queue = nil, nil, nil
	q.waiting--
}

// popLocked takes the oldest waiting job and marks it running.
func (d *Dispatcher) popLocked(q *queue, now time.Time) *Job {
	j := q.head
	q.removeLocked(j)
	j.mu.Lock()
	if d.tbl.check(j.state, Running) == nil {
		j.state, j.started = Running, now
	}
	j.mu.Unlock()
	return j
}

// startableLocked pops the waiting jobs that free slots can take now (the
// caller hands each to a runner). O(started).
func (d *Dispatcher) startableLocked(q *queue, now time.Time) []*Job {
	var start []*Job
	for q.running < q.limit && q.head != nil {
		q.running++
		start = append(start, d.popLocked(q, now))
	}
	return start
}

// dropIdleLocked forgets a queue with nothing waiting or running.
func (d *Dispatcher) dropIdleLocked(q *queue) {
	if q != nil && q.running == 0 && q.waiting == 0 && d.queues[q.name] == q {
		delete(d.queues, q.name)
	}
}

// releasedLocked counts a job out of the dispatcher's work: it has ended
// and holds no slot (or never had one). The last one out of a closed
// dispatcher closes drained.
func (d *Dispatcher) releasedLocked() {
	d.inflight--
	d.drainedLocked()
}

func (d *Dispatcher) drainedLocked() {
	if d.closed && d.inflight == 0 && !d.isDrained {
		d.isDrained = true
		close(d.drained)
	}
}

// work is a job handed to a runner, with its queue (nil for none).
type work struct {
	q *queue
	j *Job
}

// maxParked is how many idle runners a dispatcher keeps for the next
// jobs: a new goroutine's stack grows again in its first sync call, a
// parked one's has grown already.
const maxParked = 8

// hand starts jobs marked running, each holding a slot of q (nil for
// none): by its procedure's start if it can (no goroutine: see
// methodProc.start), else on a runner, a parked one if any, else a new
// goroutine. It never waits. The caller holds no lock, and the jobs count
// in inflight (so the stop cannot be waiting for the goroutines yet).
func (d *Dispatcher) hand(q *queue, start []*Job) {
	for _, j := range start {
		d.handOne(q, j)
	}
}

func (d *Dispatcher) handOne(q *queue, j *Job) {
	if j.p.start(d, q, j) {
		return
	}
	if h := d.cfg.handed; h != nil {
		h()
	}
	select {
	case d.handoff <- work{q, j}:
	default:
		d.goroutines.Add(1)
		go d.runner(work{q, j})
	}
}

// runner runs jobs until it has none and no parking place: first w's
// chain, then whatever is handed to it while it is parked.
func (d *Dispatcher) runner(w work) {
	defer d.goroutines.Done()
	for ok := true; ok; w, ok = d.park() {
		d.runChain(w.q, w.j)
	}
}

// park waits for work as an idle runner, if fewer than maxParked are;
// false when there is no place, or the dispatcher stops.
func (d *Dispatcher) park() (work, bool) {
	if d.parked.Add(1) > maxParked {
		d.parked.Add(-1)
		return work{}, false
	}
	defer d.parked.Add(-1)
	select {
	case w := <-d.handoff:
		return w, true
	case <-d.stopping:
		return work{}, false
	}
}

// runChain runs j, then, while its queue has jobs waiting and the slot is
// still within the queue's limit, the next one (unless that one can run
// without a runner: the slot is then its).
func (d *Dispatcher) runChain(q *queue, j *Job) {
	for j != nil {
		o := d.run(j)
		now := time.Now()
		d.mu.Lock()
		fx, next := d.releaseLocked(q, j, o, now)
		d.mu.Unlock()
		fx.run()
		if j = next; j != nil && j.p.start(d, q, j) {
			j = nil
		}
	}
}

// releaseLocked ends the run of j, whose handler has returned (or was
// given up on): j ends with o unless its end was decided already, and is
// retained (ended now, or before, by a cancel or an expiry, and left
// unretained while its handler held the slot); it leaves the dispatcher's
// work, and its slot of q (nil for none) goes to the next waiting job,
// returned marked running, or is given up. The caller holds d.mu, runs
// the ending once it has released it, then starts the next job.
func (d *Dispatcher) releaseLocked(q *queue, j *Job, o outcome, now time.Time) (ending, *Job) {
	fx := j.returnedLocked(o, now)
	d.retainLocked(j, now)
	d.releasedLocked()
	if q == nil {
		return fx, nil
	}
	return fx, d.nextLocked(q, now)
}

// nextLocked is what a slot of q does once its job is released: it takes
// the oldest waiting job, marked running, if the slot is still within the
// queue's limit, else it is given up. A forced stop starts nothing more:
// the jobs still queued are its to cancel. (Its cancel of the running job
// is what ends that one's run, so the check cannot come too early.)
func (d *Dispatcher) nextLocked(q *queue, now time.Time) *Job {
	if q.running <= q.limit && q.head != nil && d.forced.Err() == nil {
		return d.popLocked(q, now)
	}
	q.running--
	d.dropIdleLocked(q)
	return nil
}
