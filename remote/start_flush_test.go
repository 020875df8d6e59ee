package remote_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/remote"
)

// mutePingServer is a NATS server that answers the connection's first
// PING (the handshake) and no other: a server that accepts a connection,
// then stops answering. It calls pinged on the second PING.
func mutePingServer(t *testing.T, pinged func()) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	port := l.Addr().(*net.TCPAddr).Port
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				fmt.Fprintf(c, "INFO {\"server_id\":\"mute\",\"version\":\"2.10.0\",\"go\":\"go1\",\"host\":\"127.0.0.1\",\"port\":%d,\"max_payload\":1048576,\"proto\":1,\"headers\":true}\r\n", port)
				rd := bufio.NewReader(c)
				pings := 0
				for {
					line, err := rd.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(line, "PING") {
						if pings++; pings == 1 {
							_, _ = c.Write([]byte("PONG\r\n"))
						} else if pings == 2 {
							pinged()
						}
					}
				}
			})
		}
	})
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

// TestStartFlushBoundedByCtx: Start's wait for the server to confirm
// the node's subscriptions ends with its ctx, not after nats.go's fixed
// 10 s flush timeout.
func TestStartFlushBoundedByCtx(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := mutePingServer(t, cancel) // ctx ends while Start waits for the PONG
	rt := newRuntime(t)
	started := make(chan error, 1)
	go func() {
		n, err := remote.Start(ctx, rt, remote.WithURL(url))
		if n != nil {
			_ = n.Close()
		}
		started <- err
	}()
	select {
	case err := <-started:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Start whose ctx ended during its flush: %v; want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Start still waits 30 s after it began")
	}
}
