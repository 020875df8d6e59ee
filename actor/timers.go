package actor

// timerSet is an actor's keyed timers (After, Every).
type timerSet struct{}

func (ts *timerSet) stopAll() {}
