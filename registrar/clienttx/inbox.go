package clienttx

import (
	"sync"

	"github.com/emiago/sipgo/sip"
)

// maxWaiting bounds the responses one transaction may have waiting: a device has no
// reason to send that many faster than the transaction takes them, so more are
// dropped, as a full socket buffer would drop them.
const maxWaiting = 32

// inbox holds one transaction's responses in the order they arrived until the
// transaction takes them.
type inbox struct {
	tx *sip.ClientTx

	mu      sync.Mutex
	waiting []*sip.Response
	// passing: a goroutine is passing the waiting responses to tx.
	passing bool
}

// push queues res without waiting, and reports false when too many wait already.
func (in *inbox) push(res *sip.Response) bool {
	in.mu.Lock()
	if len(in.waiting) >= maxWaiting {
		in.mu.Unlock()
		return false
	}
	in.waiting = append(in.waiting, res)
	start := !in.passing
	in.passing = true
	in.mu.Unlock()
	if start {
		go in.pass()
	}
	return true
}

// pass hands the waiting responses to the transaction one at a time: Receive waits
// until the transaction's user took a response (or the transaction ended), so the
// next cannot overtake it.
func (in *inbox) pass() {
	for {
		in.mu.Lock()
		if len(in.waiting) == 0 {
			in.passing = false
			in.mu.Unlock()
			return
		}
		res := in.waiting[0]
		in.waiting[0] = nil
		in.waiting = in.waiting[1:]
		in.mu.Unlock()
		in.tx.Receive(res)
	}
}
