package udpfront

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// Datagrams for sipgo leave the front end in the order the socket gave them,
// whichever reader took each: a phone's 180 sent just before its 200 must not reach
// the proxy after it (RFC 3261 §16.7).
func TestDatagramsForSipgoKeepTheirOrder(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared listener %v", shared), func(t *testing.T) { keepsOrder(t, shared) })
	}
}

func keepsOrder(t *testing.T, shared bool) {
	const rounds, perRound = 40, 50
	h := &counting{}
	f, addr := startFront(t, Config{Handle: h.handle, Readers: 4, SharedSocket: shared})
	seqs := make(chan int, perRound)
	go func() {
		buf := make([]byte, maxDatagram)
		for {
			n, _, err := f.Rest().ReadFrom(buf)
			if err != nil {
				close(seqs)
				return
			}
			seq, err := strconv.Atoi(header(string(buf[:n]), "X-Seq"))
			if err != nil {
				seq = -1 // not one of ours: out of order
			}
			seqs <- seq
		}
	}()
	p := newPhone(t, addr)
	last := -1
	for round := range rounds {
		// A round at a time, so that the socket's buffer never overflows: a
		// datagram lost there is no datagram out of order.
		first := round * perRound
		for seq := first; seq < first+perRound; seq++ {
			p.Send(fmt.Sprintf("SIP/2.0 180 Ringing\r\nX-Seq: %d\r\n\r\n", seq))
		}
		for last < first+perRound-1 {
			select {
			case seq := <-seqs:
				if seq <= last {
					t.Fatalf("datagram %d came after %d", seq, last)
				}
				last = seq
			case <-time.After(5 * time.Second):
				t.Fatalf("datagrams after %d lost", last)
			}
		}
	}
}
