package remote_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Busy holds its actor's turn until released; Lines streams N lines and
// ends.
type Busy struct {
	held    chan struct{}
	release chan struct{}
}

var (
	BusyWait = actor.NewMethod("wait", func(b *Busy, c *actor.Ctx, _ int) (int, error) {
		b.held <- struct{}{}
		<-b.release
		return 0, nil
	})
	Lines = actor.NewStream("lines", func(b *Busy, c *actor.Ctx, n int, out *actor.Out[string]) error {
		for i := range n {
			if err := out.Send(fmt.Sprintf("line %d", i)); err != nil {
				return err
			}
		}
		return out.Close(nil)
	})
)

// TestStreamOpenCallerDeadline: the open of a remote stream whose actor is
// busy past the call timeouts (the serving runtime's, the calling node's:
// 1 s each here) waits as long as the caller does — its ctx's deadline, or
// its node's WithCallTimeout — and then delivers; and the serving node's
// WithMaxDeadline still bounds it.
func TestStreamOpenCallerDeadline(t *testing.T) {
	tests := []struct {
		name    string
		ctx     time.Duration // the caller's ctx deadline, 0: none
		cli     time.Duration // the calling node's WithCallTimeout
		max     time.Duration // the serving node's WithMaxDeadline, 0: default
		wantErr error
	}{
		{name: "ctx deadline", ctx: 30 * time.Second, cli: time.Second},
		{name: "WithCallTimeout", cli: 30 * time.Second},
		{name: "WithMaxDeadline", ctx: 30 * time.Second, cli: time.Second, max: time.Second, wantErr: remote.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t)
			rt, err := troupe.New(troupe.WithCallTimeout(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rt.Close() })
			opts := []remote.Option{remote.WithURL(s.ClientURL())}
			if tt.max > 0 {
				opts = append(opts, remote.WithMaxDeadline(tt.max))
			}
			srv, err := remote.Start(context.Background(), rt, opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Close() })
			cli := startNode(t, s.ClientURL(), remote.WithCallTimeout(tt.cli))
			b := &Busy{held: make(chan struct{}, 1), release: make(chan struct{})}
			ref, err := actor.Spawn(rt, b)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Export(srv, "busy", ref, remote.ServeStream(Lines)); err != nil {
				t.Fatal(err)
			}
			if err := BusyWait.Cast(ref, 0); err != nil {
				t.Fatal(err)
			}
			<-b.held
			released := false
			defer func() {
				if !released {
					close(b.release)
				}
			}()
			ctx := context.Background()
			if tt.ctx > 0 {
				ctx = ctxTimeout(t, tt.ctx)
			}
			type result struct {
				f   *remote.Follow[string]
				err error
			}
			got := make(chan result, 1)
			go func() {
				f, err := remote.BindStream(cli, "busy", Lines).Open(ctx, 3)
				got <- result{f, err}
			}()
			// Once the open waits at the actor, the actor stays busy
			// twice as long as the timeouts.
			var res result
			for ref.Queued() < 1 && len(got) == 0 {
				time.Sleep(time.Millisecond)
			}
			select {
			case res = <-got:
			case <-time.After(2 * time.Second):
				close(b.release)
				released = true
				res = <-got
			}
			if tt.wantErr != nil {
				if !errors.Is(res.err, tt.wantErr) {
					t.Fatalf("Open: got %v; want %v", res.err, tt.wantErr)
				}
				return
			}
			if res.err != nil {
				t.Fatalf("Open: %v (released: %v)", res.err, released)
			}
			defer res.f.Close()
			items, err := readAll(res.f)
			if err != nil || len(items) != 3 || items[2].V != "line 2" {
				t.Fatalf("All: %v, %v; want 3 lines", items, err)
			}
		})
	}
}
