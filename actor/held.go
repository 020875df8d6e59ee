package actor

func (c *cell) held() map[string]int { return nil }
