package timer

import "runtime"

// goid returns the id of the calling goroutine, read from the header of
// its stack trace ("goroutine 18 [running]:").
//
// Go has no API for goroutine identity, and this is its only use:
// [Wheel.Stop] must know whether it runs on the driver (called from a
// callback), where waiting for the driver to exit would deadlock. A flag
// set around callbacks cannot tell the driver from another goroutine
// calling Stop at the same moment, which must wait. Cost: about a
// microsecond, once per Stop and once per driver.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(b) < len(prefix) {
		return 0
	}
	var id uint64
	for _, c := range b[len(prefix):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
