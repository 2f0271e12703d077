package registrar_test

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/digest"
)

// A route to a replica's flow that names the AOR but carries no good signature is
// what anyone who reaches the replica could write: it is no relay. With
// --require-caller-auth its caller, an extension of the domain, is challenged and
// nothing reaches the device; a request another replica relays still does.
func TestForgedFlowRouteIsChallengedAndReachesNoDevice(t *testing.T) {
	tn := newTenant(t, "1001")
	holder := startExtraReplica(t, "replica-flow-auth", "127.0.0.61", tn, func(c *registrar.Config) { c.RequireCallerAuth = true })
	_, tcp := holder.Addresses()
	p := dialFlow(t, tn, tcp)
	if res := p.register(1); res.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	b := bindingsAre(t, tn, 1)[0]
	var route sip.Uri
	if err := sip.ParseUri(b.FlowRoute, &route); err != nil {
		t.Fatalf("flow route %q: %v", b.FlowRoute, err)
	}
	route.User = url.QueryEscape(tn.aor())
	caller := newRawCaller(t, holder)
	for _, tc := range []struct{ name, sig string }{
		{"without a signature", ""},
		{"with a made-up signature", strings.Repeat("A", digest.TokenLen)},
	} {
		forged := *route.Clone()
		if tc.sig != "" {
			forged.UriParams.Add("sig", tc.sig)
		}
		caller.send(caller.request(sip.MESSAGE, b.URI, "sip:"+tn.aor(), "Route: <"+forged.String()+">\r\n"))
		res, err := caller.tryFinal(5 * time.Second)
		if err != nil {
			if req, rerr := p.receive(time.Second); rerr == nil {
				t.Fatalf("%s: the forged route took a %s to the device", tc.name, req.Method)
			}
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res.StatusCode != sip.StatusProxyAuthRequired || res.GetHeader("Proxy-Authenticate") == nil {
			t.Errorf("%s: got %d %s, want 407 with Proxy-Authenticate", tc.name, res.StatusCode, res.Reason)
		}
	}

	routable(t, replicaB, tn, 1)
	relaying := newRawCaller(t, replicaB)
	msg := relaying.request(sip.MESSAGE, "sip:"+tn.aor(), "sip:"+tn.aor(), "")
	relaying.send(msg)
	req, err := p.receive(5 * time.Second)
	if err != nil {
		t.Fatalf("the MESSAGE relayed by the other replica did not reach the flow: %v", err)
	}
	// The first request the device gets: neither forged one came before it.
	if req.CallID().Value() != msg.CallID().Value() {
		t.Fatalf("the device got %s %s, not the relayed MESSAGE", req.Method, req.CallID().Value())
	}
	if res := relaying.final(5 * time.Second); res.StatusCode != sip.StatusOK {
		t.Fatalf("the relayed MESSAGE got %d %s", res.StatusCode, res.Reason)
	}
}

// A call relayed to the replica holding the callee's flow keeps that replica on
// the dialog's route (it record-routes): the caller's in-dialog requests reach the
// device over its flow, and the device's, sent over its flow, reach the caller.
func TestOutboundDialogAcrossReplicasRunsOverTheFlow(t *testing.T) {
	tn := newTenant(t, "1001")
	_, tcp := replicaA.Addresses()
	p := dialFlow(t, tn, tcp)
	if res := p.register(1); res.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	routable(t, replicaB, tn, 1)
	caller := newRawCaller(t, replicaB)

	t.Run("the caller hangs up", func(t *testing.T) {
		ok, _ := answeredCall(t, caller, p, tn)
		caller.send(caller.inDialog(sip.BYE, ok, ok.CSeq().SeqNo+1))
		req, err := p.receive(5 * time.Second)
		if err != nil || req.Method != sip.BYE {
			t.Fatalf("the caller's BYE did not come over the flow: %v %v", req, err)
		}
		if res := caller.final(5 * time.Second); res.StatusCode != sip.StatusOK {
			t.Errorf("the caller's BYE got %d %s", res.StatusCode, res.Reason)
		}
	})
	t.Run("the device hangs up", func(t *testing.T) {
		_, inv := answeredCall(t, caller, p, tn)
		if _, err := p.conn.Write([]byte(p.bye(inv).String())); err != nil {
			t.Fatal(err)
		}
		req, from, err := caller.nextRequest(5 * time.Second)
		if err != nil || req.Method != sip.BYE {
			var res *sip.Response
			if msg, rerr := p.read(time.Second); rerr == nil {
				res, _ = msg.(*sip.Response)
			}
			t.Fatalf("the device's BYE did not reach the caller: %v (the device got %v)", err, res)
		}
		caller.respondOK(req, from)
		msg, err := p.read(5 * time.Second)
		if err != nil {
			t.Fatalf("no answer to the device's BYE over its flow: %v", err)
		}
		if res, ok := msg.(*sip.Response); !ok || res.StatusCode != sip.StatusOK {
			t.Errorf("the device's BYE got %v, want 200", msg)
		}
	})
}

// answeredCall has caller call the device p answers as, over its flow: it answers
// 200 with its Contact, the caller ACKs along the Record-Route, and the ACK comes
// over the flow. It returns the caller's 200 and the device's INVITE.
func answeredCall(t *testing.T, caller *rawCaller, p *flowPhone, tn *tenant) (*sip.Response, *sip.Request) {
	t.Helper()
	caller.send(caller.invite("sip:"+tn.aor(), 70, ""))
	msg, err := p.read(5 * time.Second)
	if err != nil {
		t.Fatalf("the INVITE did not come over the flow: %v", err)
	}
	inv, isReq := msg.(*sip.Request)
	if !isReq || inv.Method != sip.INVITE {
		t.Fatalf("the device got %v, not the INVITE", msg)
	}
	res := sip.NewResponseFromRequest(inv, sip.StatusOK, "OK", nil)
	res.AppendHeader(&sip.ContactHeader{Address: p.contactURI()})
	if _, err := p.conn.Write([]byte(res.String())); err != nil {
		t.Fatal(err)
	}
	ok := caller.final(5 * time.Second)
	if ok.StatusCode != sip.StatusOK {
		t.Fatalf("the caller got %d %s, want 200", ok.StatusCode, ok.Reason)
	}
	caller.send(caller.ackOf(ok))
	if msg, err = p.read(5 * time.Second); err != nil {
		t.Fatalf("the ACK did not come over the flow: %v", err)
	}
	if ack, isReq := msg.(*sip.Request); !isReq || ack.Method != sip.ACK {
		t.Fatalf("the device got %v, not the ACK", msg)
	}
	return ok, inv
}

// read returns the next message over the flow, unanswered.
func (p *flowPhone) read(within time.Duration) (sip.Message, error) {
	_ = p.conn.SetReadDeadline(time.Now().Add(within))
	return readStreamMessage(p.rd)
}

// contactURI is the device's Contact: a host nobody can reach.
func (p *flowPhone) contactURI() sip.Uri {
	var u sip.Uri
	_ = sip.ParseUri("sip:"+p.tn.user+"@df7jal23ls0d.invalid;transport=tcp;ob", &u)
	return u
}

// bye is the device's BYE of the dialog inv set up, which it answered: to the
// caller's Contact along the Record-Route, in order (RFC 3261 §12.1.1).
func (p *flowPhone) bye(inv *sip.Request) *sip.Request {
	p.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "BYE %s SIP/2.0\r\n", inv.Contact().Address.String())
	fmt.Fprintf(&b, "Via: SIP/2.0/TCP %s;branch=z9hG4bK-bye%d;rport\r\n", p.conn.LocalAddr().String(), time.Now().UnixNano())
	for _, h := range inv.GetHeaders("Record-Route") {
		fmt.Fprintf(&b, "Route: %s\r\n", h.Value())
	}
	to := inv.From()
	from := inv.To().Value() + ";tag=device" + inv.CallID().Value()
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		from, to.Value(), inv.CallID().Value())
	msg, err := sip.ParseMessage([]byte(b.String()))
	if err != nil {
		p.t.Fatalf("building a BYE: %v", err)
	}
	return msg.(*sip.Request)
}

