package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Failures are never silent (guarantee 6), also when the error hook is
// stuck: past reportBacklog queued reports, a report is written out at
// once; once the stop gives up waiting, what is still queued is written
// out as the hook returns; and a report made after the stop began waiting
// is written out too. None is lost, none is reported twice.
func TestReporterNeverDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		var hooked, written []error
		r := &reporter{
			report: func(err error) {
				mu.Lock()
				hooked = append(hooked, err)
				first := len(hooked) == 1
				mu.Unlock()
				if first {
					<-release // the hook is stuck on the first report
				}
			},
			write: func(err error) {
				mu.Lock()
				written = append(written, err)
				mu.Unlock()
			},
		}
		const n = reportBacklog + 2 // the first, in the hook; a full backlog; one more
		sent := make([]error, n)
		for i := range sent {
			sent[i] = fmt.Errorf("report %d", i)
			r.put(sent[i])
			synctest.Wait()
		}
		mu.Lock()
		if len(hooked) != 1 || len(written) != 1 || !errors.Is(written[0], sent[n-1]) ||
			!strings.Contains(written[0].Error(), "error hook busy") {
			t.Errorf("with the hook stuck and the backlog full: hooked %d, written %v; want 1, and the last report as 'error hook busy'",
				len(hooked), written)
		}
		mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if r.wait(ctx) {
			t.Fatal("wait reported every error reported while the hook is stuck")
		}
		r.abandon()
		late := errors.New("late report")
		r.put(late) // the stop has begun waiting: written out
		close(release)
		synctest.Wait()

		mu.Lock()
		defer mu.Unlock()
		seen := map[error]int{}
		for _, err := range hooked {
			seen[err]++
		}
		for _, err := range written {
			seen[errors.Unwrap(err)]++ // "error hook busy" wraps; an abandoned one does not
			if errors.Unwrap(err) == nil {
				seen[err]++
			}
		}
		for _, err := range append(sent, late) {
			if seen[err] != 1 {
				t.Errorf("%v: reported %d times; want once (hooked %d, written %d)", err, seen[err], len(hooked), len(written))
			}
		}
	})
}
