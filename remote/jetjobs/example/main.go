// Command example is harp's dispatcher and agent as two nodes sharing
// their jobs on NATS JetStream (the embedded server, in this process):
// node "dispatcher" serves the jobs' HTTP face and runs no procedure;
// node "agent" hosts "web01" and runs its jobs. A job submitted over
// HTTP to the dispatcher runs on the agent; its output is followed from
// the dispatcher (over HTTP, resumed with since) and from the agent (in
// Go); a queued job is cancelled from the dispatcher; its result is read
// later by id from either. The dispatcher code is the in-memory one's:
// only jobs.WithBackend differs.
//
//	cd remote && go run ./jetjobs/example          # the demo (make demo-jobs)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote"
	"github.com/troupe-go/troupe/remote/embedded"
	"github.com/troupe-go/troupe/remote/jetjobs"
	troupe "github.com/troupe-go/troupe/runtime"
)

// agent is the host "web01": harpd on one machine.
type agent struct{}

type logsReq struct {
	Lines   int `json:"lines"`
	EveryMS int `json:"every_ms"`
}

var (
	// tailLogs sends lines log lines, one every every_ms.
	tailLogs = actor.NewStream("tail_logs", func(_ *agent, _ *actor.Ctx, r logsReq, out *actor.Out[string]) error {
		ctx := out.Context()
		go func() {
			for i := range r.Lines {
				select {
				case <-time.After(time.Duration(r.EveryMS) * time.Millisecond):
				case <-ctx.Done():
					_ = out.Close(ctx.Err())
					return
				}
				_ = out.SendWait(ctx, fmt.Sprintf("log line %d", i))
			}
			_ = out.Close(nil)
		}()
		return nil
	})
	// restartNginx returns at once.
	restartNginx = actor.NewMethod("restart_nginx", func(_ *agent, _ *actor.Ctx, args []string) (string, error) {
		return "restarted " + strings.Join(args, " "), nil
	})
)

// member is one node: a runtime on NATS and its dispatcher.
type member struct {
	rt *troupe.Runtime
	n  *remote.Node
	d  *jobs.Dispatcher
}

// join starts a node on url with a dispatcher whose jobs live on
// JetStream: the same jobs.New as in memory, plus WithBackend.
func join(ctx context.Context, url, name string) (*member, error) {
	rt, err := troupe.New()
	if err != nil {
		return nil, err
	}
	n, err := remote.Start(ctx, rt, remote.WithURL(url), remote.WithName(name))
	if err != nil {
		_ = rt.Close()
		return nil, err
	}
	b, err := jetjobs.New(ctx, n.Conn(), jetjobs.WithNode(n.ID()), jetjobs.WithLease(5*time.Second))
	if err == nil {
		var d *jobs.Dispatcher
		if d, err = jobs.New(rt, jobs.WithBackend(b)); err == nil {
			return &member{rt: rt, n: n, d: d}, nil
		}
	}
	_ = n.Close()
	_ = rt.Close()
	return nil, err
}

// leave stops the dispatcher, then the node (its connection), then the
// runtime.
func (m *member) leave() {
	_ = m.d.Close()
	_ = m.n.Close()
	_ = m.rt.Close()
}

// run starts the server and the two nodes, serves the dispatcher's HTTP
// face on loopback, and drives the demo, writing what it sees to w.
func run(w io.Writer) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := embedded.Start(ctx)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	disp, err := join(ctx, srv.ClientURL(), "dispatcher")
	if err != nil {
		return err
	}
	defer disp.leave()
	agt, err := join(ctx, srv.ClientURL(), "agent")
	if err != nil {
		return err
	}
	defer agt.leave()
	ref, err := actor.Spawn(agt.rt, &agent{})
	if err != nil {
		return err
	}
	host := jobs.Ref("web01", ref)
	if err := errors.Join(jobs.RegisterStream(agt.d, host, tailLogs), jobs.Register(agt.d, host, restartNginx)); err != nil {
		return err
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/jobs/", jobs.Handler(disp.d))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }()
	defer func() {
		// Bounded: a follow still served (drive failed midway) ends only
		// when the dispatcher closes, after this; Close cuts it off.
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		if serr := hs.Shutdown(sctx); serr != nil {
			_ = hs.Close()
		}
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
	}()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	rpc, err := jobs.NewClient("http://"+l.Addr().String()+"/jobs", jobs.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		return err
	}
	return drive(ctx, w, rpc, agt.d)
}

// drive is the demo: HTTP to the dispatcher node, Go on the agent node.
func drive(ctx context.Context, w io.Writer, rpc *jobs.Client, onAgent *jobs.Dispatcher) error {
	web01 := rpc.Host("web01")
	fmt.Fprintln(w, "# tail_logs, submitted to the dispatcher, runs on the agent")
	job, err := web01.Call(ctx, "tail_logs", logsReq{Lines: 5, EveryMS: 20})
	if err != nil {
		return err
	}
	for it, err := range job.Follow(ctx, actor.Since(0)) {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  dispatcher (HTTP) [%d] %s\n", it.Seq, it.V)
	}
	fmt.Fprintln(w, "# resume since=3, on the dispatcher")
	for it, err := range job.Follow(ctx, actor.Since(3)) {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  dispatcher (HTTP) [%d] %s\n", it.Seq, it.V)
	}
	fmt.Fprintln(w, "# the same output, on the agent (Go)")
	local, err := onAgent.Job(job.ID())
	if err != nil {
		return err
	}
	f, err := local.Follow(ctx, actor.Since(3))
	if err != nil {
		return err
	}
	for it, err := range f.All() {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  agent [%d] %s\n", it.Seq, it.V)
	}
	st, err := job.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  tail_logs: %s\n", st.State)

	fmt.Fprintln(w, "# queue nginx, concurrency 1: one runs, one waits, the waiting one is cancelled")
	nginx := rpc.Host("web01", jobs.Queue("nginx", 1))
	long, err := nginx.Call(ctx, "tail_logs", logsReq{Lines: 1000, EveryMS: 10})
	if err != nil {
		return err
	}
	for _, err := range long.Follow(ctx) { // it runs once its first line is out
		if err != nil {
			return err
		}
		break
	}
	waiting, err := nginx.Call(ctx, "restart_nginx", []string{"nginx"})
	if err != nil {
		return err
	}
	st, err = waiting.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  restart_nginx: %s\n", st.State)
	ok, err := waiting.Cancel(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  cancel it: %v\n", ok)
	if _, err = waiting.Result(ctx, true); err == nil {
		return errors.New("restart_nginx ran; want it cancelled")
	}
	fmt.Fprintf(w, "  restart_nginx: %s\n", jobs.Remote(err).Type)
	if ok, err = long.Cancel(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "  cancel the running tail_logs: %v\n", ok)

	fmt.Fprintln(w, "# restart_nginx runs; its result read later, by id, on the agent")
	done, err := nginx.Call(ctx, "restart_nginx", []string{"nginx", "now"})
	if err != nil {
		return err
	}
	v, err := done.Result(ctx, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  dispatcher (HTTP): %s\n", v)
	again, err := onAgent.Job(done.ID())
	if err != nil {
		return err
	}
	r, err := again.Result(ctx, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  agent: %s\n", r.(json.RawMessage))
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
