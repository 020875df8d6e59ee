package jobs_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

// touchy is a value whose MarshalJSON panics for "bad".
type touchy string

func (t touchy) MarshalJSON() ([]byte, error) {
	if t == "bad" {
		panic("marshal boom")
	}
	return json.Marshal(string(t))
}

var (
	touchyResult = actor.NewMethod("touchy_result", func(_ *agent, _ *actor.Ctx, s touchy) (touchy, error) { return s, nil })
	touchyItems  = actor.NewStream("touchy_items", func(_ *agent, _ *actor.Ctx, _ int, out *actor.Out[touchy]) error {
		_ = out.Send("ok")
		_ = out.Send("bad")
		return out.Close(nil)
	})
)

// TestMarshalPanic: a value whose MarshalJSON panics (user code run as
// the dispatcher encodes: a job's args, info, result or output item) is
// that value's encoding error, carrying the *actor.PanicError: not, over
// HTTP, a connection that net/http cuts without an answer, nor a panic
// in Submit's caller (Info), nor, with a backend, a panic on the job's
// goroutine as its result is reported (which would crash the node).
func TestMarshalPanic(t *testing.T) {
	e := newEnv(t, 1)
	h := jobs.Ref("b", e.hosts[0])
	if err := errors.Join(jobs.Register(e.d, h, touchyResult), jobs.RegisterStream(e.d, h, touchyItems)); err != nil {
		t.Fatal(err)
	}
	noPanic := func(what string, f func() error) error {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("%s panicked: %v", what, v)
			}
		}()
		return f()
	}
	var pe *actor.PanicError
	if err := noPanic("Submit with Info", func() error {
		_, err := e.d.Submit(bg(t), "b", "touchy_result", touchy("ok"), jobs.Info(touchy("bad")))
		return err
	}); !errors.Is(err, jobs.ErrInvalidOption) || !errors.As(err, &pe) {
		t.Fatalf("Submit with Info: got %v; want ErrInvalidOption wrapping a *actor.PanicError", err)
	}
	j := e.submit(t, "b", "touchy_result", touchy("bad"), jobs.ID("r"))
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	s := e.submit(t, "b", "touchy_items", 0, jobs.ID("s"))
	if _, err := result(t, s); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/jobs/", jobs.Handler(e.d))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()
	get := func(path string) (int, string) {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v; want an answer", path, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("GET %s: %v; want the body whole", path, err)
		}
		return res.StatusCode, string(b)
	}
	if code, b := get("/jobs/r/result"); code != 200 || !strings.Contains(b, `"type":"panic"`) || !strings.Contains(b, "marshal boom") {
		t.Fatalf("result: got %d %s; want 200 with an error of type panic", code, b)
	}
	if code, b := get("/jobs/r"); code != 200 || strings.Contains(b, `"args"`) {
		t.Fatalf("status: got %d %s; want 200 without the args (they do not encode)", code, b)
	}
	if code, b := get("/jobs/?host=b"); code != 200 || !strings.Contains(b, `"id":"r"`) {
		t.Fatalf("list: got %d %s; want 200 with job r", code, b)
	}
	if code, b := get("/jobs/s/output?follow=0"); code != 200 || !strings.Contains(b, `"value":"ok"`) || !strings.Contains(b, "marshal boom") {
		t.Fatalf("output: got %d %s; want item 0, then an end naming the panic", code, b)
	}

	// With a backend: the result is encoded for the store on the job's goroutine.
	end := execEnd(t, func(d *jobs.Dispatcher, h jobs.Host[*agent]) error { return jobs.Register(d, h, touchyResult) },
		jobs.Record{ID: "x", Host: "h", Procedure: "touchy_result", Args: json.RawMessage(`"bad"`), State: jobs.Running})
	if end.State != jobs.Failed || end.Error == nil || end.Error.Type != "panic" {
		t.Fatalf("backend record: got %s, %v; want failed with an error of type panic", end.State, fmt.Sprint(end.Error))
	}
}
