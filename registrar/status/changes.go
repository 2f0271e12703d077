package status

import "sync"

// Changes is the set of AORs whose bindings changed since the writer last wrote
// them. The location table reports into it (Mark is the onChange given to
// location.New) and the writer drains it: made before both, it lets each take the
// other's end in its constructor.
type Changes struct {
	mu    sync.Mutex
	dirty map[string]struct{}
	kick  chan struct{} // wakes the writer's Run
}

// NewChanges returns an empty set.
func NewChanges() *Changes {
	return &Changes{dirty: map[string]struct{}{}, kick: make(chan struct{}, 1)}
}

// Mark marks an AOR for writing and wakes the writer: cheap and never blocking.
func (c *Changes) Mark(aor string) {
	c.requeue(aor)
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Len counts the AORs waiting to be written.
func (c *Changes) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.dirty)
}

// requeue marks an AOR again without waking the writer: a failed write is retried
// on the writer's retry tick, not at once.
func (c *Changes) requeue(aor string) {
	c.mu.Lock()
	c.dirty[aor] = struct{}{}
	c.mu.Unlock()
}

// take empties the set and returns what it held.
func (c *Changes) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	batch := make([]string, 0, len(c.dirty))
	for aor := range c.dirty {
		batch = append(batch, aor)
	}
	clear(c.dirty)
	return batch
}
