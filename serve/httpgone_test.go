package serve_test

import (
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// waiter's Wait signals entered, then waits for its Context to end and
// reports that it did.
type waiter struct{ entered, ended chan struct{} }

var Wait = actor.NewMethod("wait", func(w *waiter, c *actor.Ctx, _ deposit) (int, error) {
	w.entered <- struct{}{}
	<-c.Context().Done()
	w.ended <- struct{}{}
	return 0, c.Context().Err()
})

// A client that goes away over real HTTP cancels the call, even when
// decode did not read the body to its end (a JSON value followed by
// more than the decoder's buffer of blanks, with a Content-Length or
// chunked): the server notices a closed connection only while it reads
// it, once the body is consumed. The call used to run on until its
// deadline (here, an hour).
func TestMethodClientGoneUnreadBody(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%t", chunked), func(t *testing.T) {
			rt := testkit.NewRuntime(t)
			w := &waiter{entered: make(chan struct{}, 1), ended: make(chan struct{}, 1)}
			ref, err := actor.Spawn(rt, w)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(serve.Method(Wait, serve.To(ref), serve.DecodeJSON[deposit], serve.EncodeJSON[int], serve.WithTimeout(time.Hour)))
			defer srv.Close()
			defer ref.Kill() // ends a call left waiting, before srv.Close waits for it
			nc, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			body := `{"n": 1}` + strings.Repeat(" ", 64<<10)
			var req string
			if chunked {
				req = fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body)
			} else {
				req = fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			}
			if _, err := nc.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-w.entered:
			case <-time.After(wait):
				t.Fatal("the call did not run")
			}
			nc.Close() // the client goes away
			select {
			case <-w.ended:
			case <-time.After(wait):
				t.Fatal("the call's Context did not end when the client went away")
			}
		})
	}
}
