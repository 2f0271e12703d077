package udpfront

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
)

// TestRawUnavailableMatchesTheParsedOne checks the 503 built from a REGISTER's raw
// lines against the one built from the parsed request (unavailable, through sipgo):
// the same Via (with received and rport filled in), From, To, Call-ID and CSeq, a To
// tag, Retry-After, and the same reply address.
func TestRawUnavailableMatchesTheParsedOne(t *testing.T) {
	from := netip.MustParseAddrPort("192.0.2.7:40001")
	base := []string{
		"From: <sip:1001@acme.example>;tag=a1",
		"To: <sip:1001@acme.example>",
		"Call-ID: c1@phone",
		"CSeq: 2 REGISTER",
		"Contact: <sip:1001@192.0.2.7:5062>",
	}
	for _, c := range []struct {
		name  string
		lines []string
	}{
		{"rport without value", append([]string{"Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-1;rport"}, base...)},
		{"rport in the middle", append([]string{"Via: SIP/2.0/UDP 192.0.2.7:5062;rport;branch=z9hG4bK-1"}, base...)},
		{"rport with a value", append([]string{"Via: SIP/2.0/UDP 192.0.2.7:5062;rport=5099;branch=z9hG4bK-1"}, base...)},
		{"no rport: the Via's port", append([]string{"Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-1"}, base...)},
		{"no port: 5060", append([]string{"Via: SIP/2.0/UDP phone.example;branch=z9hG4bK-1"}, base...)},
		{"IPv6 sent-by", append([]string{"Via: SIP/2.0/UDP [2001:db8::7]:5062;branch=z9hG4bK-1"}, base...)},
		{"two Via lines", append([]string{"Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-1;rport", "Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK-0"}, base...)},
		{"two Vias in a line", append([]string{"Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-1;rport, SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK-0"}, base...)},
		{"compact names", []string{"v: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-1;rport", "f: <sip:1001@acme.example>;tag=a1", "t: sip:1001@acme.example", "i: c1@phone", "CSeq: 2 REGISTER"}},
		{"a To tag already", append([]string{"via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-1", "to: <sip:1001@acme.example>;tag=given"}, base[0], base[2], base[3])},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := []byte("REGISTER sip:acme.example SIP/2.0\r\n" + strings.Join(c.lines, "\r\n") + "\r\nContent-Length: 0\r\n\r\n")
			var out bytes.Buffer
			to, ok := appendUnavailable(&out, data, from)
			if !ok {
				t.Fatal("not answered from the raw lines")
			}
			msg, err := sip.ParseMessage(data)
			if err != nil {
				t.Fatal(err)
			}
			req := msg.(*sip.Request)
			req.SetSource(from.String())
			want := unavailable(req)
			if wantTo := replyAddress(req, from); to != wantTo {
				t.Errorf("sent to %s, want %s", to, wantTo)
			}
			got, err := sip.ParseMessage(out.Bytes())
			if err != nil {
				t.Fatalf("the 503 does not parse: %v\n%s", err, out.String())
			}
			res := got.(*sip.Response)
			if res.StatusCode != sip.StatusServiceUnavailable {
				t.Errorf("status %d", res.StatusCode)
			}
			for _, name := range []string{"Via", "From", "Call-ID", "CSeq"} {
				if g, w := values(res, name), values(want, name); g != w {
					t.Errorf("%s: %q, want %q", name, g, w)
				}
			}
			wantTag, _ := want.To().Params.Get("tag")
			gotTag, _ := res.To().Params.Get("tag")
			if gotTag == "" || (wantTag == "given") != (gotTag == "given") {
				t.Errorf("To tag %q (the parsed path gives %q)", gotTag, wantTag)
			}
			if res.To().Address.String() != want.To().Address.String() {
				t.Errorf("To %s, want %s", res.To().Address.String(), want.To().Address.String())
			}
			if h := res.GetHeader("Retry-After"); h == nil || h.Value() < "1" || h.Value() > "4" {
				t.Errorf("Retry-After %v", h)
			}
			if res.GetHeader("WWW-Authenticate") != nil {
				t.Error("a challenge in the 503")
			}
		})
	}
}

