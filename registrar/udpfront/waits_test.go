package udpfront

import (
	"strings"
	"testing"
	"time"
)

// Waits counts the REGISTERs read, and as late those that waited in the receive queue
// longer than LateAfter: package procscale gives the process more cores on them.
func TestWaitsCountsRegistersThatWaited(t *testing.T) {
	eachSocketMode(t, func(t *testing.T, shared bool) {
		clock := &shiftedClock{}
		h := newGated()
		close(h.release) // nothing held
		f, addr := startFront(t, Config{Handle: h.handle, Readers: 1, SharedSocket: shared, now: clock.now,
			// A bound no real wait reaches, on however busy a machine: only
			// the shifted clock makes a REGISTER late.
			ShedAge: -1, LateAfter: time.Minute})
		p := newPhone(t, addr)
		send := func(branch string) {
			t.Helper()
			p.Send(register(p.Port(), true, false, branch))
			if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 401 ") {
				t.Fatalf("REGISTER %s got:\n%s", branch, res)
			}
		}
		send("z9hG4bK-fresh")
		if read, late := f.Waits(); read != 1 || late != 0 {
			t.Fatalf("after a REGISTER answered at once: Waits() = %d read, %d late; want 1, 0", read, late)
		}
		// Read as if it had waited two minutes in the queue.
		clock.offset.Store(int64(2 * time.Minute))
		send("z9hG4bK-waited")
		if read, late := f.Waits(); read != 2 || late != 1 {
			t.Fatalf("after a REGISTER that waited two minutes: Waits() = %d read, %d late; want 2, 1", read, late)
		}
	})
}
