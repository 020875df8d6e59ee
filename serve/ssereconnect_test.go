package serve_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// eventSource connects to u as a browser's EventSource does: it reconnects,
// with the last id it saw as Last-Event-ID, after any end, until the
// answer is not a 200 event stream (it then fails for good) or the test's
// own rule, an "end" event, closes it. It gives up after max connections
// and returns the events, the connections made and the last status.
func eventSource(t *testing.T, u string, max int) (evs []event, conns, status int) {
	t.Helper()
	lastID := ""
	for conns = 1; conns <= max; conns++ {
		req, _ := http.NewRequest("GET", u, nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		status = res.StatusCode
		if status != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return evs, conns, status
		}
		got := readEvents(t, res.Body)
		res.Body.Close()
		ended := false
		for _, ev := range got {
			evs = append(evs, ev)
			if ev.id != "" {
				lastID = ev.id
			}
			ended = ended || ev.name == "end"
		}
		if ended {
			return evs, conns, status
		}
	}
	return evs, max, status
}

// A stream whose producer fails before it has an item for the reader (here
// it replays items 0 and 1, then fails: a resumed reader, at 2, gets the
// error first) is answered with StatusOf's status, not 200 and an "error"
// event: an EventSource reconnects after the latter, so it looped for
// ever, the producer failing on each connection.
func TestSSEFailingProducerStopsEventSource(t *testing.T) {
	srv, _ := streamServer(t)
	evs, conns, status := eventSource(t, srv.URL+"/sse"+q(`{"n": 2, "fail": "disk gone"}`), 5)
	if conns != 2 || status != http.StatusInternalServerError {
		t.Fatalf("%d connections, the last answered %d (events %+v); want 2, the second answered 500",
			conns, status, evs)
	}
	want := []event{{"0", "", "line 0"}, {"1", "", "line 1\nsecond half\nthird"}, {"", "error", "disk gone"}}
	if fmt.Sprint(evs) != fmt.Sprint(want) {
		t.Fatalf("events %+v; want %+v", evs, want)
	}
}

// Later leaves its streams open, empty, and hands their Out to the test.
type Later struct{ outs chan *actor.Out[string] }

var LaterStream = actor.NewStream("later", func(l *Later, _ *actor.Ctx, _ int, out *actor.Out[string]) error {
	l.outs <- out
	return nil
})

// laterPing answers once the actor's turns before it have run.
var laterPing = actor.NewMethod("ping", func(*Later, *actor.Ctx, int) (int, error) { return 1, nil })

// laterServer serves LaterStream as SSE; the test gets each stream's Out.
func laterServer(t *testing.T) (*httptest.Server, chan *actor.Out[string], *actor.Ref[*Later]) {
	t.Helper()
	rt := testkit.NewRuntime(t)
	l := &Later{outs: make(chan *actor.Out[string], 16)}
	ref, err := actor.Spawn(rt, l)
	if err != nil {
		t.Fatal(err)
	}
	zero := func(*http.Request) (int, error) { return 0, nil }
	srv := httptest.NewServer(serve.SSE(LaterStream, serve.To(ref), zero, func(s string) ([]byte, error) { return []byte(s), nil }))
	t.Cleanup(srv.Close)
	return srv, l.outs, ref
}

// A stream that fails after Open, before its first item, within SSE's
// hold (here as long as the test needs), is answered with a status too.
// It used to be answered 200 at once, then an "error" event: an
// EventSource reconnected, for ever.
func TestSSELateFailureStopsEventSource(t *testing.T) {
	defer serve.SetSSEHold(time.Hour)()
	srv, outs, ref := laterServer(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the producer: each stream fails
		defer close(done)
		for {
			select {
			case out := <-outs:
				// After the stream's turn, so that Open has returned
				// (likely) or is about to: the stream fails after it.
				_, _ = laterPing.Call(context.Background(), ref, 0)
				_ = out.Close(errors.New("backend down"))
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()
	evs, conns, status := eventSource(t, srv.URL, 3)
	if conns != 1 || status != http.StatusInternalServerError {
		t.Fatalf("%d connections, the last answered %d (events %+v); want 1, answered 500", conns, status, evs)
	}
}

// SSE holds the headers of a stream that has nothing yet only until its
// first item (here it has no time limit), or a while (here 1 ns) for a
// quiet one: then the client has its 200 and the stream goes on.
func TestSSEHoldEnds(t *testing.T) {
	for _, tt := range []struct {
		name string
		hold time.Duration
	}{{"first item", time.Hour}, {"quiet", time.Nanosecond}} {
		t.Run(tt.name, func(t *testing.T) {
			defer serve.SetSSEHold(tt.hold)()
			srv, outs, _ := laterServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
			answered := make(chan *http.Response, 1)
			failed := make(chan error, 1)
			go func() {
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					failed <- err
					return
				}
				answered <- res
			}()
			out := <-outs
			if tt.hold == time.Hour {
				if err := out.Send("first"); err != nil {
					t.Fatal(err)
				}
			}
			var res *http.Response
			select {
			case res = <-answered:
			case err := <-failed:
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d; want 200", res.StatusCode)
			}
			if tt.hold == time.Nanosecond {
				if err := out.Send("first"); err != nil {
					t.Fatal(err)
				}
			}
			br := bufio.NewReader(res.Body)
			for _, want := range []string{"id: 0\n", "data: first\n"} {
				if got, err := br.ReadString('\n'); got != want {
					t.Fatalf("got %q, %v; want %q", got, err, want)
				}
			}
			_ = out.Close(nil)
		})
	}
}
