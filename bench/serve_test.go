package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
	"github.com/troupe-go/troupe/serve"
)

// The echo server of examples/echo, twice: troupe's (one actor per
// connection, package serve) and raw Go's (a goroutine per connection
// reading lines of at most 8192 bytes with a 4 KiB bufio.Reader, writing
// each echo at once). Both greet, echo each line, and answer "exit".
// One op is one line echoed: a client writes a line and waits for it
// (ping-pong), on each of the connections at once.

const (
	echoBanner  = "WELCOME TO ECHO SERVER !\r\n"
	echoMaxLine = 8192
)

type echoSession struct{ conn *serve.Conn }

func (s *echoSession) Frame(_ *actor.Ctx, line []byte) error {
	if string(bytes.TrimSpace(line)) == "exit" {
		err := s.conn.Write(context.Background(), []byte("GOOD BYE"))
		s.conn.Close()
		return err
	}
	return s.conn.Write(context.Background(), line) // the write deadline: WithWriteTimeout
}

// echoServer serves on a fresh loopback listener; it returns the address
// and a stop that closes the server and waits for its goroutines.
type echoServer func(tb testing.TB) (addr string, stop func())

func troupeEcho(tb testing.TB) (string, func()) {
	tb.Helper()
	rt, err := troupe.New()
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := serve.New(rt, func(conn *serve.Conn) *echoSession {
		_ = conn.Write(context.Background(), []byte(echoBanner))
		return &echoSession{conn}
	}, serve.WithLines(echoMaxLine), serve.WithIdleTimeout(time.Minute))
	if err != nil {
		tb.Fatal(err)
	}
	l := listen(tb)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	return l.Addr().String(), func() {
		_ = srv.Close()
		<-served
		if err := rt.Close(); err != nil {
			tb.Errorf("runtime: %v", err)
		}
	}
}

