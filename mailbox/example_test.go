package mailbox_test

import (
	"context"
	"fmt"

	"github.com/troupe-go/troupe/mailbox"
)

func Example() {
	type message struct {
		kind mailbox.Key
		text string
	}
	const (
		read mailbox.Key = iota + 1
		write
	)
	cfg := &mailbox.Config[message]{ // shared by every mailbox of this kind
		Key: func(m message) mailbox.Key { return m.kind },
	}
	mb, err := mailbox.New(cfg)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	schedule, _ := mb.Push(ctx, message{write, "write a"})
	fmt.Println("first push schedules the consumer:", schedule)
	schedule, _ = mb.Push(ctx, message{read, "read 1"})
	fmt.Println("second push schedules it again:", schedule)
	mb.Push(ctx, message{write, "write b"})
	mb.PushSystem(message{0, "restart"})

	// The consumer's turn: only reads for now.
	mb.Admit(read)
	turn := func() {
		for {
			m, system, ok := mb.Pop()
			if !ok {
				if mb.Idle() {
					return
				}
				continue
			}
			fmt.Printf("%s (system: %v)\n", m.text, system)
		}
	}
	turn()
	fmt.Println("held:", mb.Held()[write])

	// Later turn: everything again; held writes come out in arrival order.
	mb.AdmitAll()
	mb.Push(ctx, message{read, "read 2"})
	turn()
	fmt.Println("left at close:", mb.Close())
	// Output:
	// first push schedules the consumer: true
	// second push schedules it again: false
	// restart (system: true)
	// read 1 (system: false)
	// held: 2
	// write a (system: false)
	// write b (system: false)
	// read 2 (system: false)
	// left at close: []
}
