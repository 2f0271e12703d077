package status

import (
	"sync"
	"time"
)

// Changes is the set of AORs whose status is to be written. The location table
// reports into it (Mark is the onChange given to location.New) and the writer drains
// it: made before both, it lets each take the other's end in its constructor.
//
// It holds one entry per AOR, never one per change: however often an AOR changes
// before it is written, it is written once, with its latest state. An entry is fresh
// (its bindings changed: a device came, moved or left) or due (only its published
// lease runs out, or an earlier write failed); the writer takes fresh ones first, so
// that a device that just registered reaches status ahead of a backlog of renewals,
// and within each kind the oldest first, so that none waits longer than the backlog
// ahead of it.
type Changes struct {
	mu sync.Mutex
	// pending says, per AOR, whether it is fresh (true) or due (false).
	pending map[string]bool
	// markedAt is when each fresh AOR was first marked since it was last taken:
	// its coalescing window starts then. It holds the fresh AORs, no other.
	markedAt map[string]time.Time
	// The order to take them in. An AOR leaves pending when it is taken or turns
	// fresh; the queues keep its old place, skipped when reached (see compact).
	freshQ, dueQ []string
	// inFlight holds the AORs being written (at most the writer's Writers).
	inFlight map[string]struct{}
	kick     chan struct{} // wakes the writer's Run
}

// NewChanges returns an empty set.
func NewChanges() *Changes {
	return &Changes{pending: map[string]bool{}, markedAt: map[string]time.Time{}, inFlight: map[string]struct{}{},
		kick: make(chan struct{}, 1)}
}

// Mark marks an AOR whose bindings changed and wakes the writer: cheap and never
// blocking.
func (c *Changes) Mark(aor string) {
	c.mu.Lock()
	if fresh, ok := c.pending[aor]; !ok || !fresh {
		c.pending[aor] = true
		c.markedAt[aor] = time.Now()
		c.freshQ = append(c.freshQ, aor)
		c.compact()
	}
	c.mu.Unlock()
	c.wake()
}

// wake wakes the writer's Run, if it is not awake already.
func (c *Changes) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Len counts the AORs waiting to be written or being written.
func (c *Changes) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) + len(c.inFlight)
}

// requeue marks an AOR due without waking the writer: a lease renewal waits for
// the next flush. An AOR already pending keeps its place; one being written is
// left alone, its write is the renewal.
func (c *Changes) requeue(aor string) {
	c.mu.Lock()
	if _, writing := c.inFlight[aor]; !writing {
		c.addDue(aor)
	}
	c.mu.Unlock()
}

func (c *Changes) addDue(aor string) {
	if _, ok := c.pending[aor]; !ok {
		c.pending[aor] = false
		c.dueQ = append(c.dueQ, aor)
		c.compact()
	}
}

// next takes an AOR to write, fresh ones first, and counts it in flight until
// done or failed is called; ok is false when none is left. A fresh AOR marked
// after markedBy is left for a later flush: its coalescing window is still open.
// An AOR already being written waits for that write to end (it goes to the back):
// two writes of one AOR at once could land in the wrong order.
func (c *Changes) next(markedBy time.Time) (aor string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for tries := len(c.freshQ); tries > 0 && len(c.freshQ) > 0; tries-- {
		aor = c.freshQ[0]
		if fresh, ok := c.pending[aor]; !ok || !fresh {
			c.freshQ = c.freshQ[1:] // taken or turned due since: a stale place
			continue
		}
		if c.markedAt[aor].After(markedBy) {
			break // the queue is in marking order: the rest are younger
		}
		c.freshQ = c.freshQ[1:]
		if _, writing := c.inFlight[aor]; writing {
			c.freshQ = append(c.freshQ, aor)
			continue
		}
		delete(c.pending, aor)
		delete(c.markedAt, aor)
		c.inFlight[aor] = struct{}{}
		return aor, true
	}
	for tries := len(c.dueQ); tries > 0 && len(c.dueQ) > 0; tries-- {
		aor, c.dueQ = c.dueQ[0], c.dueQ[1:]
		if fresh, ok := c.pending[aor]; !ok || fresh {
			continue
		}
		if _, writing := c.inFlight[aor]; writing {
			c.dueQ = append(c.dueQ, aor)
			continue
		}
		delete(c.pending, aor)
		c.inFlight[aor] = struct{}{}
		return aor, true
	}
	return "", false
}

// freshLeft reports whether fresh AORs wait for their coalescing window.
func (c *Changes) freshLeft() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.markedAt) > 0
}

// done ends the write of an AOR that next returned.
func (c *Changes) done(aor string) {
	c.mu.Lock()
	delete(c.inFlight, aor)
	c.mu.Unlock()
}

// failed ends the failed write of an AOR that next returned and marks it due, in
// one step: the backlog never reads 0 while a write is still owed. It is retried
// on a later flush, not at once.
func (c *Changes) failed(aor string) {
	c.mu.Lock()
	delete(c.inFlight, aor)
	c.addDue(aor)
	c.mu.Unlock()
}

// compact drops the places of AORs that are no longer pending in that kind once
// they outnumber the live ones, so that the queues stay within twice the pending
// set however often AORs turn fresh, are taken and come back.
func (c *Changes) compact() {
	if len(c.freshQ)+len(c.dueQ) <= 2*len(c.pending)+64 {
		return
	}
	keep := func(q []string, fresh bool) []string {
		out := make([]string, 0, len(q)/2)
		seen := make(map[string]struct{}, len(q)/2)
		for _, aor := range q {
			if f, ok := c.pending[aor]; ok && f == fresh {
				if _, dup := seen[aor]; !dup {
					seen[aor] = struct{}{}
					out = append(out, aor)
				}
			}
		}
		return out
	}
	c.freshQ, c.dueQ = keep(c.freshQ, true), keep(c.dueQ, false)
}
