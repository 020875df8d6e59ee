package main

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// The README's quickstart is this program, from its first type to the end.
func TestReadmeShowsThisProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```go\n(.*?)```").FindSubmatch(readme)
	if block == nil {
		t.Fatal("README has no go block")
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	body := src[bytes.Index(src, []byte("type Account")):]
	if got, want := strings.TrimSpace(string(block[1])), strings.TrimSpace(string(body)); got != want {
		t.Fatalf("README quickstart differs from examples/quickstart/main.go:\n--- README\n%s\n--- main.go\n%s", got, want)
	}
}

func TestRun(t *testing.T) {
	r, w, _ := os.Pipe()
	stdout := os.Stdout
	os.Stdout = w
	main()
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	want := "10 <nil>\n16 <nil>\ntrue\n<nil>\n"
	if string(out) != want {
		t.Fatalf("output %q; want %q", out, want)
	}
}
