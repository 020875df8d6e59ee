// Command quickstart is the README's first example, kept compiling: its
// test checks that the README shows exactly this file's body.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

type Account struct{ balance int }

var Deposit = actor.NewMethod("deposit", func(a *Account, c *actor.Ctx, n int) (int, error) {
	a.balance += n // only this actor's turn touches a: no lock
	return a.balance, nil
})

func main() {
	rt, err := troupe.New()
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	acct, err := actor.Spawn(rt, &Account{}, actor.WithName("acct-1"))
	if err != nil {
		log.Fatal(err)
	}
	bal, err := Deposit.Call(ctx, acct, 10) // sync: reply, error, *actor.PanicError or a sentinel
	fmt.Println(bal, err)                   // 10 <nil>
	_ = Deposit.Cast(acct, 5)               // oneway: its failure goes to the dead letters
	f := Deposit.Ask(ctx, acct, 1)          // a future, collected with f.Await or actor.AwaitAll
	bal, err = f.Await(ctx)
	fmt.Println(bal, err) // 16 <nil>

	same, _ := troupe.Lookup[*Account](rt, "acct-1") // by name
	fmt.Println(same == acct)                        // true
	fmt.Println(acct.Stop(ctx))                      // <nil>: what is queued runs, later calls get actor.ErrStopped
}
