// Command pipeline is cocaine's chain in Go: a stream of chunks from one
// actor, through a transforming actor that follows it and re-emits each
// chunk changed, to a reader that drops and resumes where it left off.
//
//	Log     tail: the lines written to it, then each new one as it comes
//	 └▶ Filter   upper: follows the log; on its own turns numbers each
//	             line, upper-cases it and counts the words so far
//	     └▶ reader (main): reads three chunks, drops, and resumes with
//	                 Since(3) on the same stream, which kept what came
//	                 meanwhile
//
// The log's end — here an error, the log was rotated — travels down the
// chain as cocaine's exceptions do: the filter ends its stream with it,
// and the reader gets it as its last (item, err) pair.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Log is the source: lines written to it, and the streams following it.
type Log struct {
	lines     []string
	followers []*actor.Out[string]
}

var errRotated = errors.New("log rotated")

var (
	// Tail streams the log's lines, then each line written later.
	Tail = actor.NewStream("tail", func(l *Log, _ *actor.Ctx, _ struct{}, out *actor.Out[string]) error {
		for _, line := range l.lines {
			_ = out.Send(line)
		}
		l.followers = append(l.followers, out) // Send on later turns
		return nil
	})
	Write = actor.NewMethod("write", func(l *Log, _ *actor.Ctx, line string) (int, error) {
		l.lines = append(l.lines, line)
		for _, out := range l.followers {
			_ = out.Send(line) // never blocks the log
		}
		return len(l.lines), nil
	})
	// Rotate ends every stream following the log with errRotated.
	Rotate = actor.NewMethod("rotate", func(l *Log, _ *actor.Ctx, _ struct{}) (int, error) {
		for _, out := range l.followers {
			_ = out.Close(errRotated)
		}
		n := len(l.lines)
		l.lines, l.followers = nil, nil
		return n, nil
	})
)

// Chunk is what the filter emits: a line upper-cased, and the words its
// stream has carried so far.
type Chunk struct {
	Line  string
	Words int
}

// Filter follows a log and re-emits its lines, transformed on its turns.
type Filter struct {
	log   *actor.Ref[*Log]
	pumps *sync.WaitGroup // the goroutines following the log, one per stream; the program waits for them
	jobs  map[uint64]*job // the streams it feeds, by id
}

type job struct {
	out   *actor.Out[Chunk]
	words int
}

type (
	lineMsg struct {
		id   uint64
		line string
	}
	endMsg struct {
		id  uint64
		err error
	}
)

var (
	// Upper streams the filter's log, transformed. Following the log
	// blocks, so it runs off the turn, in a pump; the transformation runs
	// on the filter's turns, where its state lives.
	Upper = actor.NewStream("upper", func(f *Filter, c *actor.Ctx, _ struct{}, out *actor.Out[Chunk]) error {
		f.jobs[out.ID()] = &job{out: out}
		self, log, id := actor.Self[*Filter](c), f.log, out.ID()
		f.pumps.Go(func() { pump(log, self, id) })
		return nil
	})
	onLine = actor.NewMethod("line", func(f *Filter, _ *actor.Ctx, m lineMsg) (struct{}, error) {
		j := f.jobs[m.id]
		j.words += len(strings.Fields(m.line))
		return struct{}{}, j.out.Send(Chunk{Line: strings.ToUpper(m.line), Words: j.words})
	})
	onEnd = actor.NewMethod("end", func(f *Filter, _ *actor.Ctx, m endMsg) (struct{}, error) {
		j := f.jobs[m.id]
		delete(f.jobs, m.id)
		var err error
		if m.err != nil {
			err = fmt.Errorf("upper: %w", m.err)
		}
		return struct{}{}, j.out.Close(err)
	})
)

// pump follows log for the filter's stream id and hands each line, then
// the end, to the filter's turns. It returns when the log's stream ends.
func pump(log *actor.Ref[*Log], filter *actor.Ref[*Filter], id uint64) {
	src, err := Tail.Open(context.Background(), log, struct{}{})
	if err != nil {
		_ = onEnd.Cast(filter, endMsg{id, err})
		return
	}
	defer src.Close() // a reader ended by truncation counts as one until closed
	for it, err := range src.All() {
		if err != nil {
			_ = onEnd.Cast(filter, endMsg{id, err})
			return
		}
		if onLine.Cast(filter, lineMsg{id, it.V}) != nil {
			return // the filter has stopped (the break detaches from the log)
		}
	}
	_ = onEnd.Cast(filter, endMsg{id, nil})
}

var lines = []string{
	"a chain of chunks",
	"flows from the log",
	"through the filter",
	"while nobody reads",
	"the journal keeps",
	"every chunk numbered",
	"so the reader resumes",
	"where it dropped",
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	var pumps sync.WaitGroup
	defer pumps.Wait() // after the shutdown, which ends the streams they follow
	rt, err := troupe.New()
	if err != nil {
		return err
	}
	ctx := context.Background()
	defer rt.Shutdown(ctx)

	log, err := actor.Spawn(rt, &Log{})
	if err != nil {
		return err
	}
	filter, err := actor.Spawn(rt, &Filter{log: log, pumps: &pumps, jobs: make(map[uint64]*job)})
	if err != nil {
		return err
	}
	write := func(ls []string) error {
		for _, l := range ls {
			if _, err := Write.Call(ctx, log, l); err != nil {
				return err
			}
		}
		return nil
	}
	show := func(it actor.Item[Chunk]) {
		fmt.Fprintf(w, "  %d %-22s (%d words)\n", it.Seq, it.V.Line, it.V.Words)
	}

	// 1. The reader opens the chain and reads three chunks, then drops.
	if err := write(lines[:3]); err != nil {
		return err
	}
	f, err := Upper.Open(ctx, filter, struct{}{})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "reader:")
	n := 0
	for it, err := range f.All() {
		if err != nil {
			return err
		}
		show(it)
		if n++; n == 3 {
			break // detaches the reader; the chain goes on
		}
	}

	// 2. Lines keep coming while nobody reads: the filter's journal keeps
	// its chunks.
	if err := write(lines[3:6]); err != nil {
		return err
	}
	fmt.Fprintln(w, "reader dropped after 3 chunks; 3 lines written since")

	// 3. It resumes on the same stream, by its id, from where it was.
	g, err := Upper.Follow(ctx, filter, f.ID(), actor.Since(3))
	if err != nil {
		return err
	}
	if err := write(lines[6:]); err != nil {
		return err
	}
	if _, err := Rotate.Call(ctx, log, struct{}{}); err != nil {
		return err
	}
	fmt.Fprintln(w, "resumed with Since(3):")
	for it, err := range g.All() {
		if err != nil {
			fmt.Fprintln(w, "end:", err, "| rotated:", errors.Is(err, errRotated))
			break
		}
		show(it)
	}
	return nil
}
