package actor

import (
	"errors"
	"testing"
)

// fakeOwed is a Reply as the set sees it.
type fakeOwed struct {
	sent, done bool
	dropped    error
}

func (f *fakeOwed) isSent() bool   { return f.sent }
func (f *fakeOwed) settled() bool  { return f.done }
func (f *fakeOwed) drop(err error) { f.dropped = err }

// The set of owed replies: what it keeps, what it sweeps, what its stop
// fails.
func TestReplySet(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		sent     bool // Send came before add
		giveUp   bool // each caller gives up right after add
		closed   bool
		wantAdd  bool
		maxKept  int
		wantDrop int // replies the stop fails
	}{
		{"owed replies are kept", 1000, false, false, false, true, 1000, 1000},
		{"callers that gave up are swept", 1000, false, true, false, true, 64, 0},
		{"sent before add", 10, true, false, false, true, 0, 0},
		{"closed", 10, false, false, true, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &replySet{owed: make(map[owed]struct{}), closed: tt.closed}
			all := make([]*fakeOwed, tt.n)
			for i := range all {
				all[i] = &fakeOwed{sent: tt.sent}
				if got := s.add(all[i]); got != tt.wantAdd {
					t.Fatalf("add #%d = %v; want %v", i, got, tt.wantAdd)
				}
				all[i].done = tt.giveUp
				if len(s.owed) > tt.maxKept {
					t.Fatalf("set holds %d after %d adds; want <= %d", len(s.owed), i+1, tt.maxKept)
				}
			}
			var c cell
			s.stop(&c)
			dropped := 0
			for _, o := range all {
				if o.dropped != nil {
					dropped++
					if !errors.Is(o.dropped, ErrStopped) {
						t.Errorf("dropped with %v; want ErrStopped", o.dropped)
					}
				}
			}
			// A swept reply's caller has its outcome: dropping it would do
			// nothing, so the stop may skip it.
			if !tt.giveUp && dropped != tt.wantDrop {
				t.Errorf("stop dropped %d; want %d", dropped, tt.wantDrop)
			}
			if s.add(&fakeOwed{}) {
				t.Error("add after stop = true; want false")
			}
		})
	}
}
