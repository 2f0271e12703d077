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
			var most uint64
			for i := range after {
				most = max(most, after[i]-before[i])
			}
			// Each inactive reader may take the one batch it was waiting for.
			if most < more-2 {
				t.Fatalf("with one active reader of 3, reads by reader went %v → %v: the others kept reading", before, after)
			}
			if raise {
				f.SetActiveReaders(3)
				send(10)
			}
			// startFront's cleanup closes the listener and checks Serve returns.
		})
	}
}
