package jetjobs_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/jetjobs"
)

// TestRetentionBytesKeepsEnds: with a small WithRetention byte limit,
// jobs run one after another until their records hold several times the
// limit: every accepted job ends with its real result (a job's end record
// is larger than its submit record, and a records bucket full of ended
// jobs must not refuse it), and a stream job's output is all there.
func TestRetentionBytesKeepsEnds(t *testing.T) {
	const limit = 16 << 10
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, true, jetjobs.WithRetention(time.Hour, limit))
	ctx := ctxTimeout(t, 60*time.Second)
	pad := strings.Repeat("x", 30)
	for i := range 100 {
		if i%4 == 3 {
			j, err := a.d.Submit(ctx, "web", "lines", linesReq{N: 5})
			if err != nil {
				t.Fatalf("job %d: Submit: %v", i, err)
			}
			if _, err := result(t, j); err != nil || j.Status().State != jobs.Done {
				t.Fatalf("job %d (lines): got %v, %s; want done", i, err, j.Status().State)
			}
			f, err := j.Follow(ctx, actor.Since(0))
			must(t, err)
			n := uint64(0)
			for it, err := range f.All() {
				if err != nil {
					t.Fatalf("job %d: follow: %v", i, err)
				}
				if want := fmt.Sprintf(`"line %d"`, n); it.Seq != n || it.V == nil || string(it.V.(json.RawMessage)) != want {
					t.Fatalf("job %d: item: got %d %v; want %d %s", i, it.Seq, it.V, n, want)
				}
				n++
			}
			if n != 5 {
				t.Fatalf("job %d: followed %d items; want 5", i, n)
			}
			continue
		}
		arg := fmt.Sprintf("%s %d", pad, i)
		j, err := a.d.Submit(ctx, "web", "echo", arg)
		if err != nil {
			t.Fatalf("job %d: Submit: %v", i, err)
		}
		v, err := result(t, j)
		if err != nil {
			t.Fatalf("job %d (echo): got %v, %s; want its result", i, err, j.Status().State)
		}
		if want, _ := json.Marshal(arg + "!"); string(v.(json.RawMessage)) != string(want) {
			t.Fatalf("job %d (echo): got %s; want %s", i, v, want)
		}
	}
	// The records held more than the limit: it was passed, not avoided.
	js, err := jetstream.New(a.nc)
	must(t, err)
	kv, err := js.KeyValue(ctx, "jobs_jobs")
	must(t, err)
	st, err := kv.Status(ctx)
	must(t, err)
	if st.Bytes() <= limit {
		t.Fatalf("the records hold %d bytes; the test wants more than %d", st.Bytes(), limit)
	}
}
