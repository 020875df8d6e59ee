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

// cents is a small value payload without pointers (16 bytes): Cast
// carries it in the envelope's inline words, neither boxed nor recycled.
type cents struct {
	Sender, Seq int32
	Cents       int64 // < 0: the handler fails; 0: it panics
}

type purse struct {
	got   map[int32][]cents
	block chan struct{} // if not nil, the first handler waits on it
}

var spend = actor.NewMethod("spend", func(s *purse, _ *actor.Ctx, v cents) (struct{}, error) {
	if s.block != nil {
		<-s.block
		s.block = nil
	}
	switch {
	case v.Cents < 0:
		return struct{}{}, errNegative
	case v.Cents == 0:
		panic(v.Seq)
	}
	s.got[v.Sender] = append(s.got[v.Sender], v)
	return struct{}{}, nil
})

var spent = actor.NewMethod("spent", func(s *purse, _ *actor.Ctx, _ struct{}) (int, error) {
	n := 0
	for _, vs := range s.got {
		n += len(vs)
	}
	return n, nil
})

// TestCastInlineOrderAndIntegrity: many senders cast values that travel
// in their envelopes; every one arrives once, whole, in its sender's
// order (with -race, a copy shared with a sender would show).
func TestCastInlineOrderAndIntegrity(t *testing.T) {
	rt := newRuntime(t)
	s := &purse{got: map[int32][]cents{}}
	ref, err := actor.Spawn(rt, s)
	if err != nil {
		t.Fatal(err)
	}
	const senders, each = 8, 5000
	var wg sync.WaitGroup
	for sender := range int32(senders) {
		wg.Go(func() {
			for i := range int32(each) {
				v := cents{Sender: sender, Seq: i, Cents: int64(sender)<<40 | int64(i) + 1}
				if err := spend.Cast(ref, v); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n, err := spent.Call(context.Background(), ref, struct{}{}); err != nil || n != senders*each {
		t.Fatalf("received: got %d, %v; want %d", n, err, senders*each)
	}
	for sender := range int32(senders) {
		vs := s.got[sender]
		if len(vs) != each {
			t.Fatalf("sender %d: got %d messages; want %d", sender, len(vs), each)
		}
		for i, v := range vs {
			if want := (cents{Sender: sender, Seq: int32(i), Cents: int64(sender)<<40 | int64(i) + 1}); v != want {
				t.Fatalf("sender %d message %d: got %+v; want %+v", sender, i, v, want)
			}
		}
	}
}

// TestCastInlineFailures: a value carried inline that fails reaches the
// dead letters whole: the handler's error, its panic, a Cast to a stopped
// actor, and the casts still queued when the actor is killed.
func TestCastInlineFailures(t *testing.T) {
	var letters recorder
	rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
	s := &purse{got: map[int32][]cents{}, block: make(chan struct{})}
	ref, err := actor.Spawn(rt, s)
	if err != nil {
		t.Fatal(err)
	}
	casts := []cents{
		{Sender: 1, Seq: 1, Cents: 5},  // handled; holds the turn until released
		{Sender: 1, Seq: 2, Cents: -7}, // error
		{Sender: 1, Seq: 3, Cents: 0},  // panic
		{Sender: 1, Seq: 4, Cents: 9},  // handled
	}
	for _, v := range casts {
		if err := spend.Cast(ref, v); err != nil {
			t.Fatal(err)
		}
	}
	close(s.block)
	if n, err := spent.Call(context.Background(), ref, struct{}{}); err != nil || n != 2 {
		t.Fatalf("handled: got %d, %v; want 2", n, err)
	}
	// Queued behind a blocked handler, then killed.
	s.block = make(chan struct{})
	queued := []cents{{Sender: 2, Seq: 1, Cents: 1}, {Sender: 2, Seq: 2, Cents: 2}, {Sender: 2, Seq: 3, Cents: 3}}
	for _, v := range queued {
		if err := spend.Cast(ref, v); err != nil {
			t.Fatal(err)
		}
	}
	ref.Kill()
	close(s.block)
	<-ref.Done()
	late := cents{Sender: 3, Seq: 1, Cents: 11}
	if err := spend.Cast(ref, late); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("cast after stop: got %v; want ErrStopped", err)
	}
	want := map[cents]string{
		casts[1]: "error", casts[2]: "panic",
		queued[1]: "stopped", queued[2]: "stopped", late: "stopped",
	}
	for _, d := range letters.All() {
		v, ok := d.Payload.(cents)
		if !ok {
			continue // the Kill's own letters, if any, carry no cents
		}
		var pe *actor.PanicError
		got := "other: " + d.Err.Error()
		switch {
		case errors.Is(d.Err, errNegative):
			got = "error"
		case errors.As(d.Err, &pe) && pe.Value == v.Seq:
			got = "panic"
		case errors.Is(d.Err, actor.ErrStopped):
			got = "stopped"
		}
		if v == queued[0] && got == "stopped" {
			continue // killed before its turn began
		}
		if want[v] != got {
			t.Errorf("dead letter %+v: got %s; want %q", v, got, want[v])
		}
		delete(want, v)
	}
	// queued[0] ran (its turn began before the Kill) or was failed with
	// the others; everything else was reported.
	for v, why := range want {
		t.Errorf("no dead letter for %+v (%s)", v, why)
	}
}

// TestCastInlineNoAllocs: a value carried inline costs no allocation,
// not even once per slab as a boxed one does.
func TestCastInlineNoAllocs(t *testing.T) {
	rt := newRuntime(t)
	s := &purse{got: map[int32][]cents{}}
	ref, err := actor.Spawn(rt, s)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	sink := actor.NewMethod("sink", func(_ *purse, _ *actor.Ctx, v cents) (struct{}, error) {
		if v.Cents == 2 {
			done <- struct{}{}
		}
		return struct{}{}, nil
	})
	i := int32(0)
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		if err := sink.Cast(ref, cents{Seq: i, Cents: 1}); err != nil {
			t.Fatal(err)
		}
		if err := sink.Cast(ref, cents{Seq: i, Cents: 2}); err != nil {
			t.Fatal(err)
		}
		<-done
	})
	if allocs != 0 {
		t.Fatalf("allocations per two inline casts and their handling: got %.2f; want 0", allocs)
	}
}

// TestCastPointerKinds: every kind of payload that is one pointer word
// (carried in the envelope's pointer word) arrives as sent, and a failed
// one reaches the dead letters as sent.
func TestCastPointerKinds(t *testing.T) {
	var letters recorder
	rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
	type wrapped struct{ p *int }
	got := make(chan any, 8)
	s := &purse{}
	ref, err := actor.Spawn(rt, s)
	if err != nil {
		t.Fatal(err)
	}
	n := 7
	m := map[string]int{"a": 1}
	ch := make(chan int, 1)
	fn := func() int { return n * 2 }
	fail := errors.New("refused")
	byMap := actor.NewMethod("map", func(_ *purse, _ *actor.Ctx, v map[string]int) (struct{}, error) {
		got <- v["a"]
		return struct{}{}, nil
	})
	byChan := actor.NewMethod("chan", func(_ *purse, _ *actor.Ctx, v chan int) (struct{}, error) {
		v <- 3
		got <- <-v
		return struct{}{}, nil
	})
	byFunc := actor.NewMethod("func", func(_ *purse, _ *actor.Ctx, v func() int) (struct{}, error) {
		got <- v()
		return struct{}{}, nil
	})
	byStruct := actor.NewMethod("wrapped", func(_ *purse, _ *actor.Ctx, v wrapped) (struct{}, error) {
		got <- *v.p
		return struct{}{}, fail
	})
	if err := byMap.Cast(ref, m); err != nil {
		t.Fatal(err)
	}
	if err := byChan.Cast(ref, ch); err != nil {
		t.Fatal(err)
	}
	if err := byFunc.Cast(ref, fn); err != nil {
		t.Fatal(err)
	}
	if err := byStruct.Cast(ref, wrapped{p: &n}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 3, 14, 7} {
		if v := <-got; v != want {
			t.Errorf("payload %d: handler got %v; want %d", i, v, want)
		}
	}
	if _, err := spent.Call(context.Background(), ref, struct{}{}); err != nil { // after the failed cast's turn
		t.Fatal(err)
	}
	for _, d := range letters.All() {
		if w, ok := d.Payload.(wrapped); ok {
			if !errors.Is(d.Err, fail) || w.p != &n {
				t.Errorf("dead letter: got %+v, %v; want the sent pointer and the handler's error", w, d.Err)
			}
			return
		}
	}
	t.Error("the failed cast's dead letter is missing")
}

// TestCastPointerKeepsPayload: a payload carried in the envelope's
// pointer word keeps what it points to alive while it waits in the
// mailbox, through collections (the word is a pointer to the collector),
// and lets it go once handled.
func TestCastPointerKeepsPayload(t *testing.T) {
	rt := newRuntime(t)
	s := &purse{got: map[int32][]cents{}, block: make(chan struct{})}
	ref, err := actor.Spawn(rt, s)
	if err != nil {
		t.Fatal(err)
	}
	type big struct {
		seq  int
		fill [1 << 12]byte
	}
	seen := make(chan int, 1)
	take := actor.NewMethod("take", func(_ *purse, _ *actor.Ctx, b *big) (struct{}, error) {
		seen <- b.seq + int(b.fill[len(b.fill)-1])
		return struct{}{}, nil
	})
	if err := spend.Cast(ref, cents{Cents: 1}); err != nil { // holds the turn on s.block
		t.Fatal(err)
	}
	collected := make(chan struct{})
	b := &big{seq: 41}
	b.fill[len(b.fill)-1] = 1
	runtime.AddCleanup(b, func(ch chan struct{}) { close(ch) }, collected)
	if err := take.Cast(ref, b); err != nil {
		t.Fatal(err)
	}
	b = nil
	for range 5 {
		runtime.GC()
	}
	select {
	case <-collected:
		t.Fatal("a queued payload was collected: the envelope's pointer word hid it from the collector")
	case <-time.After(50 * time.Millisecond):
	}
	close(s.block)
	if v := <-seen; v != 42 {
		t.Fatalf("handler read %d; want 42", v)
	}
	if _, err := spent.Call(context.Background(), ref, struct{}{}); err != nil { // after take's turn
		t.Fatal(err)
	}
	for range 100 {
		runtime.GC()
		select {
		case <-collected:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("a handled payload's pointee was never collected: the mailbox still holds it")
}

// TestCastEnvelopeCarriagesNoAllocs: the two other payloads the envelope
// carries itself, one pointer and nothing (size 0), cost no allocation
// either, from Cast through the handler.
func TestCastEnvelopeCarriagesNoAllocs(t *testing.T) {
	rt := newRuntime(t)
	ref, err := actor.Spawn(rt, &purse{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	shared := &cents{Cents: 3}
	byPointer := actor.NewMethod("by pointer", func(_ *purse, _ *actor.Ctx, v *cents) (struct{}, error) {
		if v.Cents == 3 {
			done <- struct{}{}
		}
		return struct{}{}, nil
	})
	byNothing := actor.NewMethod("by nothing", func(_ *purse, _ *actor.Ctx, _ struct{}) (struct{}, error) {
		done <- struct{}{}
		return struct{}{}, nil
	})
	for _, c := range []struct {
		name string
		cast func() error
	}{
		{"pointer", func() error { return byPointer.Cast(ref, shared) }},
		{"size 0", func() error { return byNothing.Cast(ref, struct{}{}) }},
	} {
		allocs := testing.AllocsPerRun(1000, func() {
			if err := c.cast(); err != nil {
				t.Fatal(err)
			}
			<-done
		})
		if allocs != 0 {
			t.Errorf("%s: allocations per cast and its handling: got %.2f; want 0", c.name, allocs)
		}
	}
}
