package registrar_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// A desk phone's malformed message over TCP or TLS costs it nothing but that
// message (RFC 3261 §18.3: a stream is cut into messages by Content-Length):
// a REGISTER with a Max-Forwards that is no number is answered 400 naming it,
// one without Content-Length 400 too, one over the largest message 513 with its
// body skipped; a response that does not parse gets nothing, a REGISTER whose Via
// does not 400 without a Via (the connection is the way back). Then the same
// connection answers a keep-alive and registers (407, then 200), so it survived.
// sipgo alone closes the connection on the first of them.
func TestStreamMalformedMessagesKeepTheConnection(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-stream", tn, 0)
	_, tcp := r.Addresses()
	for _, p := range []*siptest.Phone{siptest.NewTCP(t, tcp, tn.account()), newTLSPhone(t, r, tn)} {
		transport := p.Transport().Name()
		register := func(old, new string) (string, *sip.Request) {
			t.Helper()
			req := p.Request(sip.REGISTER, "sip:"+tn.domain, "", "Contact: "+p.ContactValue(), "Expires: 600")
			text := req.String()
			if !strings.Contains(text, old) {
				t.Fatalf("no %q in the REGISTER:\n%s", old, text)
			}
			return strings.Replace(text, old, new, 1), req
		}
		// The body of the one too large ends in what would be a REGISTER, were it
		// read, and answered 407.
		hidden := p.Request(sip.REGISTER, "sip:"+tn.domain, "", "Contact: "+p.ContactValue()).String()
		large := strings.Repeat("x", sip.ParseMaxMessageLength) + hidden
		for _, tc := range []struct{ name, old, new, status string }{
			{"a Max-Forwards that is no number", "Max-Forwards: 70", "Max-Forwards: sixty-nine", "400 Malformed Max-Forwards Header"},
			{"no Content-Length", "Content-Length: 0\r\n", "", "400 Missing Content-Length Header"},
			{"a message over the largest", "Content-Length: 0\r\n\r\n",
				fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(large), large), "513 Message Too Large"},
		} {
			bad, req := register(tc.old, tc.new)
			res, err := p.RoundTrip([]byte(bad))
			if err != nil {
				t.Fatalf("%s over %s: %v", tc.name, transport, err)
			}
			if got := fmt.Sprintf("%d %s", res.StatusCode, res.Reason); got != tc.status {
				t.Fatalf("%s over %s: %s, want %s", tc.name, transport, got, tc.status)
			}
			if res.CallID().Value() != req.CallID().Value() || res.CSeq().SeqNo != req.CSeq().SeqNo {
				t.Errorf("%s over %s: the answer is for %s %d, want %s %d", tc.name, transport,
					res.CallID().Value(), res.CSeq().SeqNo, req.CallID().Value(), req.CSeq().SeqNo)
			}
		}
		via := "Via: SIP/2.0/" + transport + " "
		badVia, _ := register(via, via+"[") // an IPv6 reference never closed
		response := "SIP/2.0 200 OK\r\nVia: SIP/2.0/" + transport + " a.invalid;branch=z9hG4bK-x\r\n" +
			"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: r@x\r\nCSeq: one MESSAGE\r\nContent-Length: 0\r\n\r\n"
		if err := p.SendTo([]byte(response), nil); err != nil {
			t.Fatalf("over %s: %v", transport, err)
		}
		// The response is not answered: the next bytes are the 400 to the bad Via,
		// then the keep-alive's answer, then the challenge to this REGISTER.
		res, err := p.RoundTrip([]byte(badVia))
		if err != nil || res.StatusCode != 400 || res.Reason != "Malformed Via Header" || res.Via() != nil {
			t.Fatalf("a Via that does not parse over %s: %v (%v), want 400 Malformed Via Header without Via", transport, res, err)
		}
		expectPong(t, p)
		p.MustRegister(600)
	}
	bindingsAre(t, tn, 2)
}

