package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
)

func TestTransitionTable(t *testing.T) {
	tbl, err := transitions()
	if err != nil {
		t.Fatalf("the job machine: %v", err)
	}
	allowed := map[[2]State]bool{
		{Queued, Running}: true, {Queued, Cancelled}: true,
		{Running, Done}: true, {Running, Failed}: true, {Running, Cancelled}: true, {Running, Expired}: true,
	}
	all := []State{Queued, Running, Done, Failed, Cancelled, Expired, "bogus"}
	for _, from := range all {
		for _, to := range all {
			err := tbl.check(from, to)
			if allowed[[2]State{from, to}] {
				if err != nil {
					t.Errorf("%s → %s: got %v; want allowed", from, to, err)
				}
				continue
			}
			var te *fsm.TransitionError[State]
			want := fsm.ErrInvalidTransition
			if from.Terminal() {
				want = fsm.ErrTerminal
			}
			if !errors.As(err, &te) || !errors.Is(err, want) || te.From != from || te.To != to {
				t.Errorf("%s → %s: got %v; want a *fsm.TransitionError wrapping %v", from, to, err, want)
			}
		}
	}
}

func TestWireTypes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		typ  string
		code int
	}{
		{ErrNotFound, "not_found", http.StatusNotFound},
		{ErrConflict, "conflict", http.StatusConflict},
		{ErrTooLarge, "too_large", http.StatusRequestEntityTooLarge},
		{ErrQueueFull, "queue_full", http.StatusTooManyRequests},
		{ErrUnknownHost, "unknown_host", http.StatusBadRequest},
		{ErrUnknownProcedure, "unknown_procedure", http.StatusBadRequest},
		{ErrBadArgs, "bad_args", http.StatusBadRequest},
		{ErrInvalidID, "invalid_id", http.StatusBadRequest},
		{ErrInvalidOption, "invalid_option", http.StatusBadRequest},
		{ErrBadRequest, "bad_request", http.StatusBadRequest},
		{ErrUnauthorized, "unauthorized", http.StatusUnauthorized},
		{ErrMethodNotAllowed, "method_not_allowed", http.StatusMethodNotAllowed},
		{ErrClosed, "closed", http.StatusServiceUnavailable},
		{ErrNotFinished, "not_finished", http.StatusInternalServerError},
		{ErrCancelled, "cancelled", http.StatusInternalServerError},
		{errClosedCancel, "cancelled", http.StatusServiceUnavailable},
		{ErrMaxExec, "max_exec", http.StatusInternalServerError},
		{ErrReadIdle, "read_idle", http.StatusInternalServerError},
		{ErrExpired, "expired", http.StatusInternalServerError},
		{ErrUnreachable, "unreachable", http.StatusInternalServerError},
		{ErrDuplicate, "duplicate", http.StatusInternalServerError},
		{errors.New("anything"), "error", http.StatusInternalServerError},
		{&actor.PanicError{Method: "m", Value: "v"}, "panic", http.StatusInternalServerError},
		{&actor.TruncatedError{Oldest: 3}, "truncated", http.StatusInternalServerError},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			wrapped := fmt.Errorf("context: %w", tc.err)
			re := Remote(wrapped)
			if re.Type != tc.typ || re.Message != wrapped.Error() {
				t.Fatalf("Remote: got %+v; want type %q, the error's text", re, tc.typ)
			}
			if code := statusOf(wrapped); code != tc.code {
				t.Fatalf("status: got %d; want %d", code, tc.code)
			}
			target := tc.err
			switch {
			case tc.typ == "truncated":
				target = actor.ErrTruncated
			case tc.err == errClosedCancel: // type cancelled, also closed
				if !errors.Is(re, ErrCancelled) || !errors.Is(re, ErrClosed) || !slices.Equal(re.Also, []string{"closed"}) {
					t.Fatalf("got %+v; want also [closed], matching ErrCancelled and ErrClosed", re)
				}
				target = ErrClosed
			}
			if _, ok := sentinelOf[tc.typ]; ok && !errors.Is(re, target) {
				t.Fatalf("the RemoteError does not match %v", tc.err)
			}
		})
	}
	if !errors.Is(&RemoteError{Type: "max_exec"}, ErrExpired) || errors.Is(&RemoteError{Type: "expired"}, ErrMaxExec) {
		t.Fatal("max_exec must match ErrExpired, and expired not ErrMaxExec")
	}
	if !errors.Is(&RemoteError{Type: "truncated"}, actor.ErrTruncated) {
		t.Fatal("truncated must match actor.ErrTruncated")
	}
	own := &RemoteError{Type: "disk_full", Message: "no space", Data: []byte(`{"free":0}`)}
	if got := Remote(fmt.Errorf("x: %w", own)); got != own {
		t.Fatalf("a procedure's own RemoteError: got %+v; want it as it is", got)
	}
	if Remote(nil) != nil {
		t.Fatal("Remote(nil) is not nil")
	}
}

