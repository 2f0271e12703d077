package siptest

import (
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Final returns the first final response the phone receives within the given
// time, skipping provisional ones and requests, and ACKs it when it is a non-2xx
// to an INVITE (within its transaction, RFC 3261 §17.1.1.3).
func (p *Phone) Final(within time.Duration) *sip.Response {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		m, err := p.Next(time.Until(deadline))
		if err != nil {
			p.t.Fatalf("no final response: %v", err)
		}
		if res, ok := m.Message.(*sip.Response); ok && res.StatusCode >= 200 {
			p.AckFinal(res)
			return res
		}
	}
}

// AckFinal ACKs a non-2xx final response to an INVITE, hop by hop; it does nothing
// for any other response.
func (p *Phone) AckFinal(res *sip.Response) {
	if res.IsSuccess() || res.CSeq().MethodName != sip.INVITE {
		return
	}
	ack := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=%s;rport\r\n%s\r\n%s\r\n%s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		res.To().Address.String(), p.tr.Name(), p.LocalAddr(), Branch(res),
		res.From().String(), res.To().String(), res.CallID().String(), res.CSeq().SeqNo)
	_ = p.SendTo([]byte(ack), nil)
}

// AckOf is the ACK of a 2xx to the phone's INVITE: a request of the dialog, to the
// callee's Contact along the route set the 2xx set up (its Record-Route, reversed:
// RFC 3261 §12.1.2).
func (p *Phone) AckOf(res *sip.Response) *sip.Request {
	p.t.Helper()
	contact := res.Contact()
	if contact == nil {
		p.t.Fatalf("a %d without a Contact", res.StatusCode)
	}
	var routes []string
	for _, h := range res.GetHeaders("Record-Route") {
		for v := range strings.SplitSeq(h.Value(), ",") {
			routes = append([]string{strings.TrimSpace(v)}, routes...)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ACK %s SIP/2.0\r\n", contact.Address.String())
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK-ack%s;rport\r\n", p.tr.Name(), p.LocalAddr(), unique())
	for _, rt := range routes {
		fmt.Fprintf(&b, "Route: %s\r\n", rt)
	}
	fmt.Fprintf(&b, "%s\r\n%s\r\n%s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		res.From().String(), res.To().String(), res.CallID().String(), res.CSeq().SeqNo)
	msg, err := sip.ParseMessage([]byte(b.String()))
	if err != nil {
		p.t.Fatalf("while building an ACK: %v", err)
	}
	return msg.(*sip.Request)
}
