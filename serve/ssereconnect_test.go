package serve_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
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

// Short keeps the last 2 items of its streams.
var Short = actor.NewStream("short", func(_ *Log, _ *actor.Ctx, n int, out *actor.Out[string]) error {
	for i := range n {
		_ = out.Send(fmt.Sprintf("line %d", i))
	}
	return out.Close(nil)
}, actor.WithJournal(2, 1<<20))

func shortServer(t *testing.T) *httptest.Server {
	t.Helper()
	rt := testkit.NewRuntime(t)
	ref, err := actor.Spawn(rt, &Log{})
	if err != nil {
		t.Fatal(err)
	}
	five := func(*http.Request) (int, error) { return 5, nil }
	mux := http.NewServeMux()
	mux.Handle("GET /sse", serve.SSE(Short, serve.To(ref), five, func(s string) ([]byte, error) { return []byte(s), nil }))
	mux.Handle("GET /lines", serve.JSONLines(Short, serve.To(ref), five))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// A reconnect whose Last-Event-ID is older than what the journal keeps
// resumes at the oldest item kept, after an event named "truncated" whose
// id is the one before it and whose data is its id. It used to get the
// reader's *actor.TruncatedError, an "error" event: the EventSource
// reconnected with the same id, for ever.
func TestSSETruncatedResumes(t *testing.T) {
	srv := shortServer(t)
	code, _, body := get(t, srv.URL+"/sse", map[string]string{"Last-Event-ID": "0"})
	want := "id: 2\nevent: truncated\ndata: 3\n\nid: 3\ndata: line 3\n\nid: 4\ndata: line 4\n\nevent: end\ndata:\n\n"
	if code != http.StatusOK || body != want {
		t.Fatalf("got %d %q; want 200 %q", code, body, want)
	}
}

// JSONLines' since=N older than what the journal keeps resumes at the
// oldest item kept, after a line {"truncated":oldest}. It used to be a
// lone {"error"} line.
func TestJSONLinesTruncatedResumes(t *testing.T) {
	srv := shortServer(t)
	code, _, body := get(t, srv.URL+"/lines?since=1", nil)
	want := "{\"truncated\":3}\n{\"seq\":3,\"value\":\"line 3\"}\n{\"seq\":4,\"value\":\"line 4\"}\n"
	if code != http.StatusOK || body != want {
		t.Fatalf("got %d %q; want 200 %q", code, body, want)
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

// A reader that falls behind the journal in the middle of a stream (its
// client reads nothing while the producer sends 256 items of 1 MiB, far
// more than the socket buffers hold, into a journal of 2) goes on from the
// oldest item kept, after a "truncated" event: it used to end with an
// "error" event, and its EventSource reconnected.
func TestSSETruncatedMidStream(t *testing.T) {
	rt := testkit.NewRuntime(t)
	l := &Later{outs: make(chan *actor.Out[string], 1)}
	ref, err := actor.Spawn(rt, l)
	if err != nil {
		t.Fatal(err)
	}
	stream := actor.NewStream("burst", func(l *Later, _ *actor.Ctx, _ int, out *actor.Out[string]) error {
		_ = out.Send("first")
		l.outs <- out
		return nil
	}, actor.WithJournal(2, 1<<30))
	zero := func(*http.Request) (int, error) { return 0, nil }
	srv := httptest.NewServer(serve.SSE(stream, serve.To(ref), zero, func(s string) ([]byte, error) { return []byte(s), nil }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := <-l.outs
	br := bufio.NewReader(res.Body)
	// An event: its id, its name, the length of its data.
	type ev struct {
		id, name string
		n        int
	}
	next := func() ev {
		var e ev
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v after %+v", err, e)
			}
			line = strings.TrimSuffix(line, "\n")
			if line == "" {
				return e
			}
			field, value, _ := strings.Cut(line, ": ")
			switch field {
			case "id":
				e.id = value
			case "event":
				e.name = value
			case "data":
				if e.name == "truncated" {
					e.id += "/" + value
				}
				e.n += len(value)
			}
		}
	}
	if e := next(); e.id != "0" || e.n != len("first") {
		t.Fatalf("first event %+v; want item 0", e)
	}
	const n = 256
	for range n {
		if err := out.Send(bigItem); err != nil {
			t.Fatal(err)
		}
	}
	_ = out.Close(nil)
	var got []ev
	truncated := false
	for seq := 1; ; {
		e := next()
		got = append(got, ev{e.id, e.name, 0})
		var id, oldest int
		switch {
		case e.name == "end":
			if !truncated || seq != n+1 {
				t.Fatalf("end after %+v; want items to %d, after a truncated event", got, n)
			}
			return
		case e.name == "truncated":
			// id: the one before the oldest kept; data: the oldest kept.
			if _, err := fmt.Sscanf(e.id, "%d/%d", &id, &oldest); err != nil || id != oldest-1 || oldest <= seq {
				t.Fatalf("truncated event %+v after %+v; want id k-1, data k > %d", e, got, seq)
			}
			truncated, seq = true, oldest
		case e.name == "" && e.id == fmt.Sprint(seq) && e.n == len(bigItem):
			seq++
		default:
			t.Fatalf("event %+v after %+v; want item %d, or a truncated event", e, got, seq)
		}
	}
}
