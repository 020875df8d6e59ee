package remote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/actor"
)

func TestChain(t *testing.T) {
	tests := []struct {
		chain, id string
		want      bool
	}{
		{"", "n/1", false},
		{"n/1", "n/1", true},
		{"n/1,m/2", "m/2", true},
		{"n/1,m/2", "m/", false},
		{"n/10", "n/1", false},
		{"n/1,n/10", "n/10", true},
	}
	for _, tt := range tests {
		if got := chainHas(tt.chain, tt.id); got != tt.want {
			t.Errorf("chainHas(%q, %q) = %v; want %v", tt.chain, tt.id, got, tt.want)
		}
	}
	c := ""
	for i := range maxChain + 10 {
		c = appendChain(c, fmt.Sprintf("n/%d", i))
	}
	if got := strings.Count(c, ",") + 1; got != maxChain {
		t.Fatalf("chain grew to %d ids; want at most %d", got, maxChain)
	}
}

func TestCodes(t *testing.T) {
	tests := []struct {
		err  error
		code string
		is   error
	}{
		{actor.ErrStopped, CodeStopped, actor.ErrStopped},
		{fmt.Errorf("x: %w", actor.ErrTimeout), CodeTimeout, actor.ErrTimeout},
		{actor.ErrCallCycle, CodeCycle, actor.ErrCallCycle},
		{actor.ErrMailboxFull, CodeMailboxFull, actor.ErrMailboxFull},
		{actor.ErrDropped, CodeMailboxFull, actor.ErrMailboxFull},
		{&actor.PanicError{Value: 1}, CodePanic, nil},
		{errors.New("plain"), CodeHandler, nil},
		{&CodedError{Code: "mine", Err: errors.New("x")}, "mine", ErrRemote},
		{&CodedError{Code: CodeStopped, Err: errors.New("spoof")}, CodeHandler, nil}, // ours are not for handlers
		{&CodedError{Code: "has space", Err: errors.New("x")}, CodeHandler, nil},
	}
	for _, tt := range tests {
		code := codeOf(tt.err)
		if code != tt.code {
			t.Errorf("codeOf(%v) = %q; want %q", tt.err, code, tt.code)
		}
		e := &Error{Code: code}
		if tt.is != nil && code != CodePanic && !errors.Is(e, tt.is) {
			t.Errorf("Error{Code: %q} does not match %v", code, tt.is)
		}
	}
}

func TestFrames(t *testing.T) {
	var body []byte
	for _, s := range []string{"a", "", "ccc"} {
		body = binary.AppendUvarint(body, uint64(len(s)))
		body = append(body, s...)
	}
	var got []string
	if err := frames(body, 3, func(b []byte) error { got = append(got, string(b)); return nil }); err != nil {
		t.Fatalf("frames: %v", err)
	}
	if strings.Join(got, "|") != "a||ccc" {
		t.Fatalf("frames = %q; want a, empty, ccc", got)
	}
	for _, tt := range []struct {
		body  []byte
		count int
	}{
		{body, 4}, {body, 2}, {[]byte{0x80}, 1}, {[]byte{5, 'a'}, 1},
	} {
		if err := frames(tt.body, tt.count, func([]byte) error { return nil }); !errors.Is(err, ErrBadRequest) {
			t.Errorf("frames(%v, %d) = %v; want ErrBadRequest", tt.body, tt.count, err)
		}
	}
}

func TestTimeoutHeader(t *testing.T) {
	for _, d := range []time.Duration{0, -1, time.Hour, 1} {
		got, ok := decodeTimeout(encodeTimeout(d))
		if !ok || got != d {
			t.Errorf("round trip of %v = %v, %v", d, got, ok)
		}
	}
	for _, s := range []string{"", "x", "1s", "99999999999999999999"} {
		if _, ok := decodeTimeout(s); ok {
			t.Errorf("decodeTimeout(%q) ok; want not ok", s)
		}
	}
}

func TestSemver(t *testing.T) {
	tests := []struct {
		a, b string
		less bool
	}{
		{"1.0.0", "1.2.0", true},
		{"1.10.0", "1.9.0", false},
		{"2.0.0-rc1", "2.0.1", true},
		{"1.0.0", "1.0.0", false},
	}
	for _, tt := range tests {
		if got := semverLess(tt.a, tt.b); got != tt.less {
			t.Errorf("semverLess(%s, %s) = %v; want %v", tt.a, tt.b, got, tt.less)
		}
	}
}

// A change the watcher delivers while a claim is being created (its
// Create has not returned) does not lose it: it may be older than the
// Create, such as the delete that freed the name, delivered late (TestClaim
// lost its fresh claim, and its actor, to one about once in ten runs).
// Once created, someone else's change loses it, and stops its actor.
func TestNameChangedDuringCreate(t *testing.T) {
	n := &Node{id: "n2", claimMark: claimValue("n2", "p1")}
	killed := 0
	c := &claim{name: "u1", kill: func() { killed++ }}
	r := &names{claims: map[string]*claim{"u1": c}}
	n.nameChanged(r, "u1", jetstream.KeyValueDelete, 7, nil)
	if killed != 0 || r.claims["u1"] != c {
		t.Fatal("a claim being created was lost to a change delivered during its Create")
	}
	c.rev = 8
	n.nameChanged(r, "u1", jetstream.KeyValuePut, 8, []byte(n.claimMark)) // our own write
	if killed != 0 {
		t.Fatal("a claim was lost to its own write")
	}
	n.nameChanged(r, "u1", jetstream.KeyValuePut, 9, []byte(claimValue("n2", "p2"))) // a twin's
	if killed != 1 || r.claims["u1"] != nil {
		t.Fatalf("someone else's write: killed %d times, claim kept %v; want lost once", killed, r.claims["u1"] != nil)
	}
}

// TestEarlyCancelBounded: a cancel's body is a reply subject; one that
// cannot be (over maxRefSubject, or not a literal subject) names no call
// and is not remembered, so that cancels from a careless or hostile client
// (every node gets every cancel) cannot make a node keep earlyCancels
// bodies of up to the server's maximum payload (a GiB at 1 MiB each).
func TestEarlyCancelBounded(t *testing.T) {
	n := &Node{serving: map[string]canceler{}, early: &earlyCancel{set: map[string]struct{}{}}}
	big := strings.Repeat("x", 64<<10)
	for i := range 100 {
		n.onCancel(&nats.Msg{Data: []byte(fmt.Sprintf("%s.%d", big, i))})
	}
	for _, bad := range []string{"", "a b.1", "a.*", "a..b", "a.>"} {
		n.onCancel(&nats.Msg{Data: []byte(bad)})
	}
	kept := 0
	for s := range n.early.set {
		kept += len(s)
	}
	if kept != 0 {
		t.Fatalf("%d bytes of cancels kept for subjects no call can have; want 0", kept)
	}
	n.onCancel(&nats.Msg{Data: []byte("_INBOX.abc.7")})
	if !n.early.takeLocked("_INBOX.abc.7") {
		t.Fatal("a cancel of a reply subject was not remembered")
	}
}
