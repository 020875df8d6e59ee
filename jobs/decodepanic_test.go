package jobs_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

var plain = actor.NewMethod("plain", func(_ *agent, _ *actor.Ctx, n int) (int, error) { return n, nil })

// TestDecodeWithPanic: a DecodeWith decoder that panics is the args'
// error (ErrBadArgs, wrapping the *actor.PanicError with its stack), not
// a panic in Submit's caller, nor, over HTTP, a connection that net/http
// cuts without an answer (with a backend, the node that runs the job
// decodes too: it would have crashed it).
func TestDecodeWithPanic(t *testing.T) {
	e := newEnv(t, 1)
	if err := jobs.Register(e.d, jobs.Ref("b", e.hosts[0]), plain,
		jobs.DecodeWith(func([]byte) (int, error) { panic("decode boom") })); err != nil {
		t.Fatal(err)
	}
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("Submit panicked: %v", v)
			}
		}()
		_, err = e.d.Submit(bg(t), "b", "plain", json.RawMessage(`1`))
		return err
	}()
	var pe *actor.PanicError
	if !errors.Is(err, jobs.ErrBadArgs) || !errors.As(err, &pe) || len(pe.Stack) == 0 {
		t.Fatalf("Submit: got %v; want ErrBadArgs wrapping a *actor.PanicError", err)
	}
	srv, c := e.server(t)
	code, b := call(t, c, "POST", srv.URL+"/jobs/", `{"host":"b","procedure":"plain","args":1}`)
	var re jobs.RemoteError
	if json.Unmarshal(b, &re) != nil || code != 400 || re.Type != "panic" || !errors.Is(&re, jobs.ErrBadArgs) ||
		!strings.Contains(string(re.Data), "decode boom") {
		t.Fatalf("HTTP submit: got %d %s; want 400, type panic, also bad_args", code, b)
	}
}
