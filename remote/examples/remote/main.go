// Command remote is cocaine's locator and services on NATS: a bank node
// exports an "accounts" service, a teller node finds it by name with the
// locator and calls it. With no arguments both nodes run in this process
// over an embedded NATS server. By hand, in two processes:
//
//	go run ./examples/remote serve           # prints TROUPE_NATS_URL=nats://127.0.0.1:…
//	TROUPE_NATS_URL=nats://127.0.0.1:… go run ./examples/remote call
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
	_ "github.com/troupe-go/troupe/remote/embedded" // no URL: the node runs its own server
	troupe "github.com/troupe-go/troupe/runtime"
)

// Account is the bank's actor: a balance and its statement, a stream
// that every deposit and withdrawal writes a line to.
type Account struct {
	balance   int
	statement *actor.Out[string]
}

// note writes a statement line, if a statement was opened.
func (a *Account) note(format string, args ...any) {
	if a.statement != nil {
		_ = a.statement.Send(fmt.Sprintf(format, args...))
	}
}

// ErrInsufficient is a withdrawal over the balance; remote callers see its
// code, "insufficient_funds".
var ErrInsufficient = errors.New("insufficient funds")

var (
	Deposit = actor.NewMethod("deposit", func(a *Account, _ *actor.Ctx, n int) (int, error) {
		a.balance += n
		a.note("deposit %d, balance %d", n, a.balance)
		return a.balance, nil
	})
	Withdraw = actor.NewMethod("withdraw", func(a *Account, _ *actor.Ctx, n int) (int, error) {
		if n > a.balance {
			return a.balance, &remote.CodedError{Code: "insufficient_funds", Err: ErrInsufficient}
		}
		a.balance -= n
		a.note("withdraw %d, balance %d", n, a.balance)
		return a.balance, nil
	})
	// Statement starts a new statement stream (ending the previous one):
	// the lines from now on. Other readers attach to it by its ref.
	Statement = actor.NewStream("statement", func(a *Account, _ *actor.Ctx, _ struct{}, out *actor.Out[string]) error {
		if a.statement != nil {
			_ = a.statement.Close(nil)
		}
		a.statement = out
		return nil
	})
	Balance = actor.NewMethod("balance", func(a *Account, _ *actor.Ctx, _ struct{}) (int, error) {
		return a.balance, nil
	})
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop) // from the first Ctrl-C on, a second one ends the process at once
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "remote:", err)
		os.Exit(1)
	}
}

// run runs both nodes (no args), the bank until ctx ends ("serve"), or the
// teller once ("call").
func run(ctx context.Context, args []string, w io.Writer) error {
	mode := "both"
	if len(args) > 0 {
		mode = args[0]
	}
	switch mode {
	case "both":
		bank, err := startBank(ctx)
		if err != nil {
			return err
		}
		defer bank.close()
		return teller(ctx, w, remote.WithURL(bank.node.URL()))
	case "serve":
		bank, err := startBank(ctx)
		if err != nil {
			return err
		}
		defer bank.close()
		fmt.Fprintf(w, "TROUPE_NATS_URL=%s\n", bank.node.URL())
		<-ctx.Done()
		return nil
	case "call":
		return teller(ctx, w)
	}
	return fmt.Errorf("unknown mode %q: want serve, call or nothing", mode)
}

// bank is a runtime with an account, exported as "accounts".
type bank struct {
	rt   *troupe.Runtime
	node *remote.Node
}

func startBank(ctx context.Context) (*bank, error) {
	rt, err := troupe.New()
	if err != nil {
		return nil, err
	}
	node, err := remote.Start(ctx, rt, remote.WithName("bank"), remote.WithVersion("1.2.0"))
	if err != nil {
		_ = rt.Close()
		return nil, err
	}
	b := &bank{rt: rt, node: node}
	acct, err := actor.Spawn(rt, &Account{})
	if err == nil {
		err = remote.Export(node, "accounts", acct, remote.Serve(Deposit), remote.Serve(Withdraw),
			remote.Serve(Balance), remote.ServeStream(Statement))
	}
	if err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// close stops the node (its connection, then its server), then the runtime.
func (b *bank) close() {
	_ = b.node.Shutdown(context.Background())
	_ = b.rt.Shutdown(context.Background())
}

// teller resolves "accounts" and calls it by name.
func teller(ctx context.Context, w io.Writer, opts ...remote.Option) error {
	rt, err := troupe.New()
	if err != nil {
		return err
	}
	defer func() { _ = rt.Shutdown(context.Background()) }()
	node, err := remote.Start(ctx, rt, append(opts, remote.WithName("teller"))...)
	if err != nil {
		return err
	}
	defer func() { _ = node.Shutdown(context.Background()) }()

	svc, err := remote.Resolve(ctx, node, "accounts")
	if err != nil {
		return err
	}
	var nodes []string
	for _, in := range svc.Instances {
		nodes = append(nodes, in.Node)
	}
	fmt.Fprintf(w, "resolved %s: version %s on %s\n", svc.Name, svc.Version, strings.Join(nodes, ", "))
	for _, m := range svc.API {
		fmt.Fprintf(w, "  %s(%s) %s\n", m.Name, m.Request, m.Reply)
	}

	// The statement is opened first, so that it sees every line.
	stmt, err := remote.BindStream(node, "accounts", Statement).Open(ctx, struct{}{})
	if err != nil {
		return err
	}
	defer stmt.Close() // on an early return; the break below closes it too
	deposit := remote.Bind(node, "accounts", Deposit)
	withdraw := remote.Bind(node, "accounts", Withdraw)
	bal, err := deposit.Call(ctx, 100)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "deposit 100 → balance %d\n", bal)
	if bal, err = withdraw.Call(ctx, 30); err != nil {
		return err
	}
	fmt.Fprintf(w, "withdraw 30 → balance %d\n", bal)
	_, err = withdraw.Call(ctx, 500)
	var re *remote.Error
	if !errors.As(err, &re) {
		return fmt.Errorf("withdraw 500: got %v; want a remote error", err)
	}
	fmt.Fprintf(w, "withdraw 500 → %s: %s\n", re.Code, re.Message)
	_, err = remote.Bind(node, "vault", Balance).Call(ctx, struct{}{})
	fmt.Fprintf(w, "vault → not found: %t\n", errors.Is(err, remote.ErrNotFound))

	// Follow the statement for one line, stop; then resume after it by
	// the stream's ref (from any node, as harp's job(id).follow(since)).
	var last uint64
	for it, err := range stmt.All() {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "statement #%d: %s\n", it.Seq, it.V)
		last = it.Seq
		break // closes this reader; the stream goes on
	}
	if _, err := deposit.Call(ctx, 5); err != nil {
		return err
	}
	resumed, err := remote.BindStream(node, "accounts", Statement).Follow(ctx, stmt.Ref(), actor.Since(last+1))
	if err != nil {
		return err
	}
	defer resumed.Close()
	n := 0
	for it, err := range resumed.All() {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "resumed #%d: %s\n", it.Seq, it.V)
		if n++; n == 2 {
			break
		}
	}
	return nil
}