func rawEcho(tb testing.TB) (string, func()) {
	tb.Helper()
	l := listen(tb)
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	wg.Go(func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[nc] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				defer nc.Close()
				rawEchoConn(nc)
			})
		}
	})
	return l.Addr().String(), func() {
		l.Close()
		mu.Lock()
		for nc := range conns {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// rawEchoConn is raw Go's connection handler: the same framing and
// behaviour as the echo session.
func rawEchoConn(nc net.Conn) {
	if _, err := nc.Write([]byte(echoBanner)); err != nil {
		return
	}
	br := bufio.NewReaderSize(nc, 4096)
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // a line longer than the buffer
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(long) <= echoMaxLine {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil || len(line) > echoMaxLine {
			return
		}
		if string(bytes.TrimSpace(line)) == "exit" {
			_, _ = nc.Write([]byte("GOOD BYE"))
			return
		}
		if _, err := nc.Write(line); err != nil {
			return
		}
	}
}

func listen(tb testing.TB) net.Listener {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// echoClients dials n connections to addr and reads each banner; close
// closes them.
func echoClients(tb testing.TB, addr string, n int) (cs []*bufio.ReadWriter, close func()) {
	tb.Helper()
	raiseFiles(tb, uint64(n))
	cs = make([]*bufio.ReadWriter, n)
	ncs := make([]net.Conn, 0, n)
	close = func() {
		for _, nc := range ncs {
			nc.Close()
		}
	}
	for i := range cs {
		nc, err := net.DialTimeout("tcp", addr, timeout)
		for try := 0; err != nil && try < 50; try++ { // a full accept backlog
			time.Sleep(10 * time.Millisecond)
			nc, err = net.DialTimeout("tcp", addr, timeout)
		}
		if err != nil {
			close()
			tb.Fatal(err)
		}
		ncs = append(ncs, nc)
		cs[i] = bufio.NewReadWriter(bufio.NewReader(nc), bufio.NewWriter(nc))
		if s, err := cs[i].ReadString('\n'); s != echoBanner || err != nil {
			close()
			tb.Fatalf("banner: %q, %v", s, err)
		}
	}
	return cs, close
}

// raiseFiles makes room for n connections (both ends in this process).
func raiseFiles(tb testing.TB, n uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	if need := 2*n + 256; lim.Cur < need && lim.Max >= need {
		lim.Cur = need
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

var echoLine = []byte("the quick brown fox jumps over the lazy dog\n")

// benchEcho shares b.N ping-pongs among conns connections to server.
func benchEcho(b *testing.B, server echoServer, conns int) {
	addr, stop := server(b)
	defer stop()
	cs, closeClients := echoClients(b, addr, conns)
	defer closeClients()
	var left atomic.Int64
	left.Store(int64(b.N))
	report := countAllocs(b)
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			buf := make([]byte, len(echoLine))
			for left.Add(-1) >= 0 {
				_, _ = c.Write(echoLine)
				if err := c.Flush(); err != nil {
					b.Error(err)
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil || !bytes.Equal(buf, echoLine) {
					b.Errorf("echo: %q, %v", buf, err)
					return
				}
			}
		})
	}
	wg.Wait()
	// The deferred closes (clients, then the server: troupe's waits for
	// every connection's actor) are not part of an op.
	b.StopTimer()
	report()
}

// BenchmarkEcho1 is the echo ping-pong on one connection.
func BenchmarkEcho1(b *testing.B) {
	b.Run("troupe", func(b *testing.B) { benchEcho(b, troupeEcho, 1) })
	b.Run("raw", func(b *testing.B) { benchEcho(b, rawEcho, 1) })
}

// BenchmarkEcho100 is the echo ping-pong on 100 connections at once.
func BenchmarkEcho100(b *testing.B) {
	b.Run("troupe", func(b *testing.B) { benchEcho(b, troupeEcho, 100) })
	b.Run("raw", func(b *testing.B) { benchEcho(b, rawEcho, 100) })
}

// BenchmarkEcho2000 is the echo ping-pong on 2,000 connections at once.
func BenchmarkEcho2000(b *testing.B) {
	b.Run("troupe", func(b *testing.B) { benchEcho(b, troupeEcho, 2000) })
	b.Run("raw", func(b *testing.B) { benchEcho(b, rawEcho, 2000) })
}

// BenchmarkIdleConn is the memory of an idle connection: greeted, one line
// echoed, then idle. Reported as B/conn: the heap and stacks the server
// holds per connection, over a baseline of the same clients connected to
// a listener that only keeps the sockets (so the sockets and the clients
// cancel out). One op is 1,000 connections opened, measured and closed.
func BenchmarkIdleConn(b *testing.B) {
	b.Run("troupe", func(b *testing.B) { benchIdle(b, troupeEcho) })
	b.Run("raw", func(b *testing.B) { benchIdle(b, rawEcho) })
}

func benchIdle(b *testing.B, server echoServer) {
	const n = 1000
	var sum float64
	for b.Loop() {
		base := idleBytes(b, holdServer, n)
		sum += float64(idleBytes(b, server, n)-base) / n
	}
	b.ReportMetric(sum/float64(b.N), "B/conn")
}

// holdServer accepts connections and keeps them, with no goroutine.
func holdServer(tb testing.TB) (string, func()) {
	l := listen(tb)
	var mu sync.Mutex
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = nc.Write([]byte(echoBanner))
			go func() { // answer one line, as the echo servers do, then hold
				buf := make([]byte, len(echoLine))
				_, _ = io.ReadFull(nc, buf)
				_, _ = nc.Write(buf)
				mu.Lock()
				held = append(held, nc)
				mu.Unlock()
			}()
		}
	}()
	return l.Addr().String(), func() {
		l.Close()
		<-done
		mu.Lock()
		for _, nc := range held {
			nc.Close()
		}
		mu.Unlock()
	}
}

// idleBytes starts server, connects n clients that each echo one line,
// and returns the heap and stack in use; then it stops them all.
func idleBytes(b *testing.B, server echoServer, n int) uint64 {
	addr, stop := server(b)
	defer stop()
	cs, closeClients := echoClients(b, addr, n)
	defer closeClients()
	buf := make([]byte, len(echoLine))
	for _, c := range cs {
		_, _ = c.Write(echoLine)
		_ = c.Flush()
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // writers finish; actors go idle
	return memInUse()
}

func memInUse() uint64 {
	var m goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// The HTTP workload: a counter behind serve.Method (JSON in, JSON out),
// and the same work in a plain http.HandlerFunc under a mutex. One op is
// one request, from 64 clients at once over keep-alive connections.

type httpCounter struct{ n int }

var httpAdd = actor.NewMethod("add", func(c *httpCounter, _ *actor.Ctx, n int) (int, error) {
	c.n += n
	return c.n, nil
})

func BenchmarkHTTPMethod(b *testing.B) {
	b.Run("troupe", func(b *testing.B) {
		rt := newRuntime(b)
		ref, err := actor.Spawn(rt, &httpCounter{})
		if err != nil {
			b.Fatal(err)
		}
		benchHTTP(b, serve.Method(httpAdd, serve.To(ref), serve.DecodeJSON[int], serve.EncodeJSON[int]))
	})
	b.Run("raw", func(b *testing.B) {
		var mu sync.Mutex
		var c httpCounter
		benchHTTP(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, serve.DefaultMaxBody)
			n, err := serve.DecodeJSON[int](r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			mu.Lock()
			c.n += n
			v := c.n
			mu.Unlock()
			_ = serve.EncodeJSON(w, v)
		}))
	})
}

func benchHTTP(b *testing.B, h http.Handler) {
	const clients = 64
	srv := httptest.NewServer(h)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: timeout}
	var left atomic.Int64
	left.Store(int64(b.N))
	report := countAllocs(b)
	b.ResetTimer()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				res, err := client.Post(srv.URL, "application/json", strings.NewReader("1"))
				if err != nil {
					b.Error(err)
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Errorf("status %d: %s", res.StatusCode, body)
					return
				}
				if _, err := strconv.Atoi(string(bytes.TrimSpace(body))); err != nil {
					b.Errorf("body %q", body)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer() // the deferred closes are not part of an op
	report()
}
