package remote_test

import (
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// Touchy is a request whose decoding panics on "boom", and a reply whose
// encoding panics when it is "boom": a type's own UnmarshalJSON and
// MarshalJSON, as the codec calls them.
type Touchy string

func (t *Touchy) UnmarshalJSON(b []byte) error {
	if string(b) == `"boom"` {
		panic("touchy request")
	}
	*t = Touchy(b)
	return nil
}

func (t Touchy) MarshalJSON() ([]byte, error) {
	if t == "boom" {
		panic("touchy reply")
	}
	return []byte(`"ok"`), nil
}

// TouchyIn and TouchyOut are served; PlainIn and PlainOut call them with
// plain strings, Touchy's wire form.
var (
	TouchyIn  = actor.NewMethod("in", func(a *Acct, c *actor.Ctx, t Touchy) (string, error) { a.hits.Add(1); return "in", nil })
	TouchyOut = actor.NewMethod("out", func(a *Acct, c *actor.Ctx, s string) (Touchy, error) { return Touchy(s), nil })
	PlainIn   = actor.NewMethod("in", func(a *Acct, c *actor.Ctx, s string) (string, error) { return "", nil })
	PlainOut  = actor.NewMethod("out", func(a *Acct, c *actor.Ctx, s string) (string, error) { return "", nil })
)

// TestCodecPanics: a request whose decoding panics on the serving node is
// refused as malformed (ErrBadRequest), a cast so too (reported), and a
// reply whose encoding panics is answered as an encoding error; the node
// serves on. They ran unguarded on the node's goroutines (the endpoint's
// subscription, the served call's): any caller could end the serving
// node's process with a request its types choke on.
func TestCodecPanics(t *testing.T) {
	s := startServer(t)
	rs := newRefusals()
	srv := startNode(t, s.ClientURL(), remote.WithRefusalHook(rs.hook))
	cli := startNode(t, s.ClientURL())
	a := newAcct()
	ref, err := actor.Spawn(srv.Runtime(), a)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(srv, "touchy", ref, remote.Serve(TouchyIn), remote.Serve(TouchyOut)); err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 10*time.Second)
	in, out := remote.Bind(cli, "touchy", PlainIn), remote.Bind(cli, "touchy", PlainOut)
	if _, err := in.Call(ctx, "boom"); !errors.Is(err, remote.ErrBadRequest) {
		t.Fatalf("request whose decoding panics: got %v; want ErrBadRequest", err)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonMalformed {
		t.Fatalf("refusal %+v; want malformed", r)
	}
	if err := in.Cast("boom"); err != nil {
		t.Fatalf("Cast: %v", err)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonMalformed {
		t.Fatalf("refusal %+v; want the cast malformed", r)
	}
	var re *remote.Error
	if _, err := out.Call(ctx, "boom"); !errors.As(err, &re) || re.Code != remote.CodeHandler {
		t.Fatalf("reply whose encoding panics: got %v; want a *remote.Error, code handler", err)
	}
	if got, err := in.Call(ctx, "fine"); err != nil || got != "in" {
		t.Fatalf("Call after the panics: got %q, %v; want in", got, err)
	}
}

// TouchyReply calls Echo with a reply type whose decoding panics on
// "boom".
var TouchyReply = actor.NewMethod("echo", func(a *Acct, c *actor.Ctx, s string) (Touchy, error) { return "", nil })

// TestReplyDecodePanics: a reply whose decoding panics on the calling
// node is ErrCodec to its caller, not a panic in the caller's goroutine
// (the bytes are the serving node's).
func TestReplyDecodePanics(t *testing.T) {
	_, cli, _, _ := pair(t)
	ctx := ctxTimeout(t, 10*time.Second)
	b := remote.Bind(cli, "acct", TouchyReply)
	if _, err := b.Call(ctx, "boom"); !errors.Is(err, remote.ErrCodec) {
		t.Fatalf("Call whose reply's decoding panics: got %v; want ErrCodec", err)
	}
	if _, err := b.Ask(ctx, "boom").Await(ctx); !errors.Is(err, remote.ErrCodec) {
		t.Fatalf("Ask whose reply's decoding panics: got %v; want ErrCodec", err)
	}
}
