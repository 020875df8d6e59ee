package runtime

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// README guarantee 6: a panic with nobody to report to (in the dead-letter
// hook) goes to the WithErrorHook hook, or without one is logged at error
// level through WithLogger's logger, or without one is written to standard
// error; a panic in the error hook itself is written to standard error.
func TestHookPanicFallbacks(t *testing.T) {
	panicky := WithDeadLetterHook(func(DeadLetter) { panic("dead-letter hook") })
	for _, tc := range []struct {
		name string
		opts func(log *lockedBuffer, got *[]error) []Option
		want func(t *testing.T, log, stderr string, got []error)
	}{
		{"error hook", func(_ *lockedBuffer, got *[]error) []Option {
			return []Option{WithErrorHook(func(err error) { *got = append(*got, err) })}
		}, func(t *testing.T, log, stderr string, got []error) {
			var pe *actor.PanicError
			if len(got) != 1 || !errors.As(got[0], &pe) || pe.Value != "dead-letter hook" || stderr != "" {
				t.Errorf("error hook got %v, stderr %q; want the hook's *PanicError only", got, stderr)
			}
		}},
		{"logger", func(log *lockedBuffer, _ *[]error) []Option {
			return []Option{WithLogger(slog.New(slog.NewTextHandler(log, nil)))}
		}, func(t *testing.T, log, stderr string, _ []error) {
			if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "dead-letter hook") || stderr != "" {
				t.Errorf("log %q, stderr %q; want the panic logged at error level only", log, stderr)
			}
		}},
		{"standard error", func(*lockedBuffer, *[]error) []Option { return nil },
			func(t *testing.T, _, stderr string, _ []error) {
				if !strings.Contains(stderr, "dead-letter hook") {
					t.Errorf("stderr %q; want the panic written there", stderr)
				}
			}},
		{"panicking error hook", func(*lockedBuffer, *[]error) []Option {
			return []Option{WithErrorHook(func(error) { panic("error hook") })}
		}, func(t *testing.T, _, stderr string, _ []error) {
			if !strings.Contains(stderr, "error hook panicked") || !strings.Contains(stderr, "dead-letter hook") {
				t.Errorf("stderr %q; want both panics written there", stderr)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log, stderr lockedBuffer
			var got []error
			rt, err := New(append(tc.opts(&log, &got), panicky)...)
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			rt.sink.stderr = &stderr
			ref, err := actor.Spawn(rt, &target{})
			if err != nil {
				t.Fatal(err)
			}
			if err := ref.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			// A dead letter, reported on this goroutine: the hook panics here.
			if err := ping.Cast(ref, 1); !errors.Is(err, actor.ErrStopped) {
				t.Fatalf("Cast to a stopped actor: got %v; want ErrStopped", err)
			}
			tc.want(t, log.String(), stderr.String(), got)
		})
	}
}
