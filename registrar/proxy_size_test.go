package registrar_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// largeSDP is an offer that makes an INVITE larger than sipgo sends over UDP
// (1300 bytes) once the registrar adds its Via and Record-Route.
func largeSDP() string {
	var b strings.Builder
	b.WriteString("v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 8 101\r\n")
	for b.Len() < 1300 {
		b.WriteString("a=x-padding:0123456789abcdef0123456789abcdef\r\n")
	}
	return b.String()
}

// A request too large for UDP to a device registered over UDP goes over TCP
// to the same address when the device listens there (RFC 3261 §18.1.1), with the
// registrar's Via and Record-Route saying TCP; when it does not, the caller gets
// 513 Message Too Large, not a generic 500.
func TestProxyLargeRequest(t *testing.T) {
	t.Run("device listens on TCP", func(t *testing.T) {
		tn := newTenant(t, "1001")
		dev := newDevice(t, tn, replicaA, true)
		routable(t, replicaA, tn, 1)
		caller := newCaller(t, replicaA)
		caller.Send(caller.Request(sip.INVITE, "sip:1001@"+tn.domain, largeSDP()))

		conn, inv := dev.AcceptTCP(10 * time.Second)
		if via := inv.Via(); via == nil || via.Transport != "TCP" {
			t.Errorf("top Via %v, want the registrar's over TCP", via)
		}
		if rr := inv.RecordRoute(); rr == nil || !strings.Contains(rr.Value(), "transport=tcp") {
			t.Errorf("Record-Route %v, want the registrar's with transport=tcp", rr)
		}
		if len(inv.Body()) != len(largeSDP()) {
			t.Errorf("body of %d bytes, want %d", len(inv.Body()), len(largeSDP()))
		}
		conn.Answer(inv, sip.StatusBusyHere, "Busy Here")
		if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusBusyHere {
			t.Fatalf("the caller got %d %s, want the device's 486", res.StatusCode, res.Reason)
		}
	})
	t.Run("device takes no TCP", func(t *testing.T) {
		tn := newTenant(t, "1001")
		dev := newDevice(t, tn, replicaA, false)
		routable(t, replicaA, tn, 1)
		caller := newCaller(t, replicaA)
		caller.Send(caller.Request(sip.INVITE, "sip:1001@"+tn.domain, largeSDP()))
		if res := caller.Final(10 * time.Second); res.StatusCode != sip.StatusMessageTooLarge {
			t.Fatalf("the caller got %d %s, want 513", res.StatusCode, res.Reason)
		}
		// A small INVITE still reaches the device, and is the first thing it gets.
		small := caller.Request(sip.INVITE, "sip:1001@"+tn.domain, "")
		caller.Send(small)
		inv := dev.Expect(sip.INVITE)
		if inv.CallID().Value() != small.CallID().Value() {
			t.Fatalf("the device got Call-ID %s, want %s", inv.CallID().Value(), small.CallID().Value())
		}
		dev.Answer(inv, sip.StatusBusyHere, "Busy Here")
		if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusBusyHere {
			t.Fatalf("the caller got %d %s, want 486", res.StatusCode, res.Reason)
		}
	})
}
