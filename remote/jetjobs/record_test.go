package jetjobs

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/troupe-go/troupe/jobs"
)

// TestWrap: an envelope made by wrap from a record encoded once is the
// bytes json.Marshal writes for it (readers of every release see the
// same format), and decodes to the record and revision it was made of.
func TestWrap(t *testing.T) {
	at := time.Date(2026, 12, 4, 20, 30, 1, 123456789, time.UTC)
	full := jobs.Record{ID: "id <&> \u2028 é", Host: "web", Procedure: "echo", Queue: "q", Concurrency: 3,
		Args: json.RawMessage(`{"a":[1,2]}`), Info: json.RawMessage(`"i"`), MaxExec: time.Second,
		ReadIdle: time.Millisecond, State: jobs.Failed, Submitted: at, Started: at.Add(time.Second),
		Ended: at.Add(2 * time.Second), Value: json.RawMessage(`null`),
		Error: &jobs.RemoteError{Type: "boom", Message: "it broke", Data: json.RawMessage(`{"x":1}`)}, Node: "b"}
	bare := jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Queued, Submitted: at}
	for _, c := range []struct {
		name string
		r    jobs.Record
		rev  uint64
		gen  uint64
	}{{"full", full, 0, 0}, {"full at a revision", full, 1 << 40, 0}, {"bare", bare, 0, 0}, {"bare at a revision", bare, 7, 0},
		{"full of a generation", full, 0, 1 << 40}, {"bare at a revision of a generation", bare, 7, 3}} {
		t.Run(c.name, func(t *testing.T) {
			want, err := json.Marshal(envelope{V: version, Rev: c.rev, Gen: c.gen, Job: c.r})
			if err != nil {
				t.Fatal(err)
			}
			got := wrap(encodeJob(&c.r), c.rev, c.gen)
			if string(got) != string(want) {
				t.Fatalf("wrap: got %s; want %s", got, want)
			}
			if enc := encode(c.r, c.rev, c.gen); string(enc) != string(want) {
				t.Fatalf("encode: got %s; want %s", enc, want)
			}
			e, err := decode("test", got)
			if err != nil || e.V != version || e.Rev != c.rev || e.Gen != c.gen || !reflect.DeepEqual(e.Job, c.r) {
				t.Fatalf("decode: got %+v, %v; want version %d, revision %d, generation %d, %+v", e, err, version, c.rev, c.gen, c.r)
			}
		})
	}
}

// TestDecodeRefusals: the version decides the error of an envelope that
// does not decode — a *VersionError for another version, ErrMalformed
// for this one or none.
func TestDecodeRefusals(t *testing.T) {
	for _, c := range []struct {
		name    string
		data    string
		version int // of the *VersionError wanted; 0: ErrMalformed wanted
	}{
		{"not JSON", `{"not a job`, 0},
		{"empty", ``, 0},
		{"no version", `{"job":{"id":"x","host":"h","procedure":"p"}}`, 0},
		{"null version", `{"v":null,"job":{"id":"x","host":"h","procedure":"p"}}`, 0},
		{"version of another type", `{"v":"1","job":{"id":"x","host":"h","procedure":"p"}}`, 0},
		{"this version, a field of another type", `{"v":1,"job":{"id":"x","host":"h","procedure":"p","state":5}}`, 0},
		{"this version, no procedure", `{"v":1,"job":{"id":"x","host":"h"}}`, 0},
		{"another version", `{"v":99,"job":{"id":"x","host":"h","procedure":"p"}}`, 99},
		{"another version, a field of another type", `{"v":2,"job":{"id":"x","state":5}}`, 2},
		{"another version, no job", `{"v":-1}`, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := decode("test", []byte(c.data))
			var ve *VersionError
			switch {
			case c.version == 0 && (!errors.Is(err, ErrMalformed) || errors.As(err, &ve)):
				t.Fatalf("got %v; want ErrMalformed", err)
			case c.version != 0 && (!errors.As(err, &ve) || ve.Version != c.version || errors.Is(err, ErrMalformed)):
				t.Fatalf("got %v; want a *VersionError of version %d", err, c.version)
			}
		})
	}
}
