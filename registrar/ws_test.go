package registrar_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gobwas/ws"

	"github.com/voipbin/registrar-operator/registrar"
)

// A browser-like phone registers over WS, and another over WSS (407, then 200 over
// the same connection, a Contact host nobody can resolve); each binding reads its
// transport (in status and in kubectl get -o wide), and a MESSAGE from a UDP caller comes down the phone's very
// connection, with our Via naming the listener; the phone's 200 reaches the caller.
func TestWSRegisterAndMessage(t *testing.T) {
	for _, secure := range []bool{false, true} {
		transport := map[bool]string{false: "WS", true: "WSS"}[secure]
		t.Run(transport, func(t *testing.T) {
			tn := newTenant(t, "1001")
			r := startWSReplica(t, "replica-ws", tn, nil)
			phone := newWSPhone(t, r, tn, secure)
			phone.registerWithDigest(600)

			// The REGISTERs are counted under their transport, the challenge and the 200.
			metricShows(t, r, `sip_register_requests_total{outcome="challenged",transport="`+transport+`"} 1`)
			metricShows(t, r, `sip_register_requests_total{outcome="registered",transport="`+transport+`"} 1`)
			b := bindingsAre(t, tn, 1)[0]
			if b.Transport != transport || b.Source != phone.conn.LocalAddr().String() {
				t.Errorf("binding %+v, want transport %s from %s", b, transport, phone.conn.LocalAddr())
			}
			if got := wideColumn(t, tn, "Transport"); got != transport {
				t.Errorf("kubectl get extensions -o wide shows transport %q, want %s", got, transport)
			}

			routable(t, r.Replica, tn, 1)
			caller := tn.caller(t, r.Replica, "uac-message.xml", callID(t), "1001")
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

// A device registered over WebSocket can only be reached over its connection (its
// Contact host is a made-up .invalid name, and a browser accepts no connection):
// once the connection is gone, a call to it is answered 480 at once instead of
// looking up the made-up name.
func TestWSDeviceWithoutItsConnectionIsUnavailable(t *testing.T) {
	tn := newTenant(t, "1007")
	r := startWSReplica(t, "replica-ws", tn, nil)
	phone := newWSPhone(t, r, tn, false)
	phone.registerWithDigest(600)
	routable(t, r.Replica, tn, 1)
	metricShows(t, r, `sip_open_connections{transport="WS"} 1`)
	_ = phone.conn.Close()
	metricShows(t, r, `sip_open_connections{transport="WS"} 0`)

	udp, _ := r.Addresses()
	res := invite(t, udp, "sip:caller@example.org", tn.domain)
	if res.StatusCode != sip.StatusTemporarilyUnavailable {
		t.Errorf("a call to the device whose connection is gone got %d %s, want 480", res.StatusCode, res.Reason)
	}
}

// A page of another site is refused (403, counted), a listed one registers; the
// open connections are counted per transport; a ping is answered.
func TestWSOriginsMetricsAndPing(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startWSReplica(t, "replica-ws", tn, func(c *registrar.Config) {
		c.WS.AllowedOrigins = []string{"https://phone.example.net"}
	})
	_, err := wsDial(r, true, http.Header{"Origin": {"https://evil.example.net"}})
	var status ws.StatusError
	if !errors.As(err, &status) || int(status) != http.StatusForbidden {
		t.Fatalf("a page of another site: %v, want 403", err)
	}
	metricShows(t, r, `sip_ws_upgrades_refused_total{transport="WSS"} 1`)

	c, err := wsDial(r, true, http.Header{"Origin": {"https://phone.example.net"}})
	if err != nil {
		t.Fatalf("a listed page: %v", err)
	}
	wsPhoneOn(t, c, tn, "WSS").registerWithDigest(600)
	newWSPhone(t, r, tn, false).registerWithDigest(600)
	metricShows(t, r, `sip_open_connections{transport="WSS"} 1`)
	metricShows(t, r, `sip_open_connections{transport="WS"} 1`)

	if err := ws.WriteFrame(c, ws.MaskFrame(ws.NewPingFrame([]byte("still there?")))); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	f, err := ws.ReadFrame(c)
	if err != nil || f.Header.OpCode != ws.OpPong || string(f.Payload) != "still there?" {
		t.Fatalf("got %v %q (%v), want the pong", f.Header.OpCode, f.Payload, err)
	}
}

// Connections over WebSocket are capped as TCP ones are: past MaxPerIP a new
// one is refused before its upgrade.
func TestWSConnectionCap(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startWSReplica(t, "replica-ws", tn, func(c *registrar.Config) { c.TCPGuard.MaxPerIP = 1 })
	phone := newWSPhone(t, r, tn, false)
	if c, err := wsDial(r, false, nil); err == nil {
		_ = c.Close()
		t.Fatal("a second connection from the address was upgraded")
	}
	phone.registerWithDigest(600)
}

// A call to a browser registered over WSS: the INVITE comes down its connection
// with our Record-Route naming the WSS listener on top (and the caller's UDP side
// below, RFC 5658); the caller's ACK and BYE, routed through us to the browser's
// .invalid Contact, come down the same connection without our Route entries.
func TestWSSCallReachesTheBrowserOverItsConnection(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startWSReplica(t, "replica-ws", tn, nil)
	phone := newWSPhone(t, r, tn, true)
	phone.registerWithDigest(600)
	routable(t, r.Replica, tn, 1)

	caller := tn.caller(t, r.Replica, "uac-call.xml", callID(t), "1001")
	inv := phone.expect(sip.INVITE)
	_, port, _ := net.SplitHostPort(r.WSSAddress())
	if rr := inv.RecordRoute(); rr == nil || rr.Address.Port != atoi(t, port) || !strings.EqualFold(param(rr.Address, "transport"), "wss") {
		t.Errorf("top Record-Route %v, want our WSS listener (port %s, transport=wss)", rr, port)
	}
	phone.answer(inv)
	ack := phone.expect(sip.ACK)
	bye := phone.expect(sip.BYE)
	for _, req := range []*sip.Request{ack, bye} {
		if rt := req.Route(); rt != nil {
			t.Errorf("the %s reached the browser with Route %s", req.Method, rt.Value())
		}
	}
	phone.reply(bye, sip.StatusOK, "OK")
	if err := caller.wait(); err != nil {
		t.Fatal(err)
	}
}

// wss:// serves the TLS certificate and follows its rotation: a new connection
// gets the renewed one without a restart.
func TestWSSCertificateRotation(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startWSReplica(t, "replica-ws", tn, nil)
	serial := func() (int64, error) {
		c, err := wsDial(r, true, nil)
		if err != nil {
			return 0, err
		}
		defer func() { _ = c.Close() }()
		tc, ok := c.(*tls.Conn)
		if !ok {
			return 0, fmt.Errorf("a %T, not a TLS connection", c)
		}
		return tc.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
	}
	if got, err := serial(); err != nil || got != 1 {
		t.Fatalf("serial %d (%v), want 1", got, err)
	}
	r.rotate(t, 2)
	eventually(t, "a new wss:// connection gets the certificate of serial 2", func() error {
		got, err := serial()
		if err == nil && got != 2 {
			err = fmt.Errorf("serial %d", got)
		}
		return err
	})
}
