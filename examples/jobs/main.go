// Command jobs is harp's dispatcher on troupe: a host agent with four
// procedures in harp's spirit (one streams for ever, one returns at once,
// one prints log lines for a while, one panics), served over HTTP by
// jobs.Handler, and a driver that uses the Go client the way harp's
// HarpCaller is used: follow from since=0 and resume with since, a queue
// of concurrency 2 with a third job waiting while two run, a cancel, a
// max-exec expiry, a read-timeout expiry, a panic, and a result fetched by
// id after its job ended.
//
// The two-node mode — a dispatcher node and an agent node sharing their
// jobs on NATS JetStream, with the same dispatcher code plus
// jobs.WithBackend — lives in the remote module, which alone may import
// NATS: cd remote && go run ./jetjobs/example (make demo-jobs runs both).
//
//	go run ./examples/jobs                     # the demo
//	go run ./examples/jobs -serve 127.0.0.1:3502
//	curl -s -XPOST localhost:3502/jobs/ -d '{"host":"localhost","procedure":"logs_for_a_while","args":{"lines":5,"every_ms":500}}'
//	curl -sN localhost:3502/jobs/<id>/output    # JSON lines; -H 'Accept: text/event-stream' for SSE
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
	troupe "github.com/troupe-go/troupe/runtime"
)

// agent is the host "localhost": harpd on one machine.
type agent struct{}

// logsReq is logs_for_a_while's request.
type logsReq struct {
	Lines   int `json:"lines"`
	EveryMS int `json:"every_ms"`
}

var (
	// streamInfinity sends a tick every 10 ms until its job ends.
	streamInfinity = actor.NewStream("stream_infinity", func(_ *agent, _ *actor.Ctx, _ struct{}, out *actor.Out[string]) error {
		return produce(out, 10*time.Millisecond, -1)
	})
	// logsForAWhile sends lines log lines, one every every_ms.
	logsForAWhile = actor.NewStream("logs_for_a_while", func(_ *agent, _ *actor.Ctx, r logsReq, out *actor.Out[string]) error {
		return produce(out, time.Duration(r.EveryMS)*time.Millisecond, r.Lines)
	})
	// returnImmediate returns its arguments, joined.
	returnImmediate = actor.NewMethod("return_immediate", func(_ *agent, _ *actor.Ctx, args []string) (string, error) {
		return strings.Join(args, " "), nil
	})
	// panics panics.
	panics = actor.NewMethod("panics", func(*agent, *actor.Ctx, struct{}) (string, error) {
		panic("something went wrong")
	})
)

// produce sends n items (n < 0: for ever), one every period, from a
// goroutine that ends with the stream: at n, or when the job ends (its
// Out's context).
func produce(out *actor.Out[string], every time.Duration, n int) error {
	if every <= 0 {
		return fmt.Errorf("every %v must be > 0", every)
	}
	ctx := out.Context()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 0; n < 0 || i < n; i++ {
			select {
			case <-t.C:
			case <-ctx.Done():
				_ = out.Close(nil)
				return
			}
			if n < 0 {
				_ = out.Send(fmt.Sprintf("tick %d", i))
			} else {
				_ = out.Send(fmt.Sprintf("log line %d", i))
			}
		}
		_ = out.Close(nil)
	}()
	return nil
}

// newDispatcher makes the dispatcher with its procedures on host
// "localhost".
func newDispatcher(rt *troupe.Runtime) (*jobs.Dispatcher, error) {
	d, err := jobs.New(rt, jobs.WithRetention(time.Hour, 1000))
	if err != nil {
		return nil, err
	}
	ref, err := actor.Spawn(rt, &agent{}, actor.WithName("localhost"))
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	host := jobs.Ref("localhost", ref)
	for _, err := range []error{
		jobs.RegisterStream(d, host, streamInfinity),
		jobs.RegisterStream(d, host, logsForAWhile),
		jobs.Register(d, host, returnImmediate),
		jobs.Register(d, host, panics),
	} {
		if err != nil {
			_ = d.Close()
			return nil, err
		}
	}
	return d, nil
}

