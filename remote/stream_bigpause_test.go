package remote_test

import (
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/remote"
)

// hugeLines is JSON with every string padded to 400 KB.
type hugeLines struct{}

func (hugeLines) Name() string { return "huge-lines" }
func (hugeLines) Marshal(v any) ([]byte, error) {
	b, err := remote.JSON.Marshal(v)
	if _, ok := v.(string); ok {
		b = append(b, strings.Repeat(" ", 400<<10)...)
	}
	return b, err
}
func (hugeLines) Unmarshal(d []byte, v any) error { return remote.JSON.Unmarshal(d, v) }

// TestStreamPausedReaderLargeItems: a reader that pauses on a stream of
// large items (400 KB each, under the server's 1 MB payload and the serving node's WithMaxMessage) is not sent
// more than its subscription holds: it resumes and gets every item, in
// order, once. The window counted frames only: 256 frames of 400 KB
// (100 MB) overflowed the reader's pending limit (64 MB), its
// subscription dropped frames and All ended "slow consumer".
func TestStreamPausedReaderLargeItems(t *testing.T) {
	s := startServer(t)
	const hb = 50 * time.Millisecond
	srv := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb), remote.WithCodecs(hugeLines{}), remote.WithMaxMessage(1<<20))
	cli := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb))
	feed(t, srv)
	ctx := ctxTimeout(t, 60*time.Second)
	const total = 300
	f, err := remote.BindStream(cli, "feed", Tail, remote.WithCodec(hugeLines{})).Open(ctx, TailReq{N: total})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	readLines(t, f, total, func(read uint64) {
		if read == 1 {
			time.Sleep(20 * hb) // the reader pauses while the window fills
		}
	})
}
