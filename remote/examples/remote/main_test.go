package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe/remote"
	"github.com/troupe-go/troupe/remote/embedded"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

const want = `resolved accounts: version 1.2.0 on bank
  balance(struct {}) int
  deposit(int) int
  statement(struct {}) stream of string
  withdraw(int) int
deposit 100 → balance 100
withdraw 30 → balance 70
withdraw 500 → insufficient_funds: insufficient funds
vault → not found: true
statement #0: deposit 100, balance 100
resumed #1: withdraw 30, balance 70
resumed #2: deposit 5, balance 75
`

// TestRun: both nodes in one process, over the bank's embedded server.
func TestRun(t *testing.T) {
	t.Setenv(remote.EnvURL, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, nil, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := out.String(); got != want {
		t.Fatalf("got\n%s; want\n%s", got, want)
	}
}

// TestServeAndCall: the two-process mode, with a shared server given by
// TROUPE_NATS_URL.
func TestServeAndCall(t *testing.T) {
	srv, err := embedded.Start(context.Background(), embedded.WithStoreDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	t.Setenv(remote.EnvURL, srv.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	serveCtx, stopServe := context.WithCancel(ctx)
	served := make(chan error, 1)
	var serveOut syncBuffer
	go func() { served <- run(serveCtx, []string{"serve"}, &serveOut) }()
	for !strings.Contains(serveOut.String(), "TROUPE_NATS_URL=") {
		select {
		case err := <-served:
			t.Fatalf("serve ended: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"call"}, &out); err != nil {
		t.Fatalf("call: %v", err)
	}
	stopServe()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if got := out.String(); got != want {
		t.Fatalf("got\n%s; want\n%s", got, want)
	}
	if err := run(ctx, []string{"bogus"}, &out); err == nil {
		t.Fatalf("run(bogus): got nil; want an error")
	}
}
