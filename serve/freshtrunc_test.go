package serve_test

import (
	"net/http"
	"testing"
)

// A request without a position (no Last-Event-ID, no since) asks for the
// stream from its first item. Items its handler's turn sent past the
// journal (here 5 into a journal of 2) are lost to it as much as to a
// reader that fell behind later: it goes on from the oldest kept after a
// truncation notice. It used to start at the oldest kept (actor.Open's
// default) without one: the client saw item 3 first and could not tell
// that items 0 to 2 had been lost.
func TestStreamFreshRequestTruncated(t *testing.T) {
	srv := shortServer(t)
	for path, want := range map[string]string{
		"/sse":   "id: 2\nevent: truncated\ndata: 3\n\nid: 3\ndata: line 3\n\nid: 4\ndata: line 4\n\nevent: end\ndata:\n\n",
		"/lines": "{\"truncated\":3}\n{\"seq\":3,\"value\":\"line 3\"}\n{\"seq\":4,\"value\":\"line 4\"}\n",
	} {
		code, _, body := get(t, srv.URL+path, nil)
		if code != http.StatusOK || body != want {
			t.Errorf("%s: got %d %q; want 200 %q", path, code, body, want)
		}
	}
}
