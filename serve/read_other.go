//go:build !unix

package serve

// readDirect is unavailable without read(2): read serves every
// connection.
func (c *Conn) readDirect(*reader) bool { return false }
