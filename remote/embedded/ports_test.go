package embedded

import (
	"fmt"
	"os"
	"testing"
)

// TestFreePortsOutsideEphemeralRange: route ports are reserved below the
// kernel's ephemeral range, where no outgoing connection takes one
// between the reservation and the server's bind; they are distinct.
func TestFreePortsOutsideEphemeralRange(t *testing.T) {
	lo, hi := portRange()
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var first, last int
		if _, err := fmt.Sscan(string(b), &first, &last); err != nil {
			t.Fatal(err)
		}
		if hi >= first || lo > hi {
			t.Fatalf("route ports [%d, %d]; the ephemeral range is [%d, %d]", lo, hi, first, last)
		}
	}
	ports, err := freePorts(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < lo || p > hi {
			t.Errorf("port %d outside [%d, %d]", p, lo, hi)
		}
		if seen[p] {
			t.Errorf("port %d reserved twice", p)
		}
		seen[p] = true
	}
}

// TestListenInFallsBack: with an empty range, the kernel picks the port.
func TestListenInFallsBack(t *testing.T) {
	l, err := listenIn(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
}
