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
	phone.contact = contact
	phone.registerWithDigest(600)
	routable(t, r.Replica, tn, 1)

	caller := newRawCaller(t, r.Replica)
	caller.send(caller.invite("sip:1001@"+tn.domain, 70, ""))
	phone.answer(phone.expect(sip.INVITE))
	ok := caller.final(wait)
	if ok.StatusCode != sip.StatusOK {
		t.Fatalf("the INVITE got %d %s, want 200", ok.StatusCode, ok.Reason)
	}
	// The device goes away before the ACK comes.
	_ = phone.conn.Close()
	metricShows(t, r, `sip_open_connections{transport="TLS"} 0`)
	caller.send(caller.ackOf(ok))
	select {
	case <-accepted:
	case <-time.After(wait):
		t.Fatal("the ACK was not relayed to the device's Contact")
	}

	caller.send(caller.message("sip:1001@" + tn.domain))
	if res := caller.final(wait); res.StatusCode < 500 {
		t.Errorf("the MESSAGE got %d %s, want an error answer", res.StatusCode, res.Reason)
	}
}

// ackOf is the ACK of a 2xx to this caller's INVITE, along the route set the 2xx
// set up (its Record-Route, reversed) to the callee's Contact.
func (c *rawCaller) ackOf(res *sip.Response) *sip.Request {
	c.t.Helper()
	return c.inDialog(sip.ACK, res, res.CSeq().SeqNo)
}
