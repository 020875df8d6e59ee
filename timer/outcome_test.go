package timer

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// For each scheduling exactly one outcome: its callback runs, a Stop
// returns true, or Wheel.Stop counts it, with Stop and Start racing the
// driver's batches (many timers due at one tick) and a Wheel.Stop made by
// one of the callbacks or by another goroutine, in the middle of a batch.
// Found no bug; it fails if Wheel.Stop does not count the callbacks of a
// batch taken out but not begun ("ran 101 + Stop true 0 + dropped 472 =
// 573; want 600").
func TestExactlyOneOutcomeWithWheelStop(t *testing.T) {
	for round := range 40 {
		bubble(t, time.Hour, func(t *testing.T) {
			w := newWheel(t)
			var scheduled, ran, stoppedTrue, dropped atomic.Int64
			const n = 600
			type item struct {
				tm *Timer
				h  Handle
				e  funcOwner
			}
			items := make([]*item, n)
			stopper := func() { dropped.Add(int64(w.Stop())) }
			for i := range n {
				it := &item{}
				items[i] = it
				d := time.Duration(1+i%3) * time.Millisecond
				f := func() {
					ran.Add(1)
					if round%2 == 0 && i == 300 {
						stopper()
					}
				}
				switch i % 3 {
				case 0:
					it.tm = mustAfter(t, w, d, f)
				case 1:
					it.h = mustSchedule(t, w, d, f)
				case 2:
					it.e.f = f
					if err := w.Start(&it.e.tm, d, &it.e); err != nil {
						t.Fatal(err)
					}
				}
				scheduled.Add(1)
			}
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					time.Sleep(time.Duration(1+g%3) * time.Millisecond)
					for i := g; i < n; i += 4 {
						it := items[i]
						var ok bool
						switch i % 3 {
						case 0:
							ok = it.tm.Stop()
						case 1:
							ok = it.h.Stop()
						case 2:
							ok = it.e.tm.Stop()
						}
						if !ok {
							continue
						}
						stoppedTrue.Add(1)
						if i%3 == 2 && w.Start(&it.e.tm, time.Millisecond, &it.e) == nil {
							scheduled.Add(1)
						}
					}
					if round%2 == 1 && g == 0 {
						stopper()
					}
				})
			}
			wg.Wait()
			time.Sleep(time.Second)
			stopper()
			<-w.Done()
			if got := ran.Load() + stoppedTrue.Load() + dropped.Load(); got != scheduled.Load() {
				t.Fatalf("round %d: ran %d + Stop true %d + dropped %d = %d; want %d schedulings", round, ran.Load(), stoppedTrue.Load(), dropped.Load(), got, scheduled.Load())
			}
		})
	}
}

// funcOwner is a struct embedding the Timer that calls its f.
type funcOwner struct {
	tm Timer
	f  func()
}

func (o *funcOwner) Fire() { o.f() }