// values joins a response's values of a header, parameters in the order given
// (sipgo writes rport before received, as the raw 503 does).
func values(res *sip.Response, name string) string {
	var b strings.Builder
	for _, h := range res.GetHeaders(name) {
		b.WriteString(h.Value())
		b.WriteString("|")
	}
	return b.String()
}

// A REGISTER that carries credentials, or that the raw reading cannot vouch for,
// is left to the full path.
func TestRawUnavailableLeavesTheRestToTheParser(t *testing.T) {
	from := netip.MustParseAddrPort("192.0.2.7:40001")
	ok := "Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-1;rport\r\nFrom: <sip:1001@acme.example>;tag=a1\r\nTo: <sip:1001@acme.example>\r\nCall-ID: c1\r\nCSeq: 2 REGISTER\r\n"
	for _, c := range []struct{ name, data string }{
		{"Authorization", "REGISTER sip:acme.example SIP/2.0\r\n" + ok + "Authorization: Digest username=\"1001\"\r\n\r\n"},
		{"proxy-authorization in lower case", "REGISTER sip:acme.example SIP/2.0\r\n" + ok + "proxy-authorization : Digest username=\"1001\"\r\n\r\n"},
		{"a folded line", "REGISTER sip:acme.example SIP/2.0\r\n" + ok + "Contact: <sip:1001@192.0.2.7>\r\n ;expires=60\r\n\r\n"},
		{"no Via", "REGISTER sip:acme.example SIP/2.0\r\n" + strings.SplitN(ok, "\r\n", 2)[1] + "\r\n"},
		{"To twice", "REGISTER sip:acme.example SIP/2.0\r\n" + ok + "To: <sip:1002@acme.example>\r\n\r\n"},
		{"no end of the header", "REGISTER sip:acme.example SIP/2.0\r\n" + ok},
		{"not SIP/2.0", "REGISTER sip:acme.example SIP/3.0\r\n" + ok + "\r\n"},
		{"a space inside the Via's host", "REGISTER sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2 .7:5062;branch=z9hG4bK-1\r\n" + strings.SplitN(ok, "\r\n", 2)[1] + "\r\n"},
		{"a bad Via port", "REGISTER sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:99999;branch=z9hG4bK-1\r\n" + strings.SplitN(ok, "\r\n", 2)[1] + "\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if _, answered := appendUnavailable(&out, []byte(c.data), from); answered {
				t.Errorf("answered from the raw lines:\n%s", out.String())
			}
		})
	}
}

// RFC 3261 §18.2.1: a 503 to a REGISTER whose sent-by is not the address it came
// from carries received=<source address> on its top Via, rport or not, whether it
// is written from the raw lines or from the parsed request; one whose sent-by is
// the source does not.
func TestUnavailableCarriesReceivedWhenSentByIsNotTheSource(t *testing.T) {
	from := netip.MustParseAddrPort("192.0.2.7:40001")
	rest := "From: <sip:1001@acme.example>;tag=a1\r\nTo: <sip:1001@acme.example>\r\nCall-ID: c1\r\nCSeq: 2 REGISTER\r\nContent-Length: 0\r\n\r\n"
	for _, c := range []struct {
		name, via, received string
	}{
		{"a private address behind a NAT", "SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK-1", "192.0.2.7"},
		{"a name", "SIP/2.0/UDP phone.example;branch=z9hG4bK-1", "192.0.2.7"},
		{"an IPv6 sent-by", "SIP/2.0/UDP [2001:db8::7]:5062;branch=z9hG4bK-1", "192.0.2.7"},
		{"two Vias in a line", "SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK-1, SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK-0", "192.0.2.7"},
		{"the source itself", "SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-1", ""},
		{"the source itself, no port", "SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK-1", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := []byte("REGISTER sip:acme.example SIP/2.0\r\nVia: " + c.via + "\r\n" + rest)
			check := func(path string, res *sip.Response) {
				t.Helper()
				via := res.Via()
				if via == nil {
					t.Fatalf("%s: no Via:\n%s", path, res)
				}
				got, has := via.Params.Get("received")
				if c.received == "" && has {
					t.Errorf("%s: top Via %q has received for a sent-by that is the source", path, via.Value())
				}
				if c.received != "" && got != c.received {
					t.Errorf("%s: top Via %q: received %q, want %s", path, via.Value(), got, c.received)
				}
				if via.Params.Has("rport") {
					t.Errorf("%s: top Via %q has rport, which the request did not ask for", path, via.Value())
				}
			}
			var out bytes.Buffer
			if _, ok := appendUnavailable(&out, data, from); !ok {
				t.Fatal("not answered from the raw lines")
			}
			raw, err := sip.ParseMessage(out.Bytes())
			if err != nil {
				t.Fatalf("the raw 503 does not parse: %v\n%s", err, out.String())
			}
			check("raw", raw.(*sip.Response))
			msg, err := sip.ParseMessage(data)
			if err != nil {
				t.Fatal(err)
			}
			req := msg.(*sip.Request)
			req.SetSource(from.String())
			check("parsed", unavailable(req))
		})
	}
}

