package actor

// deadLetter reports a message of method to this actor that was not (or
// not successfully) delivered, with its reason (engine.Reason*), to the
// runtime's dead letters. It is the one place a dead letter is made.
func (c *cell) deadLetter(why uint8, method string, err error, payload any) {
	if f := c.sys.DeadLetter; f != nil {
		f(why, c.String(), method, err, payload)
	}
}