// serve runs the dispatcher's HTTP face on l until ctx ends, then shuts
// the server, the dispatcher and the runtime down.
func serve(ctx context.Context, l net.Listener, ready func(url string) error) error {
	rt, err := troupe.New()
	if err != nil {
		return err
	}
	d, err := newDispatcher(rt)
	if err != nil {
		_ = rt.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/jobs/", jobs.Handler(d))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	err = ready("http://" + l.Addr().String() + "/jobs")
	if err == nil {
		select {
		case <-ctx.Done():
		case err = <-served: // the listener failed
			served <- err // for the wait below
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = d.Close() // cancels the jobs still running: their follows end
	if serr := srv.Shutdown(sctx); serr != nil {
		_ = srv.Close() // a handler still running past the grace: cut it off
		err = errors.Join(err, serr)
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if rerr := rt.Shutdown(sctx); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// run serves on loopback and drives the dispatcher through its client,
// writing what it sees to w.
func run(w io.Writer) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	done, stop := context.WithCancel(context.Background())
	defer stop()
	return serve(done, l, func(url string) error {
		defer stop() // the demo is over: stop serving
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		rpc, err := jobs.NewClient(url, jobs.WithHTTPClient(&http.Client{Transport: tr}))
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return drive(ctx, w, rpc)
	})
}

func main() {
	addr := flag.String("serve", "", "serve the dispatcher on this address instead of running the demo")
	flag.Parse()
	if *addr == "" {
		if err := run(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop) // from the first Ctrl-C on, a second one ends the process at once
	err = serve(ctx, l, func(url string) error {
		fmt.Println("jobs dispatcher on", url)
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// drive is harp's client session, against the running server. Every line
// it writes is deterministic: it prints states, values and items it
// waited for, never counts that depend on timing.
func drive(ctx context.Context, w io.Writer, rpc *jobs.Client) error {
	host := rpc.Host("localhost")

	// Follow from since=0, then resume with since.
	logs, err := host.Call(ctx, "logs_for_a_while", logsReq{Lines: 5, EveryMS: 20})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "# logs_for_a_while: follow since=0")
	var last uint64
	for it, err := range logs.Follow(ctx, actor.Since(0)) {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  [%d] %s\n", it.Seq, it.V)
		last = it.Seq
	}
	fmt.Fprintf(w, "# resume since=%d\n", last-1)
	for it, err := range logs.Follow(ctx, actor.Since(last-1)) {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  [%d] %s\n", it.Seq, it.V)
	}
	if err := printResult(ctx, w, "logs_for_a_while", logs); err != nil {
		return err
	}

	// A queue of concurrency 2: two endless streams run, a third job waits.
	fmt.Fprintln(w, "# queue nginx, concurrency 2")
	nginx := rpc.Host("localhost", jobs.Queue("nginx", 2))
	var infinite [2]*jobs.RemoteJob
	for i := range infinite {
		if infinite[i], err = nginx.Call(ctx, "stream_infinity", nil); err != nil {
			return err
		}
	}
	immediate, err := nginx.Call(ctx, "return_immediate", []string{"bar", "baz"})
	if err != nil {
		return err
	}
	for _, j := range []*jobs.RemoteJob{infinite[0], infinite[1], immediate} {
		st, err := waitState(ctx, j, jobs.Running, jobs.Queued)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s: %s\n", st.Procedure, st.State)
	}
	for it, err := range infinite[0].Follow(ctx, actor.Since(0)) {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  stream_infinity follow: [%d] %s\n", it.Seq, it.V)
		if it.Seq == 2 {
			break
		}
	}
	ok, err := infinite[0].Cancel(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "# cancel the first stream_infinity: %v\n", ok)
	if err := printResult(ctx, w, "return_immediate (its slot freed)", immediate); err != nil {
		return err
	}
	if err := printResult(ctx, w, "the cancelled stream_infinity", infinite[0]); err != nil {
		return err
	}
	ok, err = infinite[0].Cancel(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "# cancel it again: %v\n", ok)
	if _, err := infinite[1].Cancel(ctx); err != nil {
		return err
	}

	// Watchdogs: max exec time and read timeout.
	fmt.Fprintln(w, "# watchdogs")
	expiring, err := rpc.Host("localhost", jobs.MaxExec(100*time.Millisecond)).Call(ctx, "stream_infinity", nil)
	if err != nil {
		return err
	}
	if err := printResult(ctx, w, "stream_infinity, max_exec_time 0.1s", expiring); err != nil {
		return err
	}
	idle, err := rpc.Host("localhost", jobs.ReadIdle(100*time.Millisecond)).
		Call(ctx, "logs_for_a_while", logsReq{Lines: 3, EveryMS: 1000})
	if err != nil {
		return err
	}
	if err := printResult(ctx, w, "logs_for_a_while every 1s, timeout 0.1s", idle); err != nil {
		return err
	}

	// A panic, and a result fetched by id after its job ended.
	crash, err := host.Call(ctx, "panics", nil)
	if err != nil {
		return err
	}
	if err := printResult(ctx, w, "panics", crash); err != nil {
		return err
	}
	fmt.Fprintln(w, "# later, by id")
	return printResult(ctx, w, "return_immediate", rpc.Job(immediate.ID()))
}

// printResult waits for the job's result and prints it with its state.
func printResult(ctx context.Context, w io.Writer, what string, j *jobs.RemoteJob) error {
	v, err := j.Result(ctx, true)
	st, serr := j.Status(ctx)
	if serr != nil {
		return serr
	}
	var re *jobs.RemoteError
	switch {
	case err == nil:
		fmt.Fprintf(w, "  %s: %s, result %s\n", what, st.State, v)
	case errors.As(err, &re):
		msg := re.Message
		if re.Type == "panic" {
			var data struct{ Value string }
			_ = json.Unmarshal(re.Data, &data)
			msg = data.Value + " (with its stack)"
		}
		fmt.Fprintf(w, "  %s: %s, %s: %s\n", what, st.State, re.Type, msg)
	default:
		return err
	}
	return nil
}

// waitState polls the job's status until it is in one of the states.
func waitState(ctx context.Context, j *jobs.RemoteJob, states ...jobs.State) (jobs.Status, error) {
	for {
		st, err := j.Status(ctx)
		if err != nil {
			return st, err
		}
		for _, s := range states {
			if st.State == s {
				return st, nil
			}
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