// TestRemoteSentinelsRoundTrip: an error wrapping two sentinels (a job
// cancelled as its dispatcher closed: ErrCancelled and ErrClosed; a store
// round trip after the stop: ErrClosed and ErrNotFound or
// ErrUnavailable; …) is, once sent as JSON and read back, a RemoteError
// that matches with errors.Is exactly the sentinels the error matches.
// Only its first sentinel's type was sent: the others did not match.
func TestRemoteSentinelsRoundTrip(t *testing.T) {
	all := append(slices.Clip(wireSentinels), struct {
		err error
		typ string
	}{&actor.TruncatedError{Oldest: 7}, typeTruncated}, struct {
		err error
		typ string
	}{&actor.PanicError{Method: "m", Value: "v"}, typePanic})
	for _, a := range all {
		for _, b := range all {
			for _, err := range []error{
				fmt.Errorf("%w: %w", a.err, b.err),
				fmt.Errorf("%w: %w", Remote(a.err), b.err), // a procedure's own RemoteError, wrapped
			} {
				wire, jerr := json.Marshal(Remote(err))
				var re RemoteError
				if jerr != nil || json.Unmarshal(wire, &re) != nil {
					t.Fatalf("%v: %s, %v", err, wire, jerr)
				}
				for _, s := range wireSentinels {
					if l, r := errors.Is(err, s.err), errors.Is(&re, s.err); l != r {
						t.Errorf("%v: errors.Is(%v): %v in process, %v read back from %s", err, s.err, l, r, wire)
					}
				}
			}
		}
	}
}

// TestErrorAnswer: an error answer is the troupe error its body holds;
// without one it is ErrBadResponse, and also the sentinel of a status
// that refuses the request whoever sent it (nothing was done); a bare 404
// or 503 is not ErrNotFound or ErrClosed (it says nothing of the
// dispatcher).
func TestErrorAnswer(t *testing.T) {
	for _, tc := range []struct {
		code int
		body string
		typ  string // the *RemoteError's type, "" for none
		bad  bool   // ErrBadResponse
	}{
		{404, `{"type":"not_found","message":"m"}`, "not_found", false},
		{503, `{"type":"closed","message":"m"}`, "closed", false},
		{404, `not json`, "", true},
		{409, ``, "", true},
		{413, `<html>`, "too_large", true},
		{429, ``, "queue_full", true},
		{401, ``, "unauthorized", true},
		{403, ``, "unauthorized", true},
		{405, ``, "method_not_allowed", true},
		{400, ``, "bad_request", true},
		{503, ``, "", true},
		{502, ``, "", true},
		{500, `{"type":""}`, "", true},
	} {
		err := errorAnswer("GET", "u", tc.code, []byte(tc.body))
		var re *RemoteError
		typ := ""
		if errors.As(err, &re) {
			typ = re.Type
		}
		if typ != tc.typ || errors.Is(err, ErrBadResponse) != tc.bad {
			t.Errorf("%d %q: got %v (type %q); want type %q, ErrBadResponse %v", tc.code, tc.body, err, typ, tc.typ, tc.bad)
		}
	}
}

// TestOutcomeBeforeDone: between a job's end (its state, under its lock)
// and the close of done (after its output is closed, on the goroutine
// that ended it), Status already shows the end: Result must give the
// outcome too, not ErrNotFinished, and the HTTP output's end line, written
// once the output has ended, must carry the job's error. The job here is
// in that window.
func TestOutcomeBeforeDone(t *testing.T) {
	j := &Job{id: "j", state: Failed, err: errors.New("boom"), done: make(chan struct{})}
	if _, err := j.Result(t.Context(), false); err == nil || err.Error() != "boom" {
		t.Errorf("Result: got %v; want boom (Status says %s)", err, j.Status().State)
	}
	if e := endOf(t.Context(), j); !e.End || e.State != Failed || e.Error == nil || e.Error.Message != "boom" {
		t.Errorf("the end line: got %+v; want end, failed, boom", e)
	}
}

// TestRemoteTruncatedAs: errors.As makes a RemoteError of type
// "truncated" with its data's oldest (as any server sends it) an
// *actor.TruncatedError; no other type, target or data.
func TestRemoteTruncatedAs(t *testing.T) {
	var te *actor.TruncatedError
	re := Remote(fmt.Errorf("x: %w", &actor.TruncatedError{Oldest: 9}))
	if !errors.As(fmt.Errorf("y: %w", re), &te) || te.Oldest != 9 {
		t.Fatalf("got %v, %+v; want Oldest 9", re, te)
	}
	for _, e := range []*RemoteError{
		nil,
		{Type: "truncated"},
		{Type: "truncated", Data: []byte(`{}`)},
		{Type: "truncated", Data: []byte(`{"oldest":-1}`)},
		{Type: "error", Data: []byte(`{"oldest":3}`)},
		{Type: "closed", Also: []string{"truncated"}, Data: []byte(`{"oldest":3}`)},
	} {
		te = nil
		if errors.As(e, &te) || te != nil {
			t.Fatalf("%+v: errors.As gave %+v; want no *actor.TruncatedError", e, te)
		}
	}
	var pe *actor.PanicError
	if errors.As(re, &pe) {
		t.Fatal("a truncation is no *actor.PanicError")
	}
}
