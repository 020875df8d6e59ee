package serve_test

import (
	"bufio"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// event is a server-sent event as EventSource sees it.
type event struct{ id, name, data string }

// readEvents parses an event stream until its end.
func readEvents(t *testing.T, r io.Reader) []event {
	t.Helper()
	var evs []event
	var ev event
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			evs = append(evs, ev)
			ev = event{}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.id = value
		case "event":
			ev.name = value
		case "data":
			if ev.data != "" {
				value = "\n" + value
			}
			ev.data += value
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	return evs
}

// An SSE item that cannot be encoded (encode's error, or its panic) is an
// event named "skipped" with the item's id and the error as data, and
// the stream goes on: an EventSource, which reconnects after any end
// but "end"'s, resumes after it. It used to end the stream with an
// "error" event before the item: the EventSource reconnected with the
// last id before it, hit it again, and so on for ever.
func TestSSESkipsUnencodableItem(t *testing.T) {
	rt := testkit.NewRuntime(t)
	ref, err := actor.Spawn(rt, &Log{})
	if err != nil {
		t.Fatal(err)
	}
	items := func(*http.Request) ([]touchy, error) { return []touchy{"ok", "bad", "panic", "after"}, nil }
	encode := func(v touchy) ([]byte, error) {
		switch v {
		case "bad":
			return nil, errors.New("cannot encode")
		case "panic":
			panic("encode boom")
		}
		return []byte(v), nil
	}
	srv := httptest.NewUnstartedServer(serve.SSE(Touchy, serve.To(ref), items, encode))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()

	// An EventSource: it reconnects, with the last id it saw, until the
	// "end" event.
	var got []event
	lastID := ""
	for conns := 1; ; conns++ {
		if conns > 3 {
			t.Fatalf("still no end after %d connections, at Last-Event-ID %q: %+v", conns-1, lastID, got)
		}
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		evs := readEvents(t, res.Body)
		res.Body.Close()
		ended := false
		for _, ev := range evs {
			got = append(got, ev)
			if ev.id != "" {
				lastID = ev.id
			}
			ended = ended || ev.name == "end"
		}
		if ended {
			break
		}
	}
	want := []event{
		{"0", "", "ok"},
		{"1", "skipped", "cannot encode"},
		{"2", "skipped", "actor: serve.encode panicked: encode boom"},
		{"3", "", "after"},
		{"", "end", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d: got %+v; want %+v", i, got[i], want[i])
		}
	}
}
