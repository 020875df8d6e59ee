package timer

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dropOwner is a Dropper embedding its Timer, counting what happens.
type dropOwner struct {
	tm             Timer
	fired, dropped *atomic.Int64
}

func (o *dropOwner) Fire()    { o.fired.Add(1) }
func (o *dropOwner) Dropped() { o.dropped.Add(1) }

// TestExactlyOneOutcomeWithReset: goroutines Reset, Stop and Start
// timers (after a Stop) while the driver fires them, then the wheel is
// stopped: every scheduling has exactly one outcome, and each Dropper the
// wheel drops is told once.
func TestExactlyOneOutcomeWithReset(t *testing.T) {
	for round := range 20 {
		bubble(t, time.Hour, func(t *testing.T) {
			w := newWheel(t)
			var scheduled, ran, trues, dropped, wheelDropped atomic.Int64
			const n = 300
			ts := make([]*dropOwner, n)
			for i := range ts {
				ts[i] = &dropOwner{fired: &ran, dropped: &dropped}
				if err := w.Start(&ts[i].tm, time.Duration(i%5)*time.Millisecond, ts[i]); err != nil {
					t.Fatal(err)
				}
				scheduled.Add(1)
			}
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(round), uint64(g)))
					for range 400 {
						o := ts[r.IntN(n)]
						d := time.Duration(r.IntN(3)) * time.Millisecond
						switch r.IntN(3) {
						case 0:
							if o.tm.Reset(d) {
								trues.Add(1)
							}
							scheduled.Add(1)
						case 1:
							if o.tm.Stop() {
								trues.Add(1)
								if w.Start(&o.tm, d, o) == nil {
									scheduled.Add(1)
								}
							}
						default:
							time.Sleep(time.Duration(r.IntN(1500)) * time.Microsecond)
						}
					}
				})
			}
			wg.Wait()
			if round%2 == 0 {
				time.Sleep(time.Duration(round) * 100 * time.Microsecond)
			}
			wheelDropped.Add(int64(w.Stop()))
			<-w.Done()
			if got := ran.Load() + trues.Load() + wheelDropped.Load(); got != scheduled.Load() {
				t.Fatalf("round %d: ran %d + true %d + dropped %d = %d; want %d", round, ran.Load(), trues.Load(), wheelDropped.Load(), got, scheduled.Load())
			}
			if dropped.Load() != wheelDropped.Load() {
				t.Fatalf("round %d: Dropped called %d times; Wheel.Stop dropped %d", round, dropped.Load(), wheelDropped.Load())
			}
		})
	}
}
