package serve

import "time"

// SetSSEHold sets how long SSE holds its headers back for a stream that
// has nothing yet, until restore.
func SetSSEHold(d time.Duration) (restore func()) {
	old := sseHold.Swap(int64(d))
	return func() { sseHold.Store(old) }
}
