package udpfront

import (
	"fmt"
	"strings"
	"testing"
)

// readsByReader is how many REGISTERs each reader has read.
func readsByReader(f *Front) []uint64 {
	var n []uint64
	for _, w := range f.waits.readers {
		n = append(n, w.read.Load())
	}
	return n
}

// With fewer active readers than started, the others stop reading (at most one more
// batch each, the one they were waiting for) until raised again, and the front end
// still stops when the listener closes, whether they were held or not.
func TestInactiveReadersStopReading(t *testing.T) {
	for _, raise := range []bool{false, true} {
		t.Run(fmt.Sprintf("raised again %v", raise), func(t *testing.T) {
			h := newGated()
			close(h.release)
			f, addr := startFront(t, Config{Handle: h.handle, Readers: 3, ShedAge: -1})
			p := newPhone(t, addr)
			send := func(n int) {
				t.Helper()
				for i := range n {
					p.Send(register(p.Port(), true, false, fmt.Sprintf("z9hG4bK-%v-%d-%d", raise, n, i)))
					if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 401 ") {
						t.Fatalf("REGISTER %d got:\n%s", i, res)
					}
				}
			}
			f.SetActiveReaders(1)
			const more = 60
			before := readsByReader(f)
			send(more)
			after := readsByReader(f)
			// Reader 0 reads; each inactive one may take the one batch it was
			// waiting for, no more.
			for i := 1; i < len(after); i++ {
				if after[i]-before[i] > 1 {
					t.Fatalf("with one active reader of 3, reads by reader went %v → %v: reader %d kept reading", before, after, i)
				}
			}
			if raise {
				f.SetActiveReaders(3)
				send(10)
			}
			// startFront's cleanup closes the listener and checks Serve returns.
		})
	}
}

func TestReaderGate(t *testing.T) {
	g := newReaderGate(3)
	g.set(1)
	if !g.allowed(0) || g.allowed(1) {
		t.Fatal("with one active reader, reader 0 reads and reader 1 does not")
	}
	// Reader 1 waits; raising the count lets it go.
	went := make(chan bool)
	go func() { went <- g.wait(1) }()
	g.set(2)
	if !<-went {
		t.Fatal("reader 1 was not let go when two became active")
	}
	// Reader 2 waits; one lent while an active reader waits to send lets it go.
	go func() { went <- g.wait(2) }()
	giveBack := g.lend()
	if !<-went {
		t.Fatal("reader 2 was not let go by a lent reader")
	}
	giveBack()
	if g.allowed(2) {
		t.Fatal("reader 2 may still read after the lent reader was given back")
	}
	// A waiting reader ends once the listener is closed.
	go func() { went <- g.wait(2) }()
	g.stop()
	if <-went {
		t.Fatal("a waiting reader was let read after the listener closed")
	}
}
