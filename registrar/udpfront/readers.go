package udpfront

import (
	"sync"
	"sync/atomic"
)

// readerGate lets only the first active readers read; the others wait until there
// are more Ps to run them (SetActiveReaders), or until an active one blocks on a
// full send buffer (lend).
//
// On Linux every reader's descriptor is a dup of one socket, and a datagram wakes
// each reader waiting in the poller. On one P they take turns: the second reader
// wakes only to find the socket empty, a system call and two goroutine switches per
// datagram for nothing, and it keeps the first from the next datagram meanwhile.
// (Readers sharing the listener through Go's poller queue on its lock instead; the
// gate spares them only the goroutines.)
type readerGate struct {
	active atomic.Int32
	// lent counts readers let in beyond active while as many active ones wait
	// for the send buffer: reading goes on meanwhile.
	lent atomic.Int32
	mu   sync.Mutex
	more chan struct{} // closed when active grows
	// stopped is closed once a reader finds the listener closed: the waiting
	// readers end too.
	stopped  chan struct{}
	stopOnce sync.Once
}

func newReaderGate(readers int) *readerGate {
	g := &readerGate{more: make(chan struct{}), stopped: make(chan struct{})}
	g.active.Store(int32(readers))
	return g
}

// set makes the first n readers active.
func (g *readerGate) set(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if old := g.active.Swap(int32(n)); int32(n) > old {
		g.wake()
	}
}

// lend lets one more reader read until the returned func is called.
func (g *readerGate) lend() (giveBack func()) {
	g.mu.Lock()
	g.lent.Add(1)
	g.wake()
	g.mu.Unlock()
	return func() { g.lent.Add(-1) }
}

// wake wakes the waiting readers to look again; g.mu is held.
func (g *readerGate) wake() {
	close(g.more)
	g.more = make(chan struct{})
}

// allowed tells whether reader i may read now.
func (g *readerGate) allowed(i int) bool {
	return int32(i) < g.active.Load()+g.lent.Load()
}

// wait returns true once reader i may read, false once the listener is closed.
func (g *readerGate) wait(i int) bool {
	for !g.allowed(i) {
		g.mu.Lock()
		more := g.more
		g.mu.Unlock()
		if g.allowed(i) {
			return true // raised before more was taken
		}
		select {
		case <-more:
		case <-g.stopped:
			return false
		}
	}
	return true
}

func (g *readerGate) stop() { g.stopOnce.Do(func() { close(g.stopped) }) }

// SetActiveReaders lets only n of the readers read (at least one, at most
// Config.Readers); the others wait until it is raised. Package procscale calls it
// with GOMAXPROCS: a reader more than there are Ps only costs wake-ups.
func (f *Front) SetActiveReaders(n int) {
	f.gate.set(min(max(n, 1), f.cfg.Readers))
}
