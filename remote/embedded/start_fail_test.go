package embedded_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/troupe-go/troupe/remote/embedded"
)

// TestStartJetStreamFails: a server whose JetStream cannot start (its
// store directory is a file) is refused at once with nats-server's
// error, not after Start's whole wait as ErrNotReady: nats-server then
// never accepts connections, and says why only to its logger.
func TestStartJetStreamFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	s, err := embedded.Start(ctx, embedded.WithStoreDir(file))
	if err == nil {
		s.Shutdown()
		t.Fatalf("Start: got nil error; want JetStream's")
	}
	if errors.Is(err, embedded.ErrNotReady) || ctx.Err() != nil {
		t.Fatalf("Start: got %v after %v; want JetStream's error, before ctx's end", err, time.Since(start).Round(time.Millisecond))
	}
}
