//go:build linux

package udpfront

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// fillOf is the share of conn's receive buffer its queue takes.
func fillOf(t *testing.T, conn *net.UDPConn) float64 {
	t.Helper()
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fill float64
	if err := rc.Control(func(fd uintptr) { fill = queueFill(int(fd)) }); err != nil {
		t.Fatal(err)
	}
	return fill
}

// TestCrowdedBufferShedsYoungChallenges fills more than half of the socket's receive
// buffer while the one reader is busy, with REGISTERs far younger than ShedAge:
// the kernel would soon drop whatever arrives, whatever it carries, so admission
// sheds those without credentials (503) at once, answers every one with
// credentials, and challenges again once the queue has drained.
func TestCrowdedBufferShedsYoungChallenges(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	// Small, so that the test's flood fills it (the kernel doubles it).
	if err := conn.SetReadBuffer(128 << 10); err != nil {
		t.Fatal(err)
	}
	h := newGated()
	// No REGISTER gets anywhere near this age here: only the buffer's fill sheds.
	// Every shed REGISTER answered: the refusal budget has a test of its own.
	_, addr := serveFront(t, conn, Config{Handle: h.handle, Readers: 1, ShedAge: time.Hour, SourceRefusals: -1, Refusals: -1})
	p := newPhone(t, addr)
	h.hold(t, p)

	// Well past half, short of full (a full buffer would drop): poll the fill
	// after each send, as loopback may deliver a little later.
	sent := 0
	for fillOf(t, conn) < 0.6 {
		if sent == 5000 {
			t.Fatalf("%d REGISTERs queued and the buffer is only %.0f%% full", sent, 100*fillOf(t, conn))
		}
		auth := sent%3 == 2 // interleaved, as phones send them
		p.Send(register(p.Port(), true, auth, fmt.Sprintf("z9hG4bK-flood-%d", sent)))
		sent++
	}
	close(h.release)

	if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 200 OK") {
		t.Fatalf("the held REGISTER was answered:\n%s", res)
	}
	shed := 0
	for range sent {
		res := receive(t, p)
		var i int
		if _, err := fmt.Sscanf(header(res, "Call-ID"), "z9hG4bK-flood-%d@phone", &i); err != nil {
			t.Fatalf("unexpected response:\n%s", res)
		}
		switch {
		case i%3 == 2:
			if !strings.HasPrefix(res, "SIP/2.0 200 OK") {
				t.Errorf("REGISTER %d with credentials was not answered by the handler:\n%s", i, res)
			}
		case strings.HasPrefix(res, "SIP/2.0 503 "):
			shed++
			if header(res, "Retry-After") == "" {
				t.Errorf("503 to REGISTER %d has no Retry-After", i)
			}
		case !strings.HasPrefix(res, "SIP/2.0 401 "):
			t.Errorf("REGISTER %d without credentials got:\n%s", i, res)
		}
	}
	if shed == 0 {
		t.Errorf("none of %d young REGISTERs without credentials was shed while the receive buffer was over %.0f%% full",
			sent-sent/3, 100*crowdedShare)
	}

	// The queue has drained: a REGISTER without credentials is challenged again.
	p.Send(register(p.Port(), true, false, "z9hG4bK-after"))
	if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 401 ") {
		t.Errorf("after the flood, a REGISTER without credentials got:\n%s", res)
	}
	t.Logf("%d queued, %d shed", sent, shed)
}
