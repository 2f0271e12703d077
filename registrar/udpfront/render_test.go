package udpfront

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// oddRequests are legal requests whose headers exercise every branch of wireWriter:
// display names, IPv6 and IPv4-mapped hosts, zones, quoted parameters, URI
// headers and passwords, tel and urn URIs, a wildcard Contact, compact names, a body.
var oddRequests = []string{
	"REGISTER sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bK-1;rport\r\n" +
		"v: SIP/2.0/TCP proxy.example;branch=z9hG4bK-2;received=::ffff:192.0.2.1\r\n" +
		"f: \"Alice Smith\" <sip:alice:secret@acme.example:5070;transport=tcp;lr?subject=hi&x=y>;tag=a b\r\n" +
		"t: <sips:alice@[2001:db8::2]>\r\n" +
		"i: 1234@host\r\n" +
		"CSeq: 2147483647 REGISTER\r\n" +
		"m: \"Desk\" <sip:alice@[::ffff:192.0.2.7]:5060>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-000000000001>\";reg-id=1;expires=60\r\n" +
		"Contact: <tel:+15551234567>\r\n" +
		"Contact: <urn:service:sos>\r\n" +
		"Route: <sip:edge.example;lr>\r\n" +
		"Max-Forwards: 70\r\n" +
		"Expires: 3600\r\n" +
		"Content-Type: text/plain\r\n" +
		"l: 5\r\n\r\nhello",
	"REGISTER sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-3\r\n" +
		"From: <sip:bob@acme.example>;tag=1\r\n" +
		"To: <sip:bob@acme.example>\r\n" +
		"Call-ID: x\r\n" +
		"CSeq: 1 REGISTER\r\n" +
		"Contact: *\r\n" +
		"Expires: 0\r\n" +
		"Content-Length: 0\r\n\r\n",
}

// responsesTo are responses built from req the ways the registrar builds them: a
// copy of the request's identifying headers, and one carrying every header it has.
func responsesTo(req *sip.Request) []*sip.Response {
	plain := sip.NewResponseFromRequest(req, 420, "Bad Extension", nil)
	plain.AppendHeader(sip.NewHeader("Unsupported", "foo, bar"))
	all := sip.NewResponse(200, "OK")
	for _, h := range req.Headers() {
		all.AppendHeader(h)
	}
	all.SetBody(req.Body())
	empty := sip.NewResponse(500, "Server Internal Error")
	// Hosts as the registrar's own headers may hold them, unbracketed: a zone (which
	// sipgo's parser refuses), an IPv4-mapped and a plain IPv6 address.
	zoned := sip.NewResponse(200, "OK")
	zoned.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "fe80::1%eth0", Port: 5060})
	zoned.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Host: "::ffff:192.0.2.7", Port: 5060}})
	zoned.AppendHeader(&sip.ToHeader{Address: sip.Uri{Host: "2001:db8::3"}})
	return []*sip.Response{plain, all, empty, zoned}
}

func checkWireWriter(t *testing.T, res *sip.Response) {
	t.Helper()
	var w wireWriter
	w.b = append(w.b, "left over from the last response"...)
	if got, want := string(w.response(res)), res.String(); got != want {
		t.Fatalf("rendered\n%q\nsipgo renders\n%q", got, want)
	}
}

func TestWireWriterWritesWhatSipgoWrites(t *testing.T) {
	for _, raw := range oddRequests {
		msg, err := sip.NewParser().ParseSIP([]byte(raw))
		if err != nil {
			t.Fatalf("%v in %q", err, raw)
		}
		for _, res := range responsesTo(msg.(*sip.Request)) {
			checkWireWriter(t, res)
		}
	}
}

// TestWireWriterWritesTheRegistrarsResponses renders the challenge and the 200 OK
// of a registration as the front end sends them.
func TestWireWriterWritesTheRegistrarsResponses(t *testing.T) {
	r := newBenchRegistrar(t)
	var last *sip.Response
	handle := r.a.front.cfg.Handle
	r.a.front.cfg.Handle = func(req *sip.Request, n int) *sip.Response {
		last = handle(req, n)
		return last
	}
	c := r.nextCalls(1)[0]
	res := r.answer(r.register(&c, 1))
	if string(res) != last.String() {
		t.Fatalf("challenge sent as\n%q\nsipgo renders\n%q", res, last.String())
	}
	takeNonce(t, res, &c)
	res = r.answer(r.register(&c, 2))
	if !strings.HasPrefix(string(res), "SIP/2.0 200 ") || string(res) != last.String() {
		t.Fatalf("200 OK sent as\n%q\nsipgo renders\n%q", res, last.String())
	}
}

// FuzzWireWriter compares wireWriter with sipgo's rendering for whatever sipgo
// parses: a response as it came, a request through responsesTo.
func FuzzWireWriter(f *testing.F) {
	for _, raw := range oddRequests {
		f.Add([]byte(raw))
	}
	f.Add([]byte("SIP/2.0 407 Proxy Authentication Required\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\n" +
		"Proxy-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth\"\r\nContent-Length: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := sip.NewParser().ParseSIP(data)
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case *sip.Response:
			checkWireWriter(t, m)
		case *sip.Request:
			for _, res := range responsesTo(m) {
				checkWireWriter(t, res)
			}
		}
	})
}