// expectPong sends a keep-alive (CRLF CRLF) on the phone's connection and expects
// its answer, one CRLF (RFC 5626 §3.5.1), as the next bytes.
func expectPong(t *testing.T, p *siptest.Phone) {
	t.Helper()
	s := p.Transport().(*siptest.Stream)
	if _, err := s.Conn.Write([]byte("\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2)
	if _, err := io.ReadFull(s.Conn, got); err != nil || string(got) != "\r\n" {
		t.Fatalf("the keep-alive over %s got %q (%v), want CRLF", s.Name(), got, err)
	}
}

// A Content-Length that is no number leaves no way to the next message, and
// ends the connection: over TCP and TLS the phone reads the 400 and then the end
// of the stream (a FIN, and a close_notify under TLS), not a reset, though more
// of its stream was still unread. A reset can destroy the 400 on its way, and
// tells the phone nothing.
func TestStreamLostFramingEndsCleanlyAfterThe400(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-stream", tn, 0)
	_, tcp := r.Addresses()
	dials := map[string]func() (net.Conn, error){
		"TCP": func() (net.Conn, error) { return net.Dial("tcp", tcp) },
		"TLS": func() (net.Conn, error) { return r.dial() },
	}
	for transport, dial := range dials {
		c, err := dial()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		p := siptest.NewTCP(t, tcp, tn.account()) // only to write the request
		req := p.Request(sip.REGISTER, "sip:"+tn.domain, "", "Contact: "+p.ContactValue()).String()
		lost := strings.Replace(req, "Content-Length: 0", "Content-Length: lots", 1)
		if lost == req {
			t.Fatalf("no Content-Length in\n%s", req)
		}
		// More than one read of the replica takes, unread when it closes.
		if _, err := io.WriteString(c, lost+strings.Repeat(req, 100)); err != nil {
			t.Fatalf("over %s: %v", transport, err)
		}
		if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("over %s the phone read %q, then %v: want the 400 and the end of the stream", transport, got, err)
		}
		if !strings.HasPrefix(string(got), "SIP/2.0 400 Malformed Content-Length Header\r\n") {
			t.Errorf("over %s the phone got %q, want the 400", transport, got)
		}
	}
}

// A message longer than sipgo reads at once, whose body ends in NUL bytes (a
// binary body padded with zeros), is answered, and the connection's next
// REGISTER after it is too: sipgo skips a read that is all NUL bytes and, given
// the end of such a message alone, took the next message for the rest of its
// body. One ending in more NULs than that read is answered 400.
func TestStreamMessageEndingInNULsKeepsTheStream(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-stream", tn, 0)
	_, tcp := r.Addresses()
	for _, p := range []*siptest.Phone{siptest.NewTCP(t, tcp, tn.account()), newTLSPhone(t, r, tn)} {
		transport := p.Transport().Name()
		for _, tc := range []struct {
			body   string
			status int
		}{
			{strings.Repeat("b", int(sip.TransportBufferReadSize)) + strings.Repeat("\x00", 100), sip.StatusProxyAuthRequired},
			{"b" + strings.Repeat("\x00", int(sip.TransportBufferReadSize)+100), sip.StatusBadRequest},
		} {
			req := p.Request(sip.REGISTER, "sip:"+tn.domain, tc.body, "Contact: "+p.ContactValue(),
				"To: <sip:"+p.User+"@"+tn.domain+">", "Content-Type: application/octet-stream")
			res, err := p.RoundTrip([]byte(req.String()))
			if err != nil {
				t.Fatalf("over %s: %v", transport, err)
			}
			if res.StatusCode != tc.status || res.CallID().Value() != req.CallID().Value() {
				t.Fatalf("over %s a REGISTER ending in %d NULs got %d %s for %s, want %d for %s", transport,
					len(tc.body)-len(strings.TrimRight(tc.body, "\x00")), res.StatusCode, res.Reason,
					res.CallID().Value(), tc.status, req.CallID().Value())
			}
			p.MustRegister(600)
		}
	}
}
