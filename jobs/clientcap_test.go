package jobs_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/jobs"
)

// TestClientResponseCap: the Client reads at most its cap of a response
// (WithMaxResponse), past which the call returns ErrTooLarge, and of each
// line of an output, however long the whole output. It read every body
// whole (io.ReadAll, json.Decoder), so a broken or hostile server could
// make it hold any amount of memory.
func TestClientResponseCap(t *testing.T) {
	const max = 64 << 10
	big := strings.Repeat("a", 4<<20) // a JSON string 64 times the cap
	mux := http.NewServeMux()
	// A status with a huge field.
	mux.HandleFunc("GET /jobs/huge", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"id":"huge","state":"running","pad":"`+big+`"}`)
	})
	// An error answer with a huge message.
	mux.HandleFunc("GET /jobs/hugeerr", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"type":"not_found","message":"`+big+`"}`)
	})
	// A long output of small items: the whole is past the cap.
	const items = 4 * max / 16
	mux.HandleFunc("GET /jobs/long/output", func(w http.ResponseWriter, _ *http.Request) {
		var b strings.Builder
		for i := range items {
			fmt.Fprintf(&b, "{\"seq\":%d,\"value\":\"item %06d\"}\n", i, i)
		}
		b.WriteString(`{"end":true,"state":"done"}` + "\n")
		_, _ = io.WriteString(w, b.String())
	})
	// An output whose second item is huge (and has no end).
	mux.HandleFunc("GET /jobs/hugeline/output", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"seq":0,"value":"ok"}`+"\n"+`{"seq":1,"value":"`+big+`"}`+"\n")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cl, err := jobs.NewClient(srv.URL+"/jobs", jobs.WithHTTPClient(srv.Client()), jobs.WithMaxResponse(max))
	if err != nil {
		t.Fatal(err)
	}
	ctx := bg(t)

	if st, err := cl.Job("huge").Status(ctx); !errors.Is(err, jobs.ErrTooLarge) {
		t.Errorf("Status of a %d-byte answer (cap %d): got %+v, %v; want ErrTooLarge", len(big), max, st.State, err)
	}
	if _, err := cl.Job("hugeerr").Status(ctx); !errors.Is(err, jobs.ErrTooLarge) {
		t.Errorf("Status of a huge error answer: got an error of %d bytes; want ErrTooLarge", len(err.Error()))
	}

	n := 0
	for it, err := range cl.Job("long").Follow(ctx) {
		if err != nil {
			t.Fatalf("Follow of a long output, after %d items: %v", n, err)
		}
		if it.Seq != uint64(n) {
			t.Fatalf("item %d has seq %d", n, it.Seq)
		}
		n++
	}
	if n != items {
		t.Fatalf("Follow of a long output: %d items, want %d", n, items)
	}
	got, err := cl.Job("long").Collected(ctx)
	if len(got) != items || err != io.EOF {
		t.Fatalf("Collected of a long output: %d items, %v; want %d, io.EOF", len(got), err, items)
	}

	n = 0
	var last error
	for _, err := range cl.Job("hugeline").Follow(ctx) {
		if err != nil {
			last = err
			break
		}
		n++
	}
	if n != 1 || !errors.Is(last, jobs.ErrTooLarge) {
		t.Errorf("Follow of an output whose item 1 is %d bytes (cap %d): %d items, then %v; want 1, then ErrTooLarge", len(big), max, n, last)
	}
	if _, err := cl.Job("hugeline").Collected(ctx); !errors.Is(err, jobs.ErrTooLarge) {
		t.Errorf("Collected of it: %v; want ErrTooLarge", err)
	}

	if _, err := jobs.NewClient(srv.URL, jobs.WithMaxResponse(0)); !errors.Is(err, jobs.ErrInvalidOption) {
		t.Errorf("NewClient with a cap of 0: %v; want ErrInvalidOption", err)
	}
}
