package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// TestDemo runs the demo end to end, against its server on loopback. The
// output is deterministic: the driver prints only what it waited for.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if got := out.String(); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}

const want = `# logs_for_a_while: follow since=0
  [0] "log line 0"
  [1] "log line 1"
  [2] "log line 2"
  [3] "log line 3"
  [4] "log line 4"
# resume since=3
  [3] "log line 3"
  [4] "log line 4"
  logs_for_a_while: done, result null
# queue nginx, concurrency 2
  stream_infinity: running
  stream_infinity: running
  return_immediate: queued
  stream_infinity follow: [0] "tick 0"
  stream_infinity follow: [1] "tick 1"
  stream_infinity follow: [2] "tick 2"
# cancel the first stream_infinity: true
  return_immediate (its slot freed): done, result "bar baz"
  the cancelled stream_infinity: cancelled, cancelled: jobs: job cancelled
# cancel it again: false
# watchdogs
  stream_infinity, max_exec_time 0.1s: expired, max_exec: jobs: job expired: max exec time passed
  logs_for_a_while every 1s, timeout 0.1s: expired, read_idle: jobs: job expired: read timeout passed
  panics: failed, panic: something went wrong (with its stack)
# later, by id
  return_immediate: done, result "bar baz"
`

// failingListener is a listener whose Accept fails at once, as a socket
// closed behind the server's back does.
type failingListener struct{ net.Listener }

var errAccept = errors.New("accept failed")

func (failingListener) Accept() (net.Conn, error) { return nil, errAccept }

// A listener that fails ends serve with its error: serve shuts the rest
// down and returns, it does not wait for the server a second time. In a
// synctest bubble: a serve that hangs is a deadlock the bubble reports (or
// the watchdog, should a timer keep the clock moving).
func TestServeListenerFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := time.AfterFunc(time.Hour, func() { panic("watchdog: serve hung") })
		defer w.Stop()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		err = serve(context.Background(), failingListener{l}, func(string) error { return nil })
		if !errors.Is(err, errAccept) {
			t.Fatalf("serve: %v; want %v", err, errAccept)
		}
	})
}
