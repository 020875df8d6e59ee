package remote_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/troupe-go/troupe/remote"
)

// TestCancelCauseReachesHandler: a caller whose ctx is cancelled with a
// cause gets that cause, and the serving node is told — the handler's
// Context ends — whatever the cause wraps. A cause wrapping
// context.DeadlineExceeded (an upstream's timeout, passed on) was taken
// for the ctx's own expiry: the cancel was not sent, and the handler ran
// on to its deadline, for a caller long gone.
func TestCancelCauseReachesHandler(t *testing.T) {
	for _, ask := range []bool{false, true} {
		t.Run(fmt.Sprintf("ask=%v", ask), func(t *testing.T) {
			s := startServer(t)
			srv := startNode(t, s.ClientURL())
			cli := startNode(t, s.ClientURL(), remote.WithCallTimeout(time.Minute))
			_, a := export(t, srv, "acct")
			cause := fmt.Errorf("upstream: %w", context.DeadlineExceeded)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			b := remote.Bind(cli, "acct", Block)
			done := make(chan error, 1)
			if ask {
				f := b.Ask(ctx, "x")
				go func() { _, err := f.Await(context.Background()); done <- err }()
			} else {
				go func() { _, err := b.Call(ctx, "x"); done <- err }()
			}
			<-a.entered
			cancel(cause)
			if err := <-done; !errors.Is(err, cause) {
				t.Fatalf("call: got %v; want its ctx's cause", err)
			}
			select {
			case err := <-a.ended:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("handler's Context ended with %v; want Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("handler's Context did not end after its caller cancelled")
			}
		})
	}
}
