package registrar_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A browser's malformed message costs it nothing but that message (RFC 7118 §5.1,
// RFC 3261 §18.3): over WS and WSS, a REGISTER whose body is shorter than its
// Content-Length, or with a Max-Forwards that is no number, is answered 400 on its
// connection; a response that does not parse gets nothing, a REGISTER whose Via
// does not 400 without a Via (the connection is the way back); and then the same
// connection registers (407, then 200), so its flow survived. sipgo alone closes
// the connection on the first of them.
func TestWSMalformedMessagesKeepTheConnection(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startWSReplica(t, "replica-ws", tn, nil)
	for _, secure := range []bool{false, true} {
		phone := newWSPhone(t, r, tn, secure)
		for _, tc := range []struct{ name, old, new, status string }{
			{"a body shorter than its Content-Length", "Content-Length: 0\r\n\r\n", "Content-Length: 40\r\n\r\nv=0\r\n",
				"400 Body Shorter Than Content-Length"},
			{"a Max-Forwards that is no number", "Max-Forwards: 69", "Max-Forwards: sixty-nine", "400 Malformed Max-Forwards Header"},
		} {
			bad, cseq := phone.malformedRegister(tc.old, tc.new)
			res := phone.sendExpectingResponse(bad)
			if got := fmt.Sprintf("%d %s", res.StatusCode, res.Reason); got != tc.status {
				t.Fatalf("%s over %s: %s, want %s", tc.name, phone.transport, got, tc.status)
			}
			if res.CallID().Value() != phone.callID || res.CSeq().SeqNo != cseq {
				t.Errorf("%s over %s: the 400 is for %s %d, want %s %d", tc.name, phone.transport,
					res.CallID().Value(), res.CSeq().SeqNo, phone.callID, cseq)
			}
		}
		via := "Via: SIP/2.0/" + phone.transport + " "
		badVia, _ := phone.malformedRegister(via, via+"[") // an IPv6 reference never closed
		if err := phone.send("SIP/2.0 200 OK\r\nVia: SIP/2.0/" + phone.transport + " a.invalid;branch=z9hG4bK-x\r\n" +
			"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: r@x\r\nCSeq: one MESSAGE\r\nContent-Length: 0\r\n\r\n"); err != nil {
			t.Fatalf("over %s: %v", phone.transport, err)
		}
		// The response is not answered: the next message is the 400 to the bad
		// Via, then the challenge to this REGISTER.
		if res := phone.sendExpectingResponse(badVia); res.StatusCode != 400 || res.Reason != "Malformed Via Header" || res.Via() != nil {
			t.Fatalf("a Via that does not parse over %s: %d %s, Via %v; want 400 Malformed Via Header without Via",
				phone.transport, res.StatusCode, res.Reason, res.Via())
		}
		phone.registerWithDigest(600)
	}
	bindingsAre(t, tn, 2)
}

// malformedRegister is the phone's next REGISTER, without credentials, with old
// replaced by new, and its CSeq number.
func (p *wsPhone) malformedRegister(old, new string) (string, uint32) {
	p.t.Helper()
	p.cseq++
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", p.account.Domain)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %d.invalid;branch=z9hG4bK-bad%d-%d\r\n", p.transport, p.cseq, time.Now().UnixNano(), p.cseq)
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=bad%d\r\n", p.account.User, p.account.Domain, p.cseq)
	fmt.Fprintf(&b, "To: <sip:%s@%s>\r\n", p.account.User, p.account.Domain)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\n", p.callID, p.cseq)
	fmt.Fprintf(&b, "Contact: <%s>;expires=600\r\nMax-Forwards: 69\r\nContent-Length: 0\r\n\r\n", p.contact)
	if !strings.Contains(b.String(), old) {
		p.t.Fatalf("no %q in the REGISTER", old)
	}
	return strings.Replace(b.String(), old, new, 1), uint32(p.cseq)
}

// sendExpectingResponse sends text and returns the next message, which must be a
// response: the connection must still be up.
func (p *wsPhone) sendExpectingResponse(text string) *sip.Response {
	p.t.Helper()
	if err := p.send(text); err != nil {
		p.t.Fatalf("over %s: %v", p.transport, err)
	}
	msg, err := p.next(10 * time.Second)
	if err != nil {
		p.t.Fatalf("no response over %s (the connection closed?): %v", p.transport, err)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		p.t.Fatalf("over %s: got a %T, want a response", p.transport, msg)
	}
	return res
}
