package timer

import (
	"math"
	"time"
)

// sleeper is the driver's one reused time.Timer.
type sleeper struct {
	t     *time.Timer
	armed uint64 // the tick t is armed for, or never
}

// sleep blocks until tick target, or until the wheel is notified. With
// target never it waits for the notification alone: an idle wheel has no
// timer running.
func (s *sleeper) sleep(w *Wheel, target uint64) {
	if target == never {
		s.stop()
		<-w.wake
		return
	}
	if s.armed != target {
		d := time.Duration(math.MaxInt64)
		if target <= uint64(math.MaxInt64/int64(w.tick)) {
			d = time.Duration(target)*w.tick - time.Since(w.start)
		}
		if d <= 0 {
			s.stop()
			return
		}
		if s.t == nil {
			s.t = time.NewTimer(d)
		} else {
			s.t.Reset(d)
		}
		s.armed = target
	}
	select {
	case <-w.wake:
	case <-s.t.C:
		s.armed = never
	}
}

// stop disarms the timer.
func (s *sleeper) stop() {
	if s.armed != never {
		s.t.Stop()
		s.armed = never
	}
}
