package actor_test

import (
	"context"
	"fmt"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Lobby is the state of a game's lobby, owned by the game loop.
type Lobby struct{ players []string }

// Join seats a player and replies with the number of players seated.
var Join = actor.NewMethod("join", func(l *Lobby, _ *actor.Ctx, name string) (int, error) {
	l.players = append(l.players, name)
	return len(l.players), nil
})

// A game loop embeds an actor: other goroutines Cast and Call its ref as
// usual, and the loop runs their calls on its own goroutine, at the points
// it chooses. Between those points the loop owns the state outright.
func ExampleNewHandler() {
	rt, err := troupe.New()
	if err != nil {
		panic(err)
	}
	defer rt.Shutdown(context.Background())
	ctx := context.Background()

	lobby := &Lobby{}
	h, err := actor.NewHandler(rt, lobby)
	if err != nil {
		panic(err)
	}
	_ = Join.Cast(h.Ref(), "ann")
	_ = Join.Cast(h.Ref(), "bob")
	fmt.Println("queued, not run:", len(lobby.players))

	// A safe point of the loop: run what is pending now, then go on.
	if err := h.Process(ctx); err != nil {
		panic(err)
	}
	fmt.Println("after Process:", lobby.players)

	// A sync caller waits until the loop processes its call. Here the loop
	// serves calls until StopProcessing, which the caller sends once it has
	// its reply.
	go func() {
		seat, err := Join.Call(ctx, h.Ref(), "cy")
		fmt.Println("cy sits at", seat, err)
		h.StopProcessing()
	}()
	if err := h.Process(ctx, actor.Forever()); err != nil {
		panic(err)
	}
	fmt.Println("after Forever:", lobby.players)
	// Output:
	// queued, not run: 0
	// after Process: [ann bob]
	// cy sits at 3 <nil>
	// after Forever: [ann bob cy]
}

// Vault holds gold; while sealed, it answers only Weigh and Unseal.
type Vault struct{ gold int }

var (
	Stash = actor.NewMethod("stash", func(v *Vault, _ *actor.Ctx, n int) (int, error) {
		v.gold += n
		return v.gold, nil
	})
	Weigh = actor.NewMethod("weigh", func(v *Vault, _ *actor.Ctx, _ struct{}) (int, error) {
		return v.gold, nil
	})
	Seal = actor.NewMethod("seal", func(v *Vault, c *actor.Ctx, _ struct{}) (struct{}, error) {
		return struct{}{}, c.Only(Weigh, Unseal)
	})
	Unseal = actor.NewMethod("unseal", func(v *Vault, c *actor.Ctx, _ struct{}) (struct{}, error) {
		c.AdmitAll()
		return struct{}{}, nil
	})
)

// Only holds the calls it does not admit, in arrival order, until a later
// All (or Only) admits them: nothing is dropped.
func ExampleCtx_Only() {
	rt, err := troupe.New()
	if err != nil {
		panic(err)
	}
	defer rt.Shutdown(context.Background())
	ctx := context.Background()

	vault, err := actor.Spawn(rt, &Vault{})
	if err != nil {
		panic(err)
	}
	_, _ = Seal.Call(ctx, vault, struct{}{})
	_ = Stash.Cast(vault, 10)
	_ = Stash.Cast(vault, 5)
	gold, _ := Weigh.Call(ctx, vault, struct{}{})
	fmt.Println("sealed:", gold, "gold, held:", vault.Held())

	_, _ = Unseal.Call(ctx, vault, struct{}{})
	gold, _ = Weigh.Call(ctx, vault, struct{}{})
	fmt.Println("unsealed:", gold, "gold, held:", vault.Held())
	// Output:
	// sealed: 0 gold, held: map[stash:2]
	// unsealed: 15 gold, held: map[]
}
