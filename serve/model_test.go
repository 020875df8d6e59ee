package serve_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// The model test serves echo sessions on loopback TCP to clients that
// act at random: lines written in random chunks, slow frames, a session
// closing its connection (an error) or panicking, clients that half-close
// and read to the end, clients that reset, clients that stay; and, at a
// random moment, a graceful Shutdown or a Close. Whatever the
// interleaving:
//
//   - a client reads a prefix of its own lines echoed, in order, up to
//     the first that closes its session, never anything else;
//   - a client that half-closed and read the end before the stop began
//     read every line it sent (up to a closing one);
//   - every connection closes, every client sees its end (EOF or a
//     reset), Shutdown returns nil, every connection's actor stops once,
//     and after a graceful stop every session has heard its close once;
//   - nothing is left running (goleak, in TestMain).

var errBye = errors.New("bye")

// modelHook is the sessions' behaviour: "slow <ms>" sleeps first, "bye"
// closes the connection (an error), "panic" panics; any line is echoed.
func modelHook(_ *echo, _ *actor.Ctx, p []byte) (bool, error) {
	switch s := string(p); {
	case strings.HasPrefix(s, "slow "):
		var ms int
		_, _ = fmt.Sscanf(s, "slow %d", &ms)
		time.Sleep(time.Duration(ms) * time.Millisecond)
	case s == "bye\n":
		return true, errBye
	case s == "panic\n":
		panic("model panic")
	}
	return false, nil
}

// How a model client ends.
const (
	endHalfClose = iota // CloseWrite, then read to the end
	endReset            // close abruptly (RST), reading nothing more
	endStay             // keep the connection until the server stops it
)

func TestServeModelRandom(t *testing.T) {
	for seed := range testkit.Seeds(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runServeModel(t, seed) })
	}
}

func runServeModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x73657276))
	f := start(t, func(e *echo) { e.hook = modelHook }, serve.WithLines(128))
	var stopping atomic.Bool
	var wg sync.WaitGroup
	const clients = 10
	for k := range clients {
		crng := rand.New(rand.NewPCG(seed, uint64(k)))
		end := crng.IntN(3)
		wg.Go(func() { modelClient(t, f, k, crng, end, &stopping) })
	}
	time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
	stopping.Store(true)
	graceful := rng.IntN(2) == 0
	if graceful {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		err := f.srv.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	} else if err := f.srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if n := f.srv.Conns(); n != 0 {
		t.Errorf("after the stop: %d connections", n)
	}
	wg.Wait()
	// Every connection's actor stopped once; after a graceful stop every
	// session heard its close once too (a forced one kills the actors:
	// Closed may not run).
	closed, stopped := len(f.closed.ch), len(f.stopped)
	if closed > stopped || graceful && closed != stopped {
		t.Errorf("%d sessions heard their close; %d actors stopped (graceful %t)", closed, stopped, graceful)
	}
	if stopped > clients {
		t.Errorf("%d actors stopped; %d clients connected at most", stopped, clients)
	}
}

// modelClient connects, writes its lines in random chunks while reading
// what comes back, and ends as end says.
func modelClient(t *testing.T, f *fixture, k int, rng *rand.Rand, end int, stopping *atomic.Bool) {
	nc, err := net.DialTimeout("tcp", f.addr, wait)
	if err != nil {
		return // the server stopped first
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(wait))

	// The script: lines, perhaps a slow one, perhaps a closing one.
	var sent, want bytes.Buffer
	closing := false
	n := 1 + rng.IntN(30)
	for i := range n {
		var line string
		switch r := rng.IntN(40); {
		case r == 0:
			line = "bye\n"
		case r == 1:
			line = "panic\n"
		case r < 5:
			line = fmt.Sprintf("slow %d\n", rng.IntN(5))
		default:
			line = fmt.Sprintf("c%d-%d %s\n", k, i, strings.Repeat("x", rng.IntN(100)))
		}
		sent.WriteString(line)
		if line == "bye\n" || line == "panic\n" {
			closing = true
			break
		}
		want.WriteString(line)
	}

	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(nc) // to EOF, a reset or the deadline
		got <- b
	}()
	script := sent.Bytes()
	for len(script) > 0 {
		c := min(len(script), 1+rng.IntN(64))
		if _, err := nc.Write(script[:c]); err != nil {
			break // closed by its session or the server
		}
		script = script[c:]
		if rng.IntN(4) == 0 {
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		}
	}
	switch end {
	case endHalfClose:
		_ = nc.(*net.TCPConn).CloseWrite()
	case endReset:
		_ = nc.(*net.TCPConn).SetLinger(0)
		_ = nc.Close()
	}
	b := <-got
	whole := !stopping.Load() // read to its end before the stop began
	if !bytes.HasPrefix(want.Bytes(), b) {
		t.Errorf("client %d: read %q; not a prefix of its echo %q", k, b, want.Bytes())
		return
	}
	if end != endReset && whole && (closing || end == endHalfClose) && len(b) != want.Len() {
		t.Errorf("client %d: half-closed and read %d of %d bytes of its echo before the stop", k, len(b), want.Len())
	}
}
