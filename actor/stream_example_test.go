package actor_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Log is an actor holding lines; its followers are the streams it feeds.
type Log struct {
	lines     []string
	followers []*actor.Out[string]
}

var (
	// TailLog streams the log's lines, then every line appended later.
	TailLog = actor.NewStream("tail", func(l *Log, _ *actor.Ctx, _ struct{}, out *actor.Out[string]) error {
		for _, line := range l.lines {
			_ = out.Send(line)
		}
		l.followers = append(l.followers, out) // emit on later turns too
		return nil
	})
	Append = actor.NewMethod("append", func(l *Log, _ *actor.Ctx, line string) (int, error) {
		l.lines = append(l.lines, line)
		for _, out := range l.followers {
			_ = out.Send(line) // never blocks the actor
		}
		return len(l.lines), nil
	})
	CloseLog = actor.NewMethod("close", func(l *Log, _ *actor.Ctx, err error) (int, error) {
		for _, out := range l.followers {
			_ = out.Close(err)
		}
		l.followers = nil
		return 0, nil
	})
)

func ExampleNewStream() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	ctx := context.Background()

	log, _ := actor.Spawn(rt, &Log{lines: []string{"boot"}})
	f, err := TailLog.Open(ctx, log, struct{}{}) // the request is sent now
	if err != nil {
		panic(err)
	}
	_, _ = Append.Call(ctx, log, "ready")
	_, _ = CloseLog.Call(ctx, log, errors.New("disk full"))

	for it, err := range f.All() { // harp's follow: waits for items until the end
		if err != nil {
			fmt.Println("end:", err)
			break
		}
		fmt.Println(it.Seq, it.V)
	}
	// Output:
	// 0 boot
	// 1 ready
	// end: disk full
}

func ExampleFollow_Collected() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	ctx := context.Background()

	log, _ := actor.Spawn(rt, &Log{lines: []string{"a", "b"}})
	f, _ := TailLog.Open(ctx, log, struct{}{})
	items, err := f.Collected() // harp's stream: what is there now, no waiting
	fmt.Println(len(items), err)
	_, _ = Append.Call(ctx, log, "c")
	items, err = f.Collected()
	fmt.Println(items[0].Seq, items[0].V, err)
	_, _ = CloseLog.Call(ctx, log, nil)
	items, err = f.Collected()
	fmt.Println(len(items), err)
	// Output:
	// 2 <nil>
	// 2 c <nil>
	// 0 EOF
}

// A reader that falls behind the bounded journal learns the oldest item
// kept, and resumes there by attaching to the stream again, then closes
// the truncated reader.
func ExampleTruncatedError() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	ctx := context.Background()

	var out *actor.Out[int]
	counter := actor.NewStream("count", func(_ *Log, _ *actor.Ctx, n int, o *actor.Out[int]) error {
		for i := range n {
			_ = o.Send(i)
		}
		out = o
		return nil
	}, actor.WithJournal(3, actor.DefaultJournalBytes))
	log, _ := actor.Spawn(rt, &Log{})

	f, _ := counter.Open(ctx, log, 5, actor.Since(0)) // 0 and 1 are gone already
	var te *actor.TruncatedError
	for _, err := range f.All() {
		if errors.As(err, &te) {
			fmt.Println(err)
		}
	}
	again, _ := counter.Follow(ctx, log, f.ID(), actor.Since(te.Oldest))
	_ = f.Close() // after the new reader is attached: the producer always has one
	_ = out.Close(nil)
	for it := range again.All() {
		fmt.Print(it.V, " ")
	}
	fmt.Println()
	// Output:
	// actor: stream truncated: the oldest item kept is 2
	// 2 3 4
}

// A producer that watches its Out's Context stops when nobody reads any
// more.
func ExampleOut_Context() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	ctx := context.Background()

	stopped := make(chan error)
	ticks := actor.NewStream("ticks", func(_ *Log, _ *actor.Ctx, _ struct{}, out *actor.Out[int]) error {
		go func() { // work handed off the turn
			for i := 0; ; i++ {
				if err := out.SendWait(out.Context(), i); err != nil {
					stopped <- context.Cause(out.Context())
					return
				}
			}
		}()
		return nil
	}, actor.WithJournal(16, actor.DefaultJournalBytes))
	log, _ := actor.Spawn(rt, &Log{})
	f, _ := ticks.Open(ctx, log, struct{}{})
	for it := range f.All() {
		if it.Seq == 100 {
			break // the last reader leaves
		}
	}
	fmt.Println(<-stopped)
	// Output: actor: stream has no reader left
}
