package registrar_test

import (
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// silentContact is a TCP listener that accepts connections and never sends a
// byte: a TLS Contact whose handshake never comes. Each accepted connection is
// reported on the channel.
func silentContact(t *testing.T) (string, chan net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
			accepted <- c
		}
	}()
	return l.Addr().String(), accepted
}

// An ACK relayed to a device whose TLS connection died after its 200 OK opens a
// new connection to its Contact within a bound too: a Contact that accepts and
// stays silent would otherwise hold that connection attempt for good, and with it
// every later request to that Contact (sipgo opens one connection per address at a
// time), here a MESSAGE that could never be answered.
func TestTLSSilentContactDoesNotHoldLaterRequests(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls", tn, 0)
	contact, accepted := silentContact(t)
	phone := newTLSPhone(t, r, tn)
	phone.Contact = "<sip:" + tn.user + "@" + contact + ";transport=tls>"
	phone.MustRegister(600)
	routable(t, r.Replica, tn, 1)

	caller := newCaller(t, r.Replica)
	caller.Send(caller.Request(sip.INVITE, "sip:1001@"+tn.domain, ""))
	phone.Answer(phone.Expect(sip.INVITE), sip.StatusOK, "OK")
	ok := caller.Final(wait)
	if ok.StatusCode != sip.StatusOK {
		t.Fatalf("the INVITE got %d %s, want 200", ok.StatusCode, ok.Reason)
	}
	// The device goes away before the ACK comes.
	phone.Close()
	metricShows(t, r, `sip_open_connections{transport="TLS"} 0`)
	caller.Send(caller.AckOf(ok))
	select {
	case <-accepted:
	case <-time.After(wait):
		t.Fatal("the ACK was not relayed to the device's Contact")
	}

	caller.Send(caller.Request(sip.MESSAGE, "sip:1001@"+tn.domain, "hello"))
	if res := caller.Final(wait); res.StatusCode < 500 {
		t.Errorf("the MESSAGE got %d %s, want an error answer", res.StatusCode, res.Reason)
	}
}
