package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

// strictPair decodes a pair, refusing empty input, as a DecodeWith
// decoder may.
func strictPair(b []byte) (pair, error) {
	var p pair
	if len(b) == 0 {
		return p, errors.New("no input")
	}
	return p, json.Unmarshal(b, &p)
}

// TestEmptyArgs: empty JSON args (no bytes, or only whitespace) are the
// procedure's zero value, as nil args are, in memory and with a backend,
// whatever the procedure's decoder. With a backend they were ErrBadArgs
// (not valid JSON), while in memory they were the zero value; and a
// DecodeWith decoder was handed the empty input (ErrBadArgs if it
// refused it), while nil args never reached it.
func TestEmptyArgs(t *testing.T) {
	empties := map[string]any{"RawMessage{}": json.RawMessage{}, "[]byte{}": []byte{}, "spaces": json.RawMessage(" \n\t")}
	ctx := context.Background()

	t.Run("memory", func(t *testing.T) {
		e := newEnv(t, 1)
		if err := jobs.Register(e.d, jobs.Ref("a0", e.hosts[0]), add, jobs.As("add_strict"), jobs.DecodeWith(strictPair)); err != nil {
			t.Fatal(err)
		}
		for name, args := range empties {
			for _, proc := range []string{"add", "add_strict"} {
				j, err := e.d.Submit(ctx, "a0", proc, args)
				if err != nil {
					t.Errorf("%s with %s args: %v; want the zero value's job", proc, name, err)
					continue
				}
				if v, err := result(t, j); v != 0 || err != nil {
					t.Errorf("%s with %s args: got %v, %v; want 0", proc, name, v, err)
				}
			}
		}
	})

	t.Run("backend", func(t *testing.T) {
		rt := testkit.NewRuntime(t)
		b := &submitBackend{recs: map[string]jobs.Record{}}
		d, err := jobs.New(rt, jobs.WithBackend(b))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		ref, err := actor.Spawn(rt, &agent{p: &probe{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := jobs.Register(d, jobs.Ref("here", ref), add); err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{"here", "elsewhere"} { // registered on this node, or on another
			nj, err := d.Submit(ctx, host, "add", nil, jobs.ID("nil-"+host))
			if err != nil {
				t.Fatal(err)
			}
			for name, args := range empties {
				j, err := d.Submit(ctx, host, "add", args)
				if err != nil {
					t.Errorf("%s: with %s args: %v; want them stored as nil args are", host, name, err)
					continue
				}
				b.mu.Lock()
				got, want := b.recs[j.ID()].Args, b.recs[nj.ID()].Args
				b.mu.Unlock()
				if !bytes.Equal(got, want) {
					t.Errorf("%s: %s args stored as %q; nil args as %q", host, name, got, want)
				}
				// The same id again with empty args: the same job.
				if again, err := d.Submit(ctx, host, "add", args, jobs.ID("nil-"+host)); err != nil || again.ID() != nj.ID() {
					t.Errorf("%s: nil args' id again with %s args: %v, %v; want that job", host, name, again, err)
				}
			}
		}
	})
}
