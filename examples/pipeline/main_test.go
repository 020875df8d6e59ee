package main

import (
	"bytes"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// The output is deterministic: the reader reads what the chain carried,
// in order, and resumes on the same stream where it dropped, with the
// chunks that came while it was away; the log's end reaches it through
// the filter as its last pair.
func TestPipeline(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	const want = `reader:
  0 A CHAIN OF CHUNKS      (4 words)
  1 FLOWS FROM THE LOG     (8 words)
  2 THROUGH THE FILTER     (11 words)
reader dropped after 3 chunks; 3 lines written since
resumed with Since(3):
  3 WHILE NOBODY READS     (14 words)
  4 THE JOURNAL KEEPS      (17 words)
  5 EVERY CHUNK NUMBERED   (20 words)
  6 SO THE READER RESUMES  (24 words)
  7 WHERE IT DROPPED       (27 words)
end: upper: log rotated | rotated: true
`
	if got := out.String(); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}
