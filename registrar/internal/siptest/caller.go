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
	res, err := p.TryFinal(within)
	if err != nil {
		p.t.Fatal(err)
	}
	return res
}

// TryFinal is Final, reporting a missing answer instead of failing the test.
func (p *Phone) TryFinal(within time.Duration) (*sip.Response, error) {
	deadline := time.Now().Add(within)
	for {
		m, err := p.Next(time.Until(deadline))
		if err != nil {
			return nil, fmt.Errorf("no final response: %w", err)
		}
		if res, ok := m.Message.(*sip.Response); ok && res.StatusCode >= 200 {
			p.AckFinal(res)
			return res, nil
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

// AckOf is the ACK of a 2xx to the phone's INVITE (RFC 3261 §13.2.2.4).
func (p *Phone) AckOf(res *sip.Response) *sip.Request {
	p.t.Helper()
	return p.InDialog(sip.ACK, res, res.CSeq().SeqNo)
}

// InDialog is the caller's request of method (CSeq number cseq) in the dialog a 2xx
// to its INVITE (or SUBSCRIBE, REFER) set up: to the callee's Contact along the
// route set of the 2xx's Record-Route, reversed (RFC 3261 §12.1.2), with the extra
// header lines ("Name: value").
func (p *Phone) InDialog(method sip.RequestMethod, res *sip.Response, cseq uint32, extra ...string) *sip.Request {
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
	return p.dialogRequest(method, contact.Address.String(), routes, res.From().Value(), res.To().Value(), res.CallID().Value(), cseq, extra)
}

// Bye is the callee's BYE of the dialog inv set up, which the phone answered.
func (p *Phone) Bye(inv Received) *sip.Request {
	p.t.Helper()
	return p.FromCallee(sip.BYE, inv, 1)
}

// FromCallee is the callee's request of method (CSeq number cseq) in the dialog
// r set up, which the phone answered (a BYE of a call, a NOTIFY of a
// subscription): to the caller's Contact along r's Record-Route in order (RFC
// 3261 §12.1.1), with the extra header lines ("Name: value").
func (p *Phone) FromCallee(method sip.RequestMethod, r Received, cseq uint32, extra ...string) *sip.Request {
	p.t.Helper()
	var routes []string
	for _, h := range r.GetHeaders("Record-Route") {
		for v := range strings.SplitSeq(h.Value(), ",") {
			routes = append(routes, strings.TrimSpace(v))
		}
	}
	from := r.To().Value() + ";tag=" + dialogTag(r.Request)
	return p.dialogRequest(method, r.Contact().Address.String(), routes, from, r.Request.From().Value(), r.CallID().Value(), cseq, extra)
}

// dialogRequest is a request of a dialog, built from the dialog's state, with the
// extra header lines.
func (p *Phone) dialogRequest(method sip.RequestMethod, target string, routes []string, from, to, callID string, cseq uint32, extra []string) *sip.Request {
	p.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, target)
	fmt.Fprintf(&b, "Via: %s\r\n", p.via())
	for _, rt := range routes {
		fmt.Fprintf(&b, "Route: %s\r\n", rt)
	}
	for _, line := range extra {
		b.WriteString(strings.TrimRight(line, "\r\n") + "\r\n")
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		from, to, callID, cseq, method)
	msg, err := sip.ParseMessage([]byte(b.String()))
	if err != nil {
		p.t.Fatalf("while building a %s: %v", method, err)
	}
	return msg.(*sip.Request)
}
