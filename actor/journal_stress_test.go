package actor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"testing/synctest"
)

// Many SendWait producers and readers of a small journal, in a bubble:
// a reader parked while items are there, or a producer parked while room
// exists, leaves every goroutine blocked, which synctest reports as a
// deadlock. Every reader reads every item (SendWait drops nothing unread).
func TestJournalStressNoLostWakeup(t *testing.T) {
	type cfg struct {
		name          string
		items, bytes  int
		size          bool
		producers     int
		readers, coll int
	}
	for _, c := range []cfg{
		{"count 1", 1, 1 << 20, false, 3, 3, 0},
		{"count 4", 4, 1 << 20, false, 4, 3, 1},
		{"count 16", 16, 1 << 20, false, 6, 4, 1},
		{"bytes", 64, 40, true, 4, 3, 1},
		{"bytes 1", 64, 1, true, 3, 2, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const each = 300
				opts := []StreamOption{WithJournal(c.items, c.bytes)}
				if c.size {
					opts = append(opts, WithItemSize(func(v int) int { return v % 13 }))
				}
				j := testJournal[int](t, opts...)
				total := c.producers * each
				var wg sync.WaitGroup
				for r := range c.readers + c.coll {
					f := j.newFollow(context.Background(), followConfig{})
					wg.Go(func() {
						next := uint64(0)
						check := func(it Item[int], err error) error {
							if err != nil {
								return fmt.Errorf("reader %d at %d: %v", r, next, err)
							}
							if it.Seq != next {
								return fmt.Errorf("reader %d: seq %d; want %d", r, it.Seq, next)
							}
							next++
							return nil
						}
						if r < c.readers {
							for it, err := range f.All() {
								if e := check(it, err); e != nil {
									t.Error(e)
									return
								}
							}
						} else {
							for {
								items, err := f.Collected()
								for _, it := range items {
									if e := check(it, nil); e != nil {
										t.Error(e)
										return
									}
								}
								if err != nil {
									if !errors.Is(err, io.EOF) {
										t.Errorf("reader %d: %v", r, err)
									}
									break
								}
								if len(items) == 0 {
									synctest.Wait()
								}
							}
						}
						if next != uint64(total) {
							t.Errorf("reader %d read %d; want %d", r, next, total)
						}
					})
				}
				var pw sync.WaitGroup
				for p := range c.producers {
					pw.Go(func() {
						for i := range each {
							var err error
							if i%3 == 2 {
								if err = j.out.Wait(context.Background()); err == nil {
									err = j.out.SendWait(context.Background(), p*each+i)
								}
							} else {
								err = j.out.SendWait(context.Background(), p*each+i)
							}
							if err != nil {
								t.Errorf("SendWait: %v", err)
								return
							}
						}
					})
				}
				pw.Wait()
				_ = j.out.Close(nil)
				wg.Wait()
			})
		})
	}
}

// Churn: readers attach at random positions, read a little, break, Close
// or have their ctx cancelled while SendWait producers wait for them.
func TestJournalStressChurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const producers, each = 4, 500
		j := testJournal[int](t, WithJournal(8, 64), WithItemSize(func(v int) int { return v % 7 }))
		main := j.newFollow(context.Background(), followConfig{})
		var wg sync.WaitGroup
		wg.Go(func() {
			next := uint64(0)
			for it, err := range main.All() {
				if err != nil {
					t.Errorf("main reader: %v", err)
					return
				}
				if it.Seq != next {
					t.Errorf("main reader: seq %d; want %d", it.Seq, next)
					return
				}
				next++
			}
			if next != producers*each {
				t.Errorf("main read %d", next)
			}
		})
		stop := make(chan struct{})
		for c := range 3 {
			wg.Go(func() {
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					default:
					}
					ctx, cancel := context.WithCancel(context.Background())
					var cfg followConfig
					switch k % 3 {
					case 0:
						cfg = followConfig{hasRecent: true, recent: k % 5}
					case 1:
						cfg = followConfig{hasSince: true, since: j.tailNow() + uint64(k%3)}
					}
					f := j.newFollow(ctx, cfg)
					f.watch()
					n := 0
					for _, err := range f.All() {
						n++
						if err != nil || n == 1+k%4 {
							break
						}
						if c == 0 && n == 2 {
							cancel()
						}
					}
					if k%2 == 0 {
						_ = f.Close()
					}
					cancel()
				}
			})
		}
		var pw sync.WaitGroup
		for p := range producers {
			pw.Go(func() {
				for i := range each {
					if err := j.out.SendWait(context.Background(), p*each+i); err != nil {
						t.Errorf("SendWait: %v", err)
						return
					}
				}
			})
		}
		pw.Wait()
		close(stop)
		_ = j.out.Close(nil)
		wg.Wait()
	})
}
