package serve_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
	"github.com/troupe-go/troupe/serve"
)

// stoppingSession is an Account whose Stopping hook waits on its gate: a
// session that takes its time to stop.
type stoppingSession struct {
	Account
	stopGate chan struct{}
}

func (s *stoppingSession) Stopping(*actor.Ctx) { <-s.stopGate }

var sessionDeposit = actor.NewMethod("slow-deposit", func(s *stoppingSession, c *actor.Ctx, d deposit) (int, error) {
	s.balance += d.N
	return s.balance, nil
})

// WithTimeout bounds the Target's time as it does decode's: the Target's
// request has the call's Context, which ends at the deadline, so a Target
// that waits in it (runtime.LookupOrSpawn for a session still stopping)
// is answered 504 at WithTimeout, not when its own wait gives up (the
// runtime's call timeout, a minute here). Method and the streams gave
// the Target the request's own Context, with no deadline of WithTimeout.
func TestTargetBoundedByTimeout(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := testkit.NewRuntime(t, troupe.WithCallTimeout(time.Minute))
		gate := make(chan struct{})
		defer close(gate) // before the runtime's shutdown (a cleanup)
		factory := func() *stoppingSession { return &stoppingSession{stopGate: gate} }
		ref, _, err := troupe.LookupOrSpawn(context.Background(), rt, "session:a", factory)
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = ref.Stop(context.Background()) }()
		synctest.Wait() // the session is in its Stopping hook: its name is still taken
		target := func(r *http.Request) (*actor.Ref[*stoppingSession], error) {
			ref, _, err := troupe.LookupOrSpawn(r.Context(), rt, "session:a", factory)
			return ref, err
		}
		handlers := map[string]http.Handler{
			"method": serve.Method(sessionDeposit, target, serve.DecodeJSON[deposit], serve.EncodeJSON[int],
				serve.WithTimeout(time.Second)),
			"lines": serve.JSONLines(sessionTail, target, func(*http.Request) (struct{}, error) { return struct{}{}, nil },
				serve.WithTimeout(time.Second)),
		}
		for _, name := range []string{"method", "lines"} {
			start := time.Now()
			rec := httptest.NewRecorder()
			handlers[name].ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(`{"n": 1}`)))
			if took := time.Since(start); rec.Code != http.StatusGatewayTimeout || took > time.Second {
				t.Errorf("%s: got %d %q after %v; want 504 at WithTimeout's 1s", name, rec.Code, rec.Body.String(), took)
			}
		}
	})
}

// sessionTail is a stream of stoppingSession sessions, for TestTargetBoundedByTimeout.
var sessionTail = actor.NewStream("tail2", func(*stoppingSession, *actor.Ctx, struct{}, *actor.Out[string]) error { return nil })
