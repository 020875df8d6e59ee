package remote_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/remote"
	"github.com/troupe-go/troupe/remote/embedded"
)

// Sink records the ids of the casts it gets.
type Sink struct{ got *sync.Map }

var Jot = actor.NewMethod("jot", func(s *Sink, c *actor.Ctx, id int64) (int, error) {
	s.got.Store(id, true)
	return 0, nil
})

// ClHop calls on: its handler makes a remote call to another node.
type ClHop struct {
	out *remote.Binding[WorkReq, string]
}

var ClHopOn = actor.NewMethod("hop_on", func(r *ClHop, c *actor.Ctx, req WorkReq) (string, error) {
	return r.out.Call(c.Context(), req)
})

// castCount reads the count of a ReasonCastFailed refusal ("N casts lost",
// "N casts may have been lost").
var castCount = regexp.MustCompile(`^(\d+) casts`)

// countCastsLost returns a refusal hook that adds the count of each
// ReasonCastFailed refusal to *reported.
func countCastsLost(reported *atomic.Int64) func(remote.Refusal) {
	return func(r remote.Refusal) {
		if r.Reason != remote.ReasonCastFailed {
			return
		}
		if m := castCount.FindStringSubmatch(r.Err.Error()); m != nil {
			k, _ := strconv.Atoi(m[1])
			reported.Add(int64(k))
		}
	}
}

// TestConnectionLossModel: three nodes on one server — a client C, a
// victim V and another O — with traffic through V: C calls V's relay,
// whose handler calls O (a sync call in flight to V and from it), V calls
// O directly, V casts to O and C to V, C reads a stream V serves and V one
// O serves. Meanwhile V's connection is lost: the server kicks it, two or three
// times (V reconnects), the server restarts on its port (every node reconnects), or
// the server kicks it and V may not reconnect (its connection closes for
// good). Random over seeds: which fault, when, for how long, the load.
// Checks: every Call returns within its deadline and a margin, with a
// documented outcome; every stream reader gets its items in order, each
// once, resuming (Follow, Since) after an error while it can, and ends
// within a bound; every cast V's Cast accepted reaches O or is reported
// on V (ReasonCastFailed) once V has stopped — where the server itself
// kept running (a kick: a restarted server loses what it held, which
// core NATS allows); no goroutine is left (TestMain).
func TestConnectionLossModel(t *testing.T) {
	for seed := range testkit.Seeds(3) {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) { connLossRun(t, seed) })
	}
}

func connLossRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x10557))
	fault := []string{"kick", "restart", "close"}[seed%3]
	port := freePort(t)
	sopts := func() []embedded.Option {
		return []embedded.Option{embedded.WithStoreDir(t.TempDir()), embedded.WithoutJetStream(),
			embedded.WithConfig(func(o *server.Options) { o.Port = port })}
	}
	s, err := embedded.Start(context.Background(), sopts()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	const hb = 300 * time.Millisecond
	natsOpts := func(reconnect bool) remote.Option {
		if !reconnect {
			return remote.WithNATSOptions(nats.NoReconnect())
		}
		return remote.WithNATSOptions(nats.ReconnectWait(20*time.Millisecond), nats.MaxReconnects(-1))
	}
	var reported atomic.Int64 // V's casts reported lost
	vHook := countCastsLost(&reported)
	cNode := startNode(t, url, remote.WithName("c"), remote.WithHeartbeat(hb), remote.WithCallTimeout(time.Second), natsOpts(true))
	vNode := startNode(t, url, remote.WithName("v"), remote.WithHeartbeat(hb), remote.WithCallTimeout(time.Second), natsOpts(fault != "close"), remote.WithRefusalHook(vHook))
	oNode := startNode(t, url, remote.WithName("o"), remote.WithHeartbeat(hb), remote.WithCallTimeout(time.Second), natsOpts(true))

	// O: work, note, and a stream ("ofeed").
	seen, dups := new(sync.Map), new(atomic.Int64)
	oGot := new(sync.Map)
	{
		w, err := actor.Spawn(oNode.Runtime(), &Worker{node: "o", seen: seen, dups: dups})
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Export(oNode, "work", w, remote.Serve(Work)); err != nil {
			t.Fatal(err)
		}
		sk, err := actor.Spawn(oNode.Runtime(), &Sink{got: oGot})
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Export(oNode, "osink", sk, remote.Serve(Jot)); err != nil {
			t.Fatal(err)
		}
	}
	oFeed, err := actor.Spawn(oNode.Runtime(), &Feed{})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(oNode, "ofeed", oFeed, remote.ServeStream(Live)); err != nil {
		t.Fatal(err)
	}
	// V: relay, note, and a stream ("vfeed").
	vGot := new(sync.Map)
	{
		r, err := actor.Spawn(vNode.Runtime(), &ClHop{out: remote.Bind(vNode, "work", Work)})
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Export(vNode, "relay", r, remote.Serve(ClHopOn)); err != nil {
			t.Fatal(err)
		}
		sk, err := actor.Spawn(vNode.Runtime(), &Sink{got: vGot})
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Export(vNode, "vsink", sk, remote.Serve(Jot)); err != nil {
			t.Fatal(err)
		}
	}
	vFeed, err := actor.Spawn(vNode.Runtime(), &Feed{})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(vNode, "vfeed", vFeed, remote.ServeStream(Live)); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*remote.Node{cNode, vNode, oNode} {
		waitServed(t, n, "work")
		waitServed(t, n, "relay")
	}

	var (
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		mu       sync.Mutex
		problems []string
		outcomes = map[string]int{}
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	const margin = 1500 * time.Millisecond
	var nextID atomic.Int64
	caller := func(who string, call func(ctx context.Context, req WorkReq) (string, error), deadline time.Duration) {
		wg.Go(func() {
			for !stopped() {
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				start := time.Now()
				_, err := call(ctx, WorkReq{ID: nextID.Add(1), Delay: time.Duration(rng2(seed, 5)) * time.Millisecond})
				cancel()
				if el := time.Since(start); el > deadline+margin {
					problem("%s: a call returned %v after %v; its deadline was %v", who, err, el, deadline)
				}
				kind := "ok"
				var re *remote.Error
				switch {
				case err == nil:
				case errors.Is(err, remote.ErrTimeout), errors.Is(err, remote.ErrClosed),
					errors.Is(err, remote.ErrUnavailable), errors.Is(err, remote.ErrNotFound):
					kind = classify(err)
					if errors.Is(err, remote.ErrUnavailable) {
						kind = "unavailable"
					}
				case errors.As(err, &re):
					kind = "remote " + re.Code
				default:
					problem("%s: a call failed with %v (%T)", who, err, err)
					kind = "other"
				}
				mu.Lock()
				outcomes[who+" "+kind]++
				mu.Unlock()
				if err != nil {
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	relay := remote.Bind(cNode, "relay", ClHopOn)
	work := remote.Bind(vNode, "work", Work)
	caller("c→v→o", relay.Call, time.Duration(400+rng.IntN(600))*time.Millisecond)
	caller("c→v→o", relay.Call, time.Duration(400+rng.IntN(600))*time.Millisecond)
	caller("v→o", work.Call, time.Duration(400+rng.IntN(600))*time.Millisecond)

	// Casts: V to O (checked), C to V (at most once: not checked).
	var vAccepted atomic.Int64
	caster := func(n *remote.Node, name string, accepted *atomic.Int64) {
		b := remote.Bind(n, name, Jot)
		wg.Go(func() {
			for i := int64(0); !stopped(); i++ {
				if err := b.Cast(i); err == nil && accepted != nil {
					accepted.Add(1)
				}
				if i%16 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	caster(vNode, "osink", &vAccepted)
	caster(cNode, "vsink", nil)

	// Streams: C reads V's, V reads O's; each producer pushes items one
	// by one on its actor's turn.
	const items = 400
	producer := func(ref *actor.Ref[*Feed]) {
		wg.Go(func() {
			for sent := 0; sent < items; {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, err := Push.Call(ctx, ref, 1)
				cancel()
				if err == nil {
					sent++
				} else if errors.Is(err, actor.ErrStopped) {
					return
				}
				time.Sleep(time.Duration(1+rng2(seed, 3)) * time.Millisecond)
			}
		})
	}
	reader := func(who string, n *remote.Node, name string) {
		sb := remote.BindStream(n, name, Live)
		// A reader lives as long as the ctx it was opened (or followed)
		// with: this one, without a deadline (opening is bounded by the
		// node's call timeout), ended with the reader's goroutine.
		rctx, rcancel := context.WithCancel(context.Background())
		f, err := sb.Open(rctx, struct{}{})
		if err != nil {
			rcancel()
			t.Fatalf("%s: Open: %v", who, err)
		}
		wg.Go(func() {
			defer rcancel()
			next, resumes := uint64(0), 0
			ref := f.Ref()
			giveUp := time.Now().Add(6 * time.Second)
			for {
				var last error
				for it, err := range f.All() {
					if err != nil {
						last = err
						break
					}
					if it.Seq != next || it.V != fmt.Sprintf("line %d", next) {
						problem("%s: got item %d %q; want %d", who, it.Seq, it.V, next)
						_ = f.Close()
						return
					}
					next++
					if next == items {
						break
					}
				}
				_ = f.Close()
				if next == items {
					mu.Lock()
					outcomes[fmt.Sprintf("%s stream whole after %d resumes", who, resumes)]++
					mu.Unlock()
					return
				}
				if last == nil {
					problem("%s: stream ended cleanly at %d of %d items", who, next, items)
					return
				}
				if fault == "kick" {
					// The server stays up and V is back within milliseconds,
					// well within three heartbeats: the stream survives whole.
					problem("%s: stream ended at %d of %d items by a reconnect: %v", who, next, items, last)
					return
				}
				// Resume where it stopped while the stream is there.
				for {
					if time.Now().After(giveUp) {
						mu.Lock()
						outcomes[fmt.Sprintf("%s stream ended at %d: %v", who, next, last)]++
						mu.Unlock()
						return
					}
					f, err = sb.Follow(rctx, ref, actor.Since(next))
					if err == nil {
						resumes++
						break
					}
					last = err
					if errors.Is(err, remote.ErrNotFound) && !errors.Is(err, remote.ErrTimeout) {
						var re *remote.Error
						if errors.As(err, &re) || fault == "close" {
							// The stream is gone (its node released it): the reader ended.
							mu.Lock()
							outcomes[fmt.Sprintf("%s stream gone at %d", who, next)]++
							mu.Unlock()
							return
						}
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	reader("c reads v", cNode, "vfeed")
	reader("v reads o", vNode, "ofeed")
	producer(vFeed)
	producer(oFeed)

	// The fault, while all this runs.
	time.Sleep(time.Duration(150+rng.IntN(300)) * time.Millisecond)
	switch fault {
	case "kick": // two or three times, once V is back
		for k := range 2 + rng.IntN(2) {
			if k > 0 {
				time.Sleep(time.Duration(80+rng.IntN(120)) * time.Millisecond)
			}
			kick(t, s.NATS(), vNode)
		}
	case "close":
		kick(t, s.NATS(), vNode)
	case "restart":
		s.Shutdown()
		time.Sleep(time.Duration(rng.IntN(4)) * hb / 2) // may outlast three heartbeats
		s2, err := embedded.Start(context.Background(), sopts()...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s2.Shutdown)
	}
	time.Sleep(time.Duration(600+rng.IntN(400)) * time.Millisecond)
	close(stop)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("seed %d (%s): the traffic still runs 20 s after it was told to stop: a hang", seed, fault)
	}

	// Casts: V stops (its last word on casts), then O has had time for
	// what the server delivers.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = vNode.Shutdown(ctx)
	cancel()
	count := func(m *sync.Map) (k int64) {
		m.Range(func(any, any) bool { k++; return true })
		return k
	}
	for prev := int64(-1); ; {
		time.Sleep(200 * time.Millisecond)
		k := count(oGot)
		if k == prev {
			break
		}
		prev = k
	}
	delivered, accepted, lost := count(oGot), vAccepted.Load(), reported.Load()
	if fault != "restart" && delivered+lost < accepted {
		problem("V's casts: %d accepted, %d delivered, %d reported lost: %d lost unreported", accepted, delivered, lost, accepted-delivered-lost)
	}
	if d := dups.Load(); d != 0 {
		problem("%d calls ran twice", d)
	}
	t.Logf("seed %d, %s: V's casts %d accepted, %d delivered, %d reported; %v", seed, fault, accepted, delivered, lost, outcomes)
	for _, p := range problems {
		t.Errorf("seed %d (%s): %s", seed, fault, p)
	}
}

// rng2 is a small random number below n for the traffic's goroutines
// (timing, not the model's choices: those come from the seed).
func rng2(_ uint64, n int) int { return rand.IntN(n) }
