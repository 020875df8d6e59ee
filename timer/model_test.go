package timer

import (
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"
)

// TestModelRandom checks the wheel against a plain model, a due time per
// timer, under random AfterFunc, Start, Schedule, Stop and Reset on every
// level, with time passing between them: Stop and Reset report exactly
// whether the timer was pending, each callback runs once, at its due
// tick, Deadline is that tick, Len is the number pending, and Wheel.Stop
// counts the rest. Each step sleeps a random time (up to the span) so that
// timers cascade across every level and wrap around the top one, then
// lets the driver settle (synctest.Wait) so the model knows what is due.
// Found no bug (300 seeds run once).
func TestModelRandom(t *testing.T) {
	for seed := range uint64(8) {
		bubble(t, 1<<62, func(t *testing.T) {
			const tick = time.Millisecond
			r := rand.New(rand.NewPCG(seed, 7))
			w, err := New(WithTick(tick))
			if err != nil {
				t.Fatal(err)
			}
			type entry struct {
				tm      *Timer
				h       Handle
				due     time.Time // zero: not pending
				fired   rec[time.Time]
				ownerCB *funcOwner
				seen    int
			}
			var es []*entry
			delay := func() time.Duration {
				bits := 6 * (1 + r.IntN(numLevels+1))
				return time.Duration(r.Int64N(1<<bits))*tick + time.Duration(r.Int64N(int64(tick))) - tick/2
			}
			dueOf := func(d time.Duration) time.Time {
				// Due at the first tick at or after now+max(d,1). Ops run
				// on tick boundaries, after the driver has settled: a
				// timer due now has fired.
				at := time.Now().Add(max(d, 1))
				return at.Add(tick - 1).Truncate(tick)
			}
			for step := range 600 {
				time.Sleep(time.Duration(r.Int64N(1<<r.IntN(37)))*tick + tick)
				synctest.Wait()
				now := time.Now()
				// settle the model: what is due has fired
				for i, e := range es {
					fs := e.fired.all()
					var want []time.Time
					if !e.due.IsZero() && !e.due.After(now) {
						want = []time.Time{e.due}
						e.due = time.Time{}
					}
					if got := fs[e.seen:]; len(got) != len(want) || len(got) == 1 && !got[0].Equal(want[0]) {
						t.Fatalf("step %d: timer %d fired at %v; want %v (now %v)", step, i, got, want, now)
					}
					e.seen = len(fs)
				}
				switch op := r.IntN(6); {
				case op == 0 || len(es) == 0:
					e := &entry{}
					d := delay()
					e.due = dueOf(d)
					f := func() { e.fired.add(time.Now()) }
					switch r.IntN(3) {
					case 0:
						e.tm = mustAfter(t, w, d, f)
					case 1:
						e.tm = &Timer{}
						e.ownerCB = &funcOwner{f: f}
						if err := w.Start(e.tm, d, e.ownerCB); err != nil {
							t.Fatal(err)
						}
					default:
						if e.h, err = w.Schedule(d, f); err != nil {
							t.Fatal(err)
						}
					}
					es = append(es, e)
				case op <= 2:
					e := es[r.IntN(len(es))]
					var got bool
					if e.tm != nil {
						got = e.tm.Stop()
					} else {
						got = e.h.Stop()
					}
					if want := !e.due.IsZero(); got != want {
						t.Fatalf("step %d: Stop = %v; want %v", step, got, want)
					}
					e.due = time.Time{}
				case op <= 4:
					e := es[r.IntN(len(es))]
					if e.tm == nil {
						continue
					}
					d := delay()
					got := e.tm.Reset(d)
					if want := !e.due.IsZero(); got != want {
						t.Fatalf("step %d: Reset = %v; want %v", step, got, want)
					}
					e.due = dueOf(d)
					if !e.tm.Deadline().Equal(e.due) {
						t.Fatalf("step %d: Deadline %v; want %v", step, e.tm.Deadline(), e.due)
					}
				default:
					e := es[r.IntN(len(es))]
					if e.ownerCB == nil {
						continue
					}
					d := delay()
					if err := w.Start(e.tm, d, e.ownerCB); err != nil {
						t.Fatal(err)
					}
					e.due = dueOf(d)
				}
				pending := 0
				for _, e := range es {
					if !e.due.IsZero() {
						pending++
					}
				}
				if got := w.Len(); got != pending {
					t.Fatalf("step %d: Len %d; want %d", step, got, pending)
				}
			}
			pending := 0
			for _, e := range es {
				if !e.due.IsZero() {
					pending++
				}
			}
			if got := w.Stop(); got != pending {
				t.Fatalf("Wheel.Stop = %d; want %d", got, pending)
			}
			<-w.Done()
		})
	}
}
