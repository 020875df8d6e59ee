package actor_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// amount is a small value payload that does not fit in an interface (and
// holds a pointer, its string): Cast carries it in a recycled box.
type amount struct {
	Sender, Seq int
	Currency    string
}

type ledger struct {
	got  map[int][]amount // by sender
	done chan struct{}    // receives after each message, if not nil
}

var (
	credit = actor.NewMethod("credit", func(l *ledger, _ *actor.Ctx, a amount) (struct{}, error) {
		switch a.Currency {
		case "panic":
			panic(a.Seq)
		case "error":
			return struct{}{}, errNegative
		}
		l.got[a.Sender] = append(l.got[a.Sender], a)
		if l.done != nil {
			l.done <- struct{}{}
		}
		return struct{}{}, nil
	})
	ledgerLen = actor.NewMethod("len", func(l *ledger, _ *actor.Ctx, _ struct{}) (int, error) {
		n := 0
		for _, as := range l.got {
			n += len(as)
		}
		return n, nil
	})
)

// TestCastValueOrderAndIntegrity: many senders cast value payloads; every
// one arrives once, whole, in its sender's order, although the boxes that
// carry them are recycled (run with -race: a box reused while its payload
// is read would show).
func TestCastValueOrderAndIntegrity(t *testing.T) {
	rt := newRuntime(t)
	l := &ledger{got: map[int][]amount{}}
	ref, err := actor.Spawn(rt, l)
	if err != nil {
		t.Fatal(err)
	}
	const senders, each = 8, 5000
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				if err := credit.Cast(ref, amount{Sender: s, Seq: i, Currency: "EUR"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n, err := ledgerLen.Call(context.Background(), ref, struct{}{}); err != nil || n != senders*each {
		t.Fatalf("received: got %d, %v; want %d", n, err, senders*each)
	}
	got := l.got // the Call's reply came after every handler's writes
	for s := range senders {
		if len(got[s]) != each {
			t.Fatalf("sender %d: got %d messages; want %d", s, len(got[s]), each)
		}
		for i, a := range got[s] {
			if a.Seq != i || a.Sender != s || a.Currency != "EUR" {
				t.Fatalf("sender %d message %d: got %+v", s, i, a)
			}
		}
	}
}

// TestCastValueNoAllocs: in steady state a value payload costs no
// allocation (its box is recycled), like a pointer one.
func TestCastValueNoAllocs(t *testing.T) {
	rt := newRuntime(t)
	l := &ledger{got: map[int][]amount{}, done: make(chan struct{})}
	ref, err := actor.Spawn(rt, l)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if err := credit.Cast(ref, amount{Sender: -1 - i, Seq: i}); err != nil { // a new sender each time: the map keeps no slice growing
			t.Fatal(err)
		}
		<-l.done
		i++
	})
	// The handler's map insert allocates: measure it alone and subtract.
	base := testing.AllocsPerRun(1000, func() {
		l.got[-1-i] = append(l.got[-1-i], amount{})
		i++
	})
	if allocs > base {
		t.Fatalf("allocations per value cast and handling: got %.2f; want %.2f (the handler's own)", allocs, base)
	}
}

// TestCastValueFailures: a value payload that fails (error, panic, or a
// stopped actor) reaches the dead letters whole, and the boxes recycled
// after a failure carry the next payloads intact.
func TestCastValueFailures(t *testing.T) {
	var letters recorder
	rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
	l := &ledger{got: map[int][]amount{}}
	ref, err := actor.Spawn(rt, l) // Spawn resumes after a panic
	if err != nil {
		t.Fatal(err)
	}
	const n = 200 // several slabs' worth
	for i := range n {
		cur := "EUR"
		switch i % 10 {
		case 3:
			cur = "error"
		case 7:
			cur = "panic"
		}
		if err := credit.Cast(ref, amount{Sender: 1, Seq: i, Currency: cur}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := ledgerLen.Call(context.Background(), ref, struct{}{}); err != nil || got != n*8/10 {
		t.Fatalf("handled: got %d, %v; want %d", got, err, n*8/10)
	}
	for j, a := range l.got[1] {
		if want := j/8*10 + []int{0, 1, 2, 4, 5, 6, 8, 9}[j%8]; a.Seq != want || a.Currency != "EUR" {
			t.Fatalf("handled %d: got %+v; want seq %d in EUR", j, a, want)
		}
	}
	if err := ref.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := credit.Cast(ref, amount{Sender: 2, Seq: -1, Currency: "late"}); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("cast after stop: got %v; want ErrStopped", err)
	}
	failed, panicked, stopped := 0, 0, 0
	for _, d := range letters.All() {
		a, ok := d.Payload.(amount)
		if !ok {
			t.Fatalf("dead letter payload: got %T; want amount", d.Payload)
		}
		var pe *actor.PanicError
		switch {
		case errors.Is(d.Err, actor.ErrStopped):
			if a.Seq != -1 || a.Currency != "late" {
				t.Errorf("stopped letter: got %+v", a)
			}
			stopped++
		case errors.As(d.Err, &pe):
			if a.Seq%10 != 7 || a.Currency != "panic" || pe.Value != a.Seq {
				t.Errorf("panic letter: got %+v (panic %v)", a, pe.Value)
			}
			panicked++
		case errors.Is(d.Err, errNegative):
			if a.Seq%10 != 3 || a.Currency != "error" {
				t.Errorf("error letter: got %+v", a)
			}
			failed++
		}
	}
	if failed != n/10 || panicked != n/10 || stopped != 1 {
		t.Fatalf("dead letters: got %d errors, %d panics, %d stopped; want %d, %d, 1", failed, panicked, stopped, n/10, n/10)
	}
}

// holder is a value payload that holds a pointer.
type holder struct {
	N int
	P *[1 << 10]byte
}

var hold = actor.NewMethod("hold", func(_ *ledger, _ *actor.Ctx, h holder) (struct{}, error) {
	return struct{}{}, nil
})

// TestCastValueReleased: once handled, a value payload that holds a
// pointer is no longer kept by the box that carried it (boxes are
// recycled, and a payload left in one would pin what it points to until
// the box is reused: forever, once traffic stops).
func TestCastValueReleased(t *testing.T) {
	rt := newRuntime(t)
	ref, err := actor.Spawn(rt, &ledger{got: map[int][]amount{}})
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	p := new([1 << 10]byte)
	runtime.AddCleanup(p, func(ch chan struct{}) { close(ch) }, released)
	if err := hold.Cast(ref, holder{N: 1, P: p}); err != nil {
		t.Fatal(err)
	}
	p = nil
	if _, err := ledgerLen.Call(context.Background(), ref, struct{}{}); err != nil { // after the cast's turn
		t.Fatal(err)
	}
	for range 100 {
		runtime.GC()
		select {
		case <-released:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("a handled payload's pointee was never collected: its box still holds it")
}
