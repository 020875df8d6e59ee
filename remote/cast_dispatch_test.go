package remote_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// TestCastsLostOnKickReportedSlowHandler: as TestCastsLostOnKickReported,
// but the user's disconnect handler (WithNATSOptions) is slow the first
// time: nats.go runs every connection callback on one goroutine, so the
// node's own disconnect handler for the later drops runs only after the
// sender has reconnected and its stop's flush on the new connection has
// succeeded.
func TestCastsLostOnKickReportedSlowHandler(t *testing.T) {
	s := startServer(t, embeddedWithoutJS())
	var reported atomic.Int64
	hook := func(r remote.Refusal) {
		if r.Reason != remote.ReasonCastFailed {
			return
		}
		if m := castCount.FindStringSubmatch(r.Err.Error()); m != nil {
			k, _ := strconv.Atoi(m[1])
			reported.Add(int64(k))
		}
	}
	release := make(chan struct{})
	var first sync.Once
	slow := func(*nats.Conn, error) { first.Do(func() { <-release }) }
	snd := startNode(t, s.ClientURL(), remote.WithRefusalHook(hook),
		remote.WithNATSOptions(nats.ReconnectWait(10*time.Millisecond), nats.MaxReconnects(-1), nats.DisconnectErrHandler(slow)))
	rcv := startNode(t, s.ClientURL())
	got := new(sync.Map)
	ref, err := actor.Spawn(rcv.Runtime(), &Sink{got: got})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(rcv, "sink", ref, remote.Serve(Jot)); err != nil {
		t.Fatal(err)
	}
	b := remote.Bind(snd, "sink", Jot)
	kick(t, s.NATS(), snd) // the slow handler holds nats.go's callbacks from now on
	var accepted atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := int64(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if b.Cast(i) == nil {
				accepted.Add(1)
			}
			if i%16 == 0 {
				time.Sleep(50 * time.Microsecond)
			}
		}
	})
	for range 3 {
		time.Sleep(100 * time.Millisecond)
		kick(t, s.NATS(), snd)
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = snd.Shutdown(ctx)
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	count := func() (k int64) {
		got.Range(func(any, any) bool { k++; return true })
		return k
	}
	for prev := int64(-1); ; prev = count() {
		time.Sleep(200 * time.Millisecond)
		if count() == prev {
			break
		}
	}
	if d, a, r := count(), accepted.Load(), reported.Load(); d+r < a {
		t.Fatalf("%d casts accepted, %d delivered, %d reported lost: %d lost unreported", a, d, r, a-d-r)
	}
}
