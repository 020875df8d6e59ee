package remote_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/troupe-go/troupe/remote"
)

// TestResolve: the locator answers cocaine's triple — which nodes, which
// version, which API — from the micro services of the nodes.
func TestResolve(t *testing.T) {
	s := startServer(t)
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"), remote.WithVersion("1.2.0"))
	cli := startNode(t, s.ClientURL(), remote.WithName("cli"))
	export(t, n1, "accounts")
	export(t, n2, "accounts")
	ctx := ctxTimeout(t, 10*time.Second)
	svc, err := remote.Resolve(ctx, cli, "accounts")
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if len(svc.Instances) != 2 || svc.Instances[0].Node != "n1" || svc.Instances[1].Node != "n2" {
		t.Fatalf("instances %+v; want n1 and n2", svc.Instances)
	}
	if svc.Version != "1.2.0" || svc.Instances[0].Version != "1.0.0" {
		t.Fatalf("version %q (n1 %q); want 1.2.0 (n1 1.0.0)", svc.Version, svc.Instances[0].Version)
	}
	want := map[string][2]string{
		"deposit": {"int", "int"},
		"echo":    {"string", "string"},
		"balance": {"struct {}", "int"},
	}
	found := 0
	for _, m := range svc.API {
		if w, ok := want[m.Name]; ok {
			found++
			if m.Request != w[0] || m.Reply != w[1] || m.Subject != "troupe.accounts."+m.Name {
				t.Fatalf("method %+v; want request %q reply %q subject troupe.accounts.%s", m, w[0], w[1], m.Name)
			}
		}
	}
	if found != len(want) || len(svc.API) != 7 {
		t.Fatalf("API %+v; want the 7 exported methods", svc.API)
	}

	tests := []struct {
		name string
		want error
	}{
		{"nobody", remote.ErrNotFound},
		{"a.b", remote.ErrInvalidName},
		{"", remote.ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := remote.Resolve(ctx, cli, tt.name); !errors.Is(err, tt.want) {
				t.Fatalf("Resolve(%q): got %v; want %v", tt.name, err, tt.want)
			}
		})
	}
	if _, err := remote.Resolve(ctx, nil, "accounts"); !errors.Is(err, remote.ErrNilNode) {
		t.Fatalf("Resolve(nil node): got %v; want ErrNilNode", err)
	}
}

// TestMicroVerbs: $SRV.PING, INFO and STATS answer for every node, as the
// nats CLI's `micro ls|info|stats` ask them.
func TestMicroVerbs(t *testing.T) {
	s := startServer(t)
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"))
	export(t, n1, "accounts")
	export(t, n2, "accounts")
	ctx := ctxTimeout(t, 10*time.Second)
	for range 10 {
		if _, err := remote.Bind(n1, "accounts", Deposit).Call(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, verb := range []string{"PING", "INFO", "STATS"} {
		t.Run(verb, func(t *testing.T) {
			answers := gather(t, n1.Conn(), "$SRV."+verb+".accounts", 2)
			requests := 0
			for _, a := range answers {
				var id micro.ServiceIdentity
				if err := json.Unmarshal(a, &id); err != nil || id.Name != "accounts" {
					t.Fatalf("answer %s; want the accounts service", a)
				}
				if verb == "STATS" {
					var st micro.Stats
					_ = json.Unmarshal(a, &st)
					for _, e := range st.Endpoints {
						if e.Name == "deposit" {
							requests += e.NumRequests
						}
					}
				}
			}
			if verb == "STATS" && requests != 10 {
				t.Fatalf("stats count %d deposit requests; want 10", requests)
			}
		})
	}
	// "nats micro ls" asks $SRV.PING: both services answer.
	if got := len(gather(t, n1.Conn(), "$SRV.PING", 2)); got != 2 {
		t.Fatalf("$SRV.PING answers %d; want 2", got)
	}
}

// gather sends a request on subj and collects want answers.
func gather(t *testing.T, nc *nats.Conn, subj string, want int) [][]byte {
	t.Helper()
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest(subj, inbox, nil); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(out) < want {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("%s: %d answers, then %v; want %d", subj, len(out), err, want)
		}
		out = append(out, m.Data)
	}
	return out
}

// TestQueueGroup: several nodes exporting one name share its calls, and
// each call is answered once.
func TestQueueGroup(t *testing.T) {
	s := startServer(t)
	n1 := startNode(t, s.ClientURL())
	n2 := startNode(t, s.ClientURL())
	cli := startNode(t, s.ClientURL())
	_, a1 := export(t, n1, "accounts")
	_, a2 := export(t, n2, "accounts")
	b := remote.Bind(cli, "accounts", Echo)
	ctx := ctxTimeout(t, 10*time.Second)
	const calls = 200
	for range calls {
		if _, err := b.Call(ctx, "x"); err != nil {
			t.Fatal(err)
		}
	}
	h1, h2 := a1.hits.Load(), a2.hits.Load()
	if h1+h2 != calls || h1 == 0 || h2 == 0 {
		t.Fatalf("handled %d + %d; want %d in all, shared by both", h1, h2, calls)
	}
}

// TestResolveNodeClosed: a Resolve still waiting for its first answer
// when its node closes returns ErrClosed at once, not ErrNotFound (nobody
// said the name is not served) nor its ctx's end a minute later.
func TestResolveNodeClosed(t *testing.T) {
	s := startServer(t)
	cli := startNode(t, s.ClientURL())
	// Someone listens for the name's INFO and never answers: no 503, so
	// Resolve waits for an answer.
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	asked := make(chan struct{}, 1)
	subj, _ := micro.ControlSubject(micro.InfoVerb, "silent", "")
	if _, err := nc.Subscribe(subj, func(*nats.Msg) { asked <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := remote.Resolve(ctxTimeout(t, time.Minute), cli, "silent")
		got <- err
	}()
	<-asked
	_ = cli.Close()
	select {
	case err := <-got:
		if !errors.Is(err, remote.ErrClosed) || errors.Is(err, remote.ErrNotFound) {
			t.Fatalf("Resolve: got %v; want ErrClosed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Resolve still waits 30 s after its node closed")
	}
}
