package udpfront

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitingFront serves a front end reporting to obs (nil: none) on a clock the test
// moves on; send sends a REGISTER and waits for its 401.
func waitingFront(t *testing.T, shared bool, obs Observer) (f *Front, clock *shiftedClock, send func(branch string)) {
	t.Helper()
	clock = &shiftedClock{}
	h := newGated()
	close(h.release) // nothing held
	f, addr := startFront(t, Config{Handle: h.handle, Readers: 1, SharedSocket: shared, now: clock.now, Observer: obs,
		// A bound no real wait reaches, on however busy a machine: only
		// the shifted clock makes a REGISTER late.
		ShedAge: -1, LateAfter: time.Minute})
	p := newPhone(t, addr)
	send = func(branch string) {
		t.Helper()
		p.Send(register(p.Port(), true, false, branch))
		if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 401 ") {
			t.Fatalf("REGISTER %s got:\n%s", branch, res)
		}
	}
	return f, clock, send
}

// Waits counts the REGISTERs read, and as late those that waited in the receive queue
// longer than LateAfter: package procscale gives the process more cores on them.
func TestWaitsCountsRegistersThatWaited(t *testing.T) {
	eachSocketMode(t, func(t *testing.T, shared bool) {
		f, clock, send := waitingFront(t, shared, nil)
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

// waitRecorder is an Observer that keeps the queue waits it is shown.
type waitRecorder struct {
	counts
	mu    sync.Mutex
	waits []time.Duration
}

func (w *waitRecorder) QueueWait(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waits = append(w.waits, d)
}

func (w *waitRecorder) seen() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.waits)
}

// A WaitObserver sees each REGISTER's wait in the receive queue (the registrar's
// sip_udp_register_queue_wait_seconds), as the readers measured it.
func TestWaitObserverSeesEachRegistersWait(t *testing.T) {
	eachSocketMode(t, func(t *testing.T, shared bool) {
		obs := &waitRecorder{}
		_, clock, send := waitingFront(t, shared, obs)
		send("z9hG4bK-fresh")
		// Read as if it had waited two minutes in the queue.
		clock.offset.Store(int64(2 * time.Minute))
		send("z9hG4bK-waited")
		waits := obs.seen()
		if len(waits) != 2 {
			t.Fatalf("the observer saw %d waits, want one per REGISTER: %v", len(waits), waits)
		}
		// On however busy a machine, a REGISTER read at once waited far less
		// than a minute; the other waited the two minutes the clock moved on.
		if waits[0] < 0 || waits[0] >= time.Minute {
			t.Errorf("the REGISTER read at once waited %v", waits[0])
		}
		if waits[1] < 2*time.Minute || waits[1] >= 3*time.Minute {
			t.Errorf("the REGISTER read two minutes late waited %v", waits[1])
		}
	})
}