// A shed REGISTER whose Via is written with the whitespace RFC 3261 §25.1 allows
// (around the sent-by's ':', the parameters' ';' and '=') is answered from its raw
// lines as the parsed path answers it: at the source port when it asks for rport,
// with rport=<port> and received on its Via.
func TestRawUnavailableReadsASpacedVia(t *testing.T) {
	from := netip.MustParseAddrPort("192.0.2.7:40001")
	rest := "From: <sip:1001@acme.example>;tag=a1\r\nTo: <sip:1001@acme.example>\r\nCall-ID: c1\r\nCSeq: 2 REGISTER\r\nContent-Length: 0\r\n\r\n"
	for _, c := range []struct {
		via   string
		rport bool
	}{
		{"SIP/2.0/UDP 10.0.0.5:5062 ; branch=z9hG4bK-1 ; rport", true},
		{"SIP/2.0/UDP 10.0.0.5 : 5062;branch = z9hG4bK-1; rport ;x=1", true},
		{"SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK-1 ; Rport, SIP/2.0/UDP 10.0.0.1", true},
		{"SIP/2.0/UDP [2001:db8::5] :5062 ; branch=z9hG4bK-1", false},
		{"SIP/2.0/UDP 10.0.0.5:5062 ; branch=z9hG4bK-1 ; received = 10.0.0.9", false},
	} {
		t.Run(c.via, func(t *testing.T) {
			data := []byte("REGISTER sip:acme.example SIP/2.0\r\nVia: " + c.via + "\r\n" + rest)
			var out bytes.Buffer
			to, ok := appendUnavailable(&out, data, from)
			if !ok {
				t.Fatal("not answered from the raw lines")
			}
			if want := netip.AddrPortFrom(from.Addr(), 5062); !c.rport && to != want {
				t.Errorf("sent to %s, want %s (the Via's port)", to, want)
			}
			if c.rport && to != from {
				t.Errorf("sent to %s, want %s (rport: the source)", to, from)
			}
			msg, err := sipparse.NewSipgoParser().ParseSIP(data)
			if err != nil {
				t.Fatal(err)
			}
			req := msg.(*sip.Request)
			req.SetSource(from.String())
			if wantTo := replyAddress(req, from); to != wantTo {
				t.Errorf("sent to %s, the parsed path to %s", to, wantTo)
			}
			got, err := sipparse.NewSipgoParser().ParseSIP(out.Bytes())
			if err != nil {
				t.Fatalf("the 503 does not parse: %v\n%s", err, out.String())
			}
			via := got.(*sip.Response).Via()
			rport, hasRport := sipparse.Param(via.Params, "rport")
			received, _ := sipparse.Param(via.Params, "received")
			if c.rport && (rport != "40001" || received != "192.0.2.7") {
				t.Errorf("top Via %q: rport %q received %q, want 40001 and 192.0.2.7", via.Value(), rport, received)
			}
			if !c.rport && hasRport >= 0 {
				t.Errorf("top Via %q has rport", via.Value())
			}
			wantVia := unavailable(req).Via()
			for _, name := range []string{"rport", "received", "branch"} {
				g, gi := sipparse.Param(via.Params, name)
				w, wi := sipparse.Param(wantVia.Params, name)
				if g != w || (gi < 0) != (wi < 0) {
					t.Errorf("%s %q, the parsed path %q (%q, %q)", name, g, w, via.Value(), wantVia.Value())
				}
			}
		})
	}
}
