package serve_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// TestStreamHead: a HEAD of a stream route (a GET pattern serves HEAD)
// answers the headers and returns. net/http eats a HEAD's body, so a
// handler that followed the stream wrote to nobody, while its client had
// its answer and put the connection back in its pool: the handler, and
// the stream's reader, lived on until the stream ended.
func TestStreamHead(t *testing.T) {
	srv, lg := streamServer(t)
	for _, path := range []string{"/sse", "/lines"} {
		t.Run(path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "HEAD", srv.URL+path+q(`{"n": 1, "open": true}`), nil)
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			res, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("HEAD %s: got %d; want 200", path, res.StatusCode)
			}
			producer := <-lg.open
			select {
			case <-producer.Done():
				if !errors.Is(context.Cause(producer), actor.ErrNoReader) {
					t.Fatalf("producer's cause %v; want ErrNoReader", context.Cause(producer))
				}
			case <-time.After(wait):
				t.Fatalf("HEAD %s: the handler still follows the stream %v after its answer", path, wait)
			}
		})
	}
}
