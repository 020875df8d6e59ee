package serve

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// TestRetryAfterOnlyOn503: a call refused by a full mailbox is 503 with
// Retry-After; one that waited for room in a full Block-policy mailbox
// until its deadline (ErrMailboxFull and ErrTimeout) is 504, as StatusOf
// says, and got Retry-After too, which StatusOf's table pairs with 503
// only.
func TestRetryAfterOnlyOn503(t *testing.T) {
	cfg := methodConfigOf(nil)
	for _, tc := range []struct {
		err   error
		code  int
		retry string
	}{
		{actor.ErrMailboxFull, http.StatusServiceUnavailable, "1"},
		{fmt.Errorf("%w: %w", actor.ErrMailboxFull, actor.ErrTimeout), http.StatusGatewayTimeout, ""},
	} {
		w := httptest.NewRecorder()
		cfg.fail(w, httptest.NewRequest("POST", "/", nil), tc.err)
		if w.Code != tc.code || w.Header().Get("Retry-After") != tc.retry {
			t.Errorf("%v: got %d, Retry-After %q; want %d, %q", tc.err, w.Code, w.Header().Get("Retry-After"), tc.code, tc.retry)
		}
	}
}
