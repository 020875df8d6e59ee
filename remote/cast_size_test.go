package remote_test

import (
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/remote"
)

// TestCastAtMaxMessage: a cast as large as the nodes' WithMaxMessage — or
// larger than a batch (64 KiB) but within the default cap — is sent,
// alone, after the casts queued before it, and served: Cast held every
// cast to a batch's room (64 KiB less a frame's length), so these were
// refused with ErrTooLarge though a call of that size goes through.
func TestCastAtMaxMessage(t *testing.T) {
	for _, tt := range []struct {
		name string
		max  int // WithMaxMessage, or 0 for the default
		size int // the encoded cast's size
	}{
		{"exactly the cap", 1024, 1024},
		{"over a batch", 0, 100 << 10},
		{"exactly the default cap", 0, remote.DefaultMaxMessage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t)
			var opts []remote.Option
			if tt.max > 0 {
				opts = append(opts, remote.WithMaxMessage(tt.max))
			}
			rs := newRefusals()
			srv := startNode(t, s.ClientURL(), append(opts, remote.WithRefusalHook(rs.hook))...)
			cli := startNode(t, s.ClientURL(), opts...)
			_, a := export(t, srv, "acct")
			b := remote.Bind(cli, "acct", Echo)
			if err := b.Cast("before"); err != nil {
				t.Fatalf("Cast before: %v", err)
			}
			if err := b.Cast(strings.Repeat("x", tt.size-2)); err != nil { // JSON's quotes make size
				t.Fatalf("Cast of %d bytes: %v", tt.size, err)
			}
			if err := b.Cast("after"); err != nil {
				t.Fatalf("Cast after: %v", err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for a.hits.Load() < 3 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := a.hits.Load(); got != 3 {
				rs.mu.Lock()
				defer rs.mu.Unlock()
				t.Fatalf("served %d casts; want 3 (refusals %+v)", got, rs.got)
			}
		})
	}
}
