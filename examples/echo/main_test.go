package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// wait bounds every real-time wait: generous, never a speed assertion.
const wait = 60 * time.Second

// clients is the number of concurrent clients of the load tests.
const clients = 2000

// server runs the echo server on loopback until the test ends (or stop is
// called); it returns the address and a stop that waits for run.
func server(t *testing.T, idle time.Duration) (string, func() error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, l, idle, wait) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return l.Addr().String(), stop
}

// raiseFileLimit makes room for n sockets on each side, or skips.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	need := 2*n + 256
	if lim.Cur >= need {
		return
	}
	if lim.Max < need {
		t.Skipf("open file limit %d < %d needed for %d clients", lim.Max, need, n)
	}
	old := lim
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// dial connects to addr and reads the banner; t.Fatal if it cannot (from
// the test's goroutine only: clients on goroutines of their own use
// tryDial).
func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, br, err := tryDial(addr)
	if err != nil {
		t.Fatal(err)
	}
	return nc, br
}

// tryDial is dial for a client's goroutine, where t.Fatal would end only
// that goroutine: it returns the error instead.
func tryDial(addr string) (net.Conn, *bufio.Reader, error) {
	var nc net.Conn
	var err error
	for range 50 { // a burst of dials may overflow the accept backlog
		if nc, err = net.DialTimeout("tcp", addr, wait); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		return nil, nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(wait))
	br := bufio.NewReader(nc)
	if got, err := br.ReadString('\n'); got != banner || err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("banner: got %q, %v; want %q", got, err, banner)
	}
	return nc, br, nil
}

// cogen's behaviour: the banner, each line back as sent, "exit" answered
// with GOOD BYE and a close; a line over 8192 bytes closes the connection.
func TestEcho(t *testing.T) {
	addr, _ := server(t, time.Minute)
	tests := []struct {
		name, send, want string
	}{
		{"lines and exit", "hello\r\nworld\n  exit  \r\nnever\n", "hello\r\nworld\nGOOD BYE"},
		{"a line of 8192 bytes", strings.Repeat("x", maxLine-1) + "\nexit\n", strings.Repeat("x", maxLine-1) + "\nGOOD BYE"},
		{"a longer line", "ok\n" + strings.Repeat("x", maxLine) + "\n", "ok\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, br := dial(t, addr)
			defer nc.Close()
			if _, err := io.WriteString(nc, tt.send); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(br)
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %.40q (%d bytes), %v; want %.40q (%d bytes) then EOF", got, len(got), err, tt.want, len(tt.want))
			}
		})
	}
}

// A client that sends nothing is closed after the idle timeout (and not
// before).
func TestIdle(t *testing.T) {
	const idle = 200 * time.Millisecond
	addr, _ := server(t, idle)
	start := time.Now()
	nc, br := dial(t, addr)
	defer nc.Close()
	if got, err := io.ReadAll(br); err != nil || len(got) != 0 {
		t.Fatalf("got %q, %v; want a clean EOF", got, err)
	}
	if took := time.Since(start); took < idle {
		t.Fatalf("closed after %v; want at least the idle timeout %v", took, idle)
	}
}

// echoLines sends n lines on nc (from its own goroutine) and reads them
// back on br; it returns the lines read in order, and how reading ended.
func echoLines(nc net.Conn, br *bufio.Reader, id, n int) (got int, err error) {
	sent := make(chan error, 1)
	go func() {
		var b []byte
		for j := range n {
			b = fmt.Appendf(b, "client %d line %d\n", id, j)
		}
		_, err := nc.Write(b)
		sent <- err
	}()
	defer func() { <-sent }()
	for j := range n {
		line, err := br.ReadString('\n')
		if err != nil {
			return j, err
		}
		if want := fmt.Sprintf("client %d line %d\n", id, j); line != want {
			return j, fmt.Errorf("line %d: got %q; want %q", j, line, want)
		}
	}
	return n, nil
}

// 2,000 concurrent clients send 100 lines each: every line comes back, in
// order, then each says exit and gets GOOD BYE and a clean close.
func TestManyClients(t *testing.T) {
	const lines = 100
	raiseFileLimit(t, clients)
	addr, _ := server(t, time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			nc, br, err := tryDial(addr)
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			defer nc.Close()
			if got, err := echoLines(nc, br, i, lines); err != nil {
				errs <- fmt.Errorf("client %d: %d lines, then %w", i, got, err)
				return
			}
			if _, err := io.WriteString(nc, "exit\n"); err != nil {
				errs <- fmt.Errorf("client %d: exit: %w", i, err)
				return
			}
			if rest, err := io.ReadAll(br); err != nil || string(rest) != goodbye {
				errs <- fmt.Errorf("client %d: got %q, %v; want %q then EOF", i, rest, err, goodbye)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A shutdown while 2,000 clients stream lines: each client reads back the
// lines it sent, in order, each whole, up to some point, then a clean EOF
// (never a reset); run returns nil, and no goroutine is left (TestMain).
// Each client keeps up to window lines in flight, as a pipelining client
// does: clients in this process that wrote without pause would take the
// server's CPU, which remote clients never do.
func TestShutdownUnderLoad(t *testing.T) {
	const window = 16
	raiseFileLimit(t, clients)
	addr, stop := server(t, time.Minute)
	var ready, wg sync.WaitGroup
	ready.Add(clients)
	errs := make(chan error, clients)
	echoed := make(chan int, clients)
	for i := range clients {
		wg.Go(func() {
			nc, br, err := tryDial(addr)
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				ready.Done()
				return
			}
			defer nc.Close()
			credit, done := make(chan struct{}, window), make(chan struct{})
			for range window {
				credit <- struct{}{}
			}
			go func() { // stream lines until the server stops reading
				var b []byte
				for j := 0; ; j++ {
					select {
					case <-credit:
					case <-done:
						return
					}
					b = fmt.Appendf(b[:0], "client %d line %d\n", i, j)
					if _, err := nc.Write(b); err != nil {
						return
					}
				}
			}()
			defer close(done)
			for j := 0; ; j++ {
				if j == 10 {
					ready.Done()
				}
				if j%64 == 0 {
					// wait bounds a stall, not the whole stream: on a loaded
					// machine the 2,000 clients may stream for over a minute.
					_ = nc.SetDeadline(time.Now().Add(wait))
				}
				line, err := br.ReadString('\n')
				if errors.Is(err, io.EOF) && line == "" {
					if j < 10 {
						ready.Done()
					}
					echoed <- j
					return
				}
				if err != nil {
					errs <- fmt.Errorf("client %d: after %d lines: %q, %w; want a clean EOF", i, j, line, err)
					if j < 10 {
						ready.Done()
					}
					return
				}
				if want := fmt.Sprintf("client %d line %d\n", i, j); line != want {
					errs <- fmt.Errorf("client %d: got %q; want %q", i, line, want)
					if j < 10 {
						ready.Done()
					}
					return
				}
				credit <- struct{}{}
			}
		})
	}
	ready.Wait() // every client has had 10 lines back and is streaming
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	wg.Wait()
	close(errs)
	close(echoed)
	for err := range errs {
		t.Error(err)
	}
	early, n := 0, 0
	for j := range echoed {
		if j < 10 {
			early++
		}
		n++
	}
	if n != clients || early > 0 {
		t.Fatalf("%d clients saw a clean EOF, %d of them before 10 lines; want %d, 0", n, early, clients)
	}
}
