//go:build linux

package udpfront

import (
	"fmt"
	"strings"
	"testing"
)

// At a moderate rate every datagram finds the readers waiting. Only one of them may
// wake for it: the others would find the socket empty and park again, a thread
// wake-up and a system call for nothing per datagram.
func TestOneReaderWakesPerDatagramWhenIdle(t *testing.T) {
	h := &counting{}
	f, addr := startFront(t, Config{Handle: h.handle, Readers: 4})
	p := newPhone(t, addr)
	const exchanges = 200
	for i := range exchanges {
		p.Send(register(p.Port(), true, false, fmt.Sprintf("z9hG4bK-wake-%d", i)))
		if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 200 OK") {
			t.Fatalf("response %d:\n%s", i, res)
		}
	}
	// One empty read per exchange, when the reader that answered parks again, and a
	// few more when a reader checks the listener is still open.
	if got := f.emptyReads.Load(); got > exchanges*3/2 {
		t.Errorf("%d reads found the socket empty for %d datagrams received one at a time: readers wake for nothing", got, exchanges)
	}
}