// request is the text of a request from this caller, with From from, to uri, with
// extra headers (each ending in CRLF).
func (c *rawCaller) request(method sip.RequestMethod, uri, from, extra string) *sip.Request {
	c.t.Helper()
	local := c.conn.LocalAddr().String()
	id := time.Now().UnixNano()
	text := fmt.Sprintf("%[7]s %[1]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-raw%[3]d;rport\r\n"+
		"From: <%[4]s>;tag=raw%[3]d\r\nTo: <%[1]s>\r\n%[5]s"+
		"Call-ID: raw-%[3]d@127.0.0.1\r\nCSeq: 1 %[7]s\r\nMax-Forwards: 70\r\n"+
		"Content-Type: text/plain\r\nContent-Length: %[6]d\r\n\r\nhello", uri, local, id, from, extra, len("hello"), method)
	msg, err := sip.ParseMessage([]byte(text))
	if err != nil {
		c.t.Fatalf("building a %s: %v", method, err)
	}
	return msg.(*sip.Request)
}

// inDialog is this caller's request of the dialog a 2xx to its INVITE set up,
// with CSeq number cseq: to the callee's Contact, along the route set the 2xx's
// Record-Route gives (reversed, RFC 3261 §12.1.2).
func (c *rawCaller) inDialog(method sip.RequestMethod, res *sip.Response, cseq uint32) *sip.Request {
	c.t.Helper()
	contact := res.Contact()
	if contact == nil {
		c.t.Fatal("a 2xx without a Contact")
	}
	var routes []string
	for _, h := range res.GetHeaders("Record-Route") {
		for v := range strings.SplitSeq(h.Value(), ",") {
			routes = append([]string{strings.TrimSpace(v)}, routes...)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, contact.Address.String())
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK-dlg%d;rport\r\n", c.conn.LocalAddr().String(), time.Now().UnixNano())
	for _, rt := range routes {
		fmt.Fprintf(&b, "Route: %s\r\n", rt)
	}
	fmt.Fprintf(&b, "%s\r\n%s\r\n%s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		res.From().String(), res.To().String(), res.CallID().String(), cseq, method)
	msg, err := sip.ParseMessage([]byte(b.String()))
	if err != nil {
		c.t.Fatalf("building a %s: %v", method, err)
	}
	return msg.(*sip.Request)
}

// tryFinal is final, reporting a missing answer instead of failing the test.
func (c *rawCaller) tryFinal(within time.Duration) (*sip.Response, error) {
	buf := make([]byte, 65535)
	deadline := time.Now().Add(within)
	for {
		_ = c.conn.SetReadDeadline(deadline)
		n, _, err := c.conn.ReadFrom(buf)
		if err != nil {
			return nil, fmt.Errorf("no final response: %w", err)
		}
		msg, err := sip.ParseMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("parsing what the caller got: %w", err)
		}
		if res, ok := msg.(*sip.Response); ok && res.StatusCode >= 200 {
			c.ackFinal(res)
			return res, nil
		}
	}
}

// nextRequest returns the next request the caller receives, and where it came
// from; responses are skipped.
func (c *rawCaller) nextRequest(within time.Duration) (*sip.Request, net.Addr, error) {
	buf := make([]byte, 65535)
	deadline := time.Now().Add(within)
	for {
		_ = c.conn.SetReadDeadline(deadline)
		n, from, err := c.conn.ReadFrom(buf)
		if err != nil {
			return nil, nil, fmt.Errorf("no request: %w", err)
		}
		msg, err := sip.ParseMessage(buf[:n])
		if err != nil {
			return nil, nil, fmt.Errorf("parsing what the caller got: %w", err)
		}
		if req, ok := msg.(*sip.Request); ok {
			return req, from, nil
		}
	}
}

// respondOK answers req, which came from addr, with 200 OK.
func (c *rawCaller) respondOK(req *sip.Request, addr net.Addr) {
	c.t.Helper()
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	if _, err := c.conn.WriteTo([]byte(res.String()), addr); err != nil {
		c.t.Fatalf("answering %s: %v", req.Method, err)
	}
}
