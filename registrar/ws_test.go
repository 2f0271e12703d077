package registrar_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A browser-like phone registers over WS, and another over WSS (407, then 200 over
// the same connection, a Contact host nobody can resolve); each binding reads its
// transport, and a MESSAGE from a UDP caller comes down the phone's very
// connection, with our Via naming the listener; the phone's 200 reaches the caller.
func TestWSRegisterAndMessage(t *testing.T) {
	for _, secure := range []bool{false, true} {
		transport := map[bool]string{false: "WS", true: "WSS"}[secure]
		t.Run(transport, func(t *testing.T) {
			tn := newTenant(t, "1001")
			r := startWSReplica(t, "replica-ws", tn, nil)
			phone := newWSPhone(t, r, tn, secure)
			phone.registerWithDigest(600)

			b := bindingsAre(t, tn, 1)[0]
			if b.Transport != transport || b.Source != phone.conn.LocalAddr().String() {
				t.Errorf("binding %+v, want transport %s from %s", b, transport, phone.conn.LocalAddr())
			}

			routable(t, r.Registrar, tn, 1)
			caller := tn.caller(t, r.Registrar, "uac-message.xml", callID(t), "1001")
			msg, err := phone.next(20 * time.Second)
			if err != nil {
				t.Fatalf("no MESSAGE over the phone's %s connection: %v", transport, err)
			}
			req, ok := msg.(*sip.Request)
			if !ok || req.Method != sip.MESSAGE {
				t.Fatalf("got %T %v, want the MESSAGE", msg, msg)
			}
			addr := map[bool]string{false: r.WSAddress(), true: r.WSSAddress()}[secure]
			_, port, _ := net.SplitHostPort(addr)
			if via := req.Via(); via.Transport != transport || strconv.Itoa(via.Port) != port {
				t.Errorf("our Via is %s, want SIP/2.0/%s on port %s", via.Value(), transport, port)
			}
			phone.reply(req, sip.StatusOK, "OK")
			if err := caller.wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
