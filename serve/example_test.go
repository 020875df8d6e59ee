package serve_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
	"github.com/troupe-go/troupe/serve"
)

// shout is a session that answers each line in capitals.
type shout struct{ conn *serve.Conn }

func (s *shout) Frame(c *actor.Ctx, line []byte) error {
	if string(bytes.TrimSpace(line)) == "bye" {
		s.conn.Close()
		return nil
	}
	return s.conn.Write(c.Context(), bytes.ToUpper(line))
}

func ExampleNew() {
	rt, _ := troupe.New()
	srv, err := serve.New(rt, func(conn *serve.Conn) *shout {
		_ = conn.Write(context.Background(), []byte("hello\n"))
		return &shout{conn}
	}, serve.WithLines(1024), serve.WithIdleTimeout(time.Minute))
	if err != nil {
		panic(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)

	nc, _ := net.Dial("tcp", l.Addr().String())
	fmt.Fprint(nc, "one\ntwo\nbye\n")
	b, _ := io.ReadAll(nc) // until the session closes the connection
	nc.Close()
	fmt.Print(string(b))

	ctx := context.Background()
	fmt.Println(srv.Shutdown(ctx), rt.Shutdown(ctx))
	// Output:
	// hello
	// ONE
	// TWO
	// <nil> <nil>
}

// The Closed hook hears why its connection closed.
type reporter struct {
	conn   *serve.Conn
	reason chan error
}

func (r *reporter) Frame(*actor.Ctx, []byte) error    { return nil }
func (r *reporter) Closed(_ *actor.Ctx, reason error) { r.reason <- reason }

func ExampleCloseHandler() {
	rt, _ := troupe.New()
	reasons := make(chan error, 1)
	srv, _ := serve.New(rt, func(conn *serve.Conn) *reporter {
		return &reporter{conn, reasons}
	}, serve.WithLines(8))
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)

	nc, _ := net.Dial("tcp", l.Addr().String())
	fmt.Fprint(nc, "far too long a line\n")
	_, _ = io.ReadAll(nc) // the server closes its side
	nc.Close()
	fmt.Println(<-reasons)

	ctx := context.Background()
	_ = srv.Shutdown(ctx)
	_ = rt.Shutdown(ctx)
	// Output: serve: line too long: more than 8 bytes without a newline
}

type Counter struct{ n int }

var Add = actor.NewMethod("add", func(c *Counter, _ *actor.Ctx, n int) (int, error) {
	c.n += n
	return c.n, nil
})

func ExampleMethod() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	counter, _ := actor.Spawn(rt, &Counter{})

	h := serve.Method(Add, serve.To(counter), serve.DecodeJSON[int], serve.EncodeJSON[int])
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, body := range []string{"2", "3", "three"} {
		res, _ := http.Post(srv.URL, "application/json", strings.NewReader(body))
		b, _ := bufio.NewReader(res.Body).ReadString('\n')
		res.Body.Close()
		fmt.Print(res.StatusCode, " ", b)
	}
	// Output:
	// 200 2
	// 200 5
	// 400 invalid character 'h' in literal true (expecting 'r')
}

// Squares streams the first n squares, then ends the stream cleanly.
var Squares = actor.NewStream("squares", func(_ *Counter, _ *actor.Ctx, n int, out *actor.Out[int]) error {
	for i := range n {
		_ = out.Send(i * i)
	}
	return out.Close(nil)
})

func ExampleJSONLines() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	counter, _ := actor.Spawn(rt, &Counter{})

	n := func(r *http.Request) (int, error) { return strconv.Atoi(r.URL.Query().Get("n")) }
	srv := httptest.NewServer(serve.JSONLines(Squares, serve.To(counter), n))
	defer srv.Close()

	for _, query := range []string{"?n=3", "?n=3&since=2"} { // since resumes
		res, err := http.Get(srv.URL + query)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Print(string(b))
	}
	// Output:
	// {"seq":0,"value":0}
	// {"seq":1,"value":1}
	// {"seq":2,"value":4}
	// {"seq":2,"value":4}
}
