package main

import (
	"bytes"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// TestDemo runs the two-node demo end to end on an embedded server and
// loopback HTTP. The output is deterministic: the driver prints only what
// it waited for.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if got := out.String(); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}

const want = `# tail_logs, submitted to the dispatcher, runs on the agent
  dispatcher (HTTP) [0] "log line 0"
  dispatcher (HTTP) [1] "log line 1"
  dispatcher (HTTP) [2] "log line 2"
  dispatcher (HTTP) [3] "log line 3"
  dispatcher (HTTP) [4] "log line 4"
# resume since=3, on the dispatcher
  dispatcher (HTTP) [3] "log line 3"
  dispatcher (HTTP) [4] "log line 4"
# the same output, on the agent (Go)
  agent [3] "log line 3"
  agent [4] "log line 4"
  tail_logs: done
# queue nginx, concurrency 1: one runs, one waits, the waiting one is cancelled
  restart_nginx: queued
  cancel it: true
  restart_nginx: cancelled
  cancel the running tail_logs: true
# restart_nginx runs; its result read later, by id, on the agent
  dispatcher (HTTP): "restarted nginx now"
  agent: "restarted nginx now"
`
