package actor

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"
)

// Two producers wait for room (SendWait) for items of different sizes:
// each must wake as soon as the readers have made room for its own item.
// Before the fix the second producer's wait replaced the first's mark
// (roomAt) with its own, later one: the first, whose item fitted once the
// reader had read a batch, stayed parked until the reader passed the
// second's mark (here: until it read again, which it never does).
func TestJournalRoomForEachProducer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := testJournal[int](t, WithJournal(200, 10), WithItemSize(func(v int) int { return v }))
		defer j.out.Close(nil) // ends the waits, whatever fails
		r := j.newFollow(context.Background(), followConfig{})
		for range 63 {
			_ = j.out.Send(0)
		}
		for range 5 {
			_ = j.out.Send(2) // seqs 63..67: the byte bound is full
		}
		small := make(chan error, 1)
		go func() { small <- j.out.SendWait(context.Background(), 1) }() // fits once the reader is at 64
		synctest.Wait()
		big := make(chan error, 1)
		go func() { big <- j.out.SendWait(context.Background(), 9) }() // fits once it has read everything
		synctest.Wait()
		if batch, err := r.fetch(false); err != nil || len(batch) != maxBatch {
			t.Fatalf("read %d items, %v; want %d, nil", len(batch), err, maxBatch)
		}
		synctest.Wait()
		select {
		case err := <-small:
			if err != nil {
				t.Fatalf("SendWait of the small item: %v", err)
			}
		default:
			t.Fatal("the small item's SendWait is still parked with room for it (the reader is at 64: 8 bytes unread of 10)")
		}
	})
}

// SendWait against a model, one reader and random bounds, sizes and
// reads, producers giving up at their deadline (leaving their mark
// behind): it sends exactly when the unread items and its own fit the
// bounds, and waits otherwise.
func TestJournalRoomModel(t *testing.T) {
	for seed := range uint64(100) {
		synctest.Test(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			items, bytes := 1+rng.IntN(10), 1+rng.IntN(30)
			size := func(v int) int { return v % 9 }
			j := testJournal[int](t, WithJournal(items, bytes), WithItemSize(size))
			r := j.newFollow(context.Background(), followConfig{})
			var model []int
			next := 0
			for range 200 {
				if rng.IntN(4) == 0 {
					batch, err := r.fetch(false)
					if err != nil {
						t.Fatalf("seed %d: read: %v", seed, err)
					}
					for _, it := range batch {
						if int(it.Seq) != next {
							t.Fatalf("seed %d: seq %d; want %d", seed, it.Seq, next)
						}
						next++
					}
					continue
				}
				v := rng.IntN(40)
				from := max(next, int(j.ph))
				sum := size(v)
				for _, u := range model[from:] {
					sum += size(u)
				}
				fits := from == len(model) || len(model)-from+1 <= items && sum <= bytes
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				err := j.out.SendWait(ctx, v)
				cancel()
				switch {
				case err == nil && !fits:
					t.Fatalf("seed %d (%d items, %d bytes): SendWait(%d) sent with %v unread from %d", seed, items, bytes, v, model[from:], from)
				case errors.Is(err, ErrTimeout) && fits:
					t.Fatalf("seed %d (%d items, %d bytes): SendWait(%d) waited with %v unread from %d", seed, items, bytes, v, model[from:], from)
				case err == nil:
					model = append(model, v)
				case !errors.Is(err, ErrTimeout):
					t.Fatalf("seed %d: SendWait: %v", seed, err)
				}
			}
		})
	}
}
