package udpfront

import (
	"sync/atomic"
	"time"
)

// DefaultLateAfter is how long a REGISTER may wait in the socket's receive queue
// before it counts as late in Waits: the response time a registrar should keep
// for 99% of them (p99 under 2 ms).
const DefaultLateAfter = 2 * time.Millisecond

// waitStats counts one reader's REGISTERs, and those that waited longer than
// Config.LateAfter; its reader adds, Waits sums.
type waitStats struct {
	read, late atomic.Uint64
	_          [48]byte // a cache line of its own: readers do not contend on it
}

// count counts a REGISTER that waited age (0: unknown, not late).
func (w *waitStats) count(age, lateAfter time.Duration) {
	w.read.Add(1)
	if age > lateAfter {
		w.late.Add(1)
	}
}

// waitBook holds every reader's waitStats, by reader.
type waitBook struct {
	readers []*waitStats
}

func newWaitBook(readers int) waitBook {
	b := waitBook{readers: make([]*waitStats, readers)}
	for i := range b.readers {
		b.readers[i] = &waitStats{}
	}
	return b
}

// Waits is how many REGISTERs the readers have taken off the socket, and how many of
// them had waited in its receive queue longer than Config.LateAfter: a late one
// tells the readers are not keeping up (package procscale reads it).
func (f *Front) Waits() (read, late uint64) {
	for _, w := range f.waits.readers {
		read += w.read.Load()
		late += w.late.Load()
	}
	return read, late
}
