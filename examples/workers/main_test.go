package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// Part 1 is deterministic: every job but the panicking one is done, its
// caller gets the panic, and only its worker restarts. Part 2 prints
// wall-clock makespans: only their shape is checked (tests never assert
// speed).
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	const part1 = `fan-out:  1000 jobs over 8 workers with AskPool and AwaitAll: 999 done, 1 failed
failed:   square panicked: job 500: bad input (a *actor.PanicError, with its stack)
sum:      332583500 (the squares of 0..999 but 500)
restart:  1 worker restarted with a fresh state, the other 7 kept theirs; the pool has 8 workers
uneven:   899 jobs of 1 ms, 101 of 20 ms, sent at once to 8 workers; ideal makespan 364.875ms`
	if got := strings.Join(lines[:min(5, len(lines))], "\n"); got != part1 {
		t.Fatalf("output:\n%s\nwant:\n%s", got, part1)
	}
	if len(lines) != 8 {
		t.Fatalf("got %d lines; want 8:\n%s", len(lines), out.String())
	}
	for i, name := range []string{"round robin", "least busy", "balancing"} {
		re := regexp.MustCompile(`^  ` + name + ` +makespan +[0-9]+\.[0-9] ms  [0-9]+\.[0-9]{2}× ideal$`)
		if !re.MatchString(lines[5+i]) {
			t.Errorf("line %d: got %q; want %s's makespan", 6+i, lines[5+i], name)
		}
	}
}
