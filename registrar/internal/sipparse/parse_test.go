package sipparse

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// phoneRegister is a REGISTER as a refreshing phone sends it, with headers in the forms
// devices use.
const phoneRegister = "REGISTER sip:acme.registrar.voipbin.net SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK776asdhds;rport\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: \"Alice\" <sip:1001@acme.registrar.voipbin.net>;tag=456248\r\n" +
	"To: <sip:1001@acme.registrar.voipbin.net>\r\n" +
	"Call-ID: 843817637684230@998sdasdh09\r\n" +
	"CSeq: 1826 REGISTER\r\n" +
	"Contact: <sip:1001@192.0.2.10:5062;transport=udp>;expires=3600;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"\r\n" +
	"Authorization: Digest username=\"1001\", realm=\"acme.registrar.voipbin.net\", nonce=\"abc\", uri=\"sip:acme.registrar.voipbin.net\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5, cnonce=\"x\", qop=auth, nc=00000001\r\n" +
	"User-Agent: Yealink SIP-T46S 66.86.0.15\r\n" +
	"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n" +
	"Expires: 3600\r\n" +
	"Content-Length: 0\r\n" +
	"\r\n"

// edit returns phoneRegister with old replaced by new, once.
func edit(old, new string) string {
	if !strings.Contains(phoneRegister, old) {
		panic("no " + old + " in the REGISTER")
	}
	return strings.Replace(phoneRegister, old, new, 1)
}

// shapes are REGISTERs the fast path must take (fast) or leave to sipgo; either way
// the request must be sipgo's.
var shapes = []struct {
	name string
	data string
	fast bool
}{
	{"a phone's refresh", phoneRegister, true},
	{"compact header names", edit("Via:", "v:"), true},
	{"header names in any case", edit("Call-ID:", "CALL-id:"), true},
	{"space around the colon", edit("CSeq: 1826", "CSeq :  1826 "), true},
	{"no Content-Length", edit("Content-Length: 0\r\n", ""), true},
	{"a body", edit("Content-Length: 0\r\n\r\n", "Content-Length: 5\r\n\r\nhello"), true},
	{"a body without a Content-Length", edit("Content-Length: 0\r\n\r\n", "\r\nhello"), true},
	{"a header name longer than any sipgo parses", edit("Allow:", strings.Repeat("X", 40)+":"), true},
	{"an IPv6 Via", edit("192.0.2.10:5062;branch", "[2001:db8::10]:5062;branch"), true},
	{"a wildcard Contact", edit("Contact: <sip:1001@192.0.2.10:5062;transport=udp>;expires=3600;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"", "Contact: *"), true},

	// The slab's rooms (slab.go) and the header references sipgo keeps.
	{"two Via headers: the first is the request's Via", edit("Max-Forwards:", "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx;received=192.0.2.9\r\nMax-Forwards:"), true},
	{"three Via headers, more than the slab holds", edit("Max-Forwards:", "v: SIP/2.0/TCP 192.0.2.1:5070;branch=z9hG4bKx\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKy\r\nMax-Forwards:"), true},
	{"three Contact headers, the last is the request's Contact", edit("Expires: 3600", "m: <sip:a@192.0.2.1>;expires=60\r\nContact: \"B, C\" <sip:b@192.0.2.2>;q=0.5;expires=0\r\nExpires: 3600"), true},
	{"two Route and two Record-Route headers: the first of each is kept", edit("Expires: 3600", "Route: <sip:p1.example;lr>\r\nRecord-Route: <sip:r1.example;lr>\r\nRoute: <sip:p2.example;lr>\r\nRecord-Route: <sip:r2.example;lr>\r\nExpires: 3600"), true},
	{"two From and two To headers: the last of each is kept", edit("Expires: 3600", "f: <sip:x@a.example>;tag=2\r\nt: <sip:y@a.example>;tag=3\r\nExpires: 3600"), true},
	{"more parameters than the slab holds", edit(";branch=z9hG4bK776asdhds;rport", ";branch=z9hG4bK776asdhds;rport;a=1;b=2;c=3;d=4;e=5;f=6;g=7;h=8;i=9;j=10;k"), true},
	{"an IPv6 Via with a port that is no number", edit("192.0.2.10:5062;branch", "[2001:db8::10]:50x2;branch"), true},
	{"a Via with a port that is no number", edit("192.0.2.10:5062;branch", "192.0.2.10:50x2;branch"), true},
	{"a Via without parameters", edit("192.0.2.10:5062;branch=z9hG4bK776asdhds;rport", "192.0.2.10"), true},
	{"a Call-ID twice, compact", edit("Expires: 3600", "i: second@192.0.2.10\r\nExpires: 3600"), true},
	// Addresses (address.go), as sipgo's ParseAddressValue reads them.
	{"a display name with escaped quotes and backslash", edit(`From: "Alice"`, `From: "A \"B\" \\"`), true},
	{"an unquoted display name", edit(`From: "Alice"`, `From: Alice Smith`), true},
	{"a To without angle brackets: its parameters are the header's", edit("To: <sip:1001@acme.registrar.voipbin.net>", "To: sip:1001@acme.registrar.voipbin.net;tag=x;foo"), true},
	{"a quoted display name before a bare URI", edit("To: <sip:1001@acme.registrar.voipbin.net>", `To: "Bob";sip:1001@acme.registrar.voipbin.net;tag=x`), true},
	{"odd header parameters", edit(";expires=3600;", ";;=x;a=b=c;expires=3600;"), true},
	// RFC 3261 §25.1 allows whitespace around ';' and '='; sipgo keeps it in the
	// names and values, and so does the fast path (register trims when it reads).
	{"whitespace around a Contact's ';' and '='", edit(";expires=3600;+sip.instance=", " ; expires = 3600; +sip.instance= "), true},
	// RFC 3261 §25.1 allows whitespace around a sent-by's ':' and before ';' too,
	// where sipgo's own Via parser loses host, port and parameters (via.go).
	{"whitespace before a Via's first ';'", edit("192.0.2.10:5062;branch=z9hG4bK776asdhds;rport", "192.0.2.10:5062 ; branch=z9hG4bK776asdhds ; rport"), true},
	{"whitespace around a Via's ':'", edit("192.0.2.10:5062;branch", "192.0.2.10 : 5062;branch"), true},
	{"whitespace in an IPv6 Via", edit("192.0.2.10:5062;branch", "[2001:db8::10] : 5062 ;branch"), true},
	{"whitespace in a Via without parameters", edit("192.0.2.10:5062;branch=z9hG4bK776asdhds;rport", "192.0.2.10 :5062"), true},
	{"text between the bracket and the parameters", edit("tag=456248", "tag=456248\r\nt: <sip:1001@acme.registrar.voipbin.net>junk;tag=9"), true},
	{"a display name whose quotes never close", edit(`From: "Alice"`, `From: "Alice`), false},
	{"a display name without a URI after it", edit(`From: "Alice" <sip:1001@acme.registrar.voipbin.net>;tag=456248`, `From: "Alice" sip:1001@acme.registrar.voipbin.net`), false},
	{"a URI without its closing bracket", edit(`<sip:1001@acme.registrar.voipbin.net>;tag=456248`, `<sip:1001@acme.registrar.voipbin.net;tag=456248`), false},
	{"an escaped LF in a display name", edit(`From: "Alice"`, "From: \"Al\\\nice\""), false},
	{"compact Content-Length with a body", edit("Content-Length: 0\r\n\r\n", "l: 5\r\n\r\nhello"), true},
	{"escaped characters in a Contact URI and a quoted parameter", edit("<sip:1001@192.0.2.10:5062;transport=udp>", "<sip:10%2001@192.0.2.10:5062;transport=udp;x=%3B>;note=\"a;b\""), true},
	{"no header at all", "REGISTER sip:acme.registrar.voipbin.net SIP/2.0\r\n\r\n", false},
	{"an IPv6 Via without its closing bracket", edit("192.0.2.10:5062;branch", "[2001:db8::10:5062;branch"), false},
	{"a From with a wildcard", edit("From: \"Alice\" <sip:1001@acme.registrar.voipbin.net>;tag=456248", "From: *"), false},
	{"a Via without a transport", edit("SIP/2.0/UDP 192.0.2.10", "SIP/2.0/UDP"), false},

	{"two Contacts in one header", edit("Contact: <sip:1001@192.0.2.10:5062;transport=udp>", "Contact: <sip:a@192.0.2.1>, <sip:b@192.0.2.2>"), false},
	{"two Vias in one header", edit("rport\r\n", "rport, SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n"), false},
	{"a folded header", edit("User-Agent: Yealink", "User-Agent:\r\n Yealink"), false},
	{"a bad CSeq", edit("CSeq: 1826", "CSeq: many"), false},
	{"a header without a colon", edit("Expires: 3600", "Expires 3600"), false},
	{"a CR without LF", edit("Expires: 3600\r\n", "Expires: 3600\r"), false},
	{"no empty line", strings.TrimSuffix(phoneRegister, "\r\n"), false},
	{"a truncated body", edit("Content-Length: 0", "Content-Length: 10"), false},
	{"a wildcard Request-URI", edit("sip:acme.registrar.voipbin.net SIP/2.0", "* SIP/2.0"), false},
	{"SIP version with a space", edit("SIP/2.0\r\nVia", "SIP/2.0 x\r\nVia"), false},
	{"two spaces after the method", edit("REGISTER sip:", "REGISTER  sip:"), false},
	{"a lower-case method", edit("REGISTER sip:", "register sip:"), false},
}

func TestRegisterParserBuildsSipgosRequest(t *testing.T) {
	p := New()
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			_, fast := p.parseRegister([]byte(s.data))
			if fast != s.fast {
				t.Errorf("fast path taken: %v, want %v", fast, s.fast)
			}
			assertSameAsSipgo(t, p, []byte(s.data))
		})
	}
}

// TestRegisterParserTorture runs the RFC 4475 torture messages through both parsers,
// each also as a REGISTER so the fast path sees them.
func TestRegisterParserTorture(t *testing.T) {
	p := New()
	for _, data := range tortureRegisters(t) {
		assertSameAsSipgo(t, p, data)
	}
}

// tortureRegisters is every RFC 4475 message the server tests keep, as it is and
// with its method made REGISTER.
func tortureRegisters(t testing.TB) [][]byte {
	files, err := filepath.Glob("../../register/testdata/torture/*/*.dat")
	if err != nil || len(files) == 0 {
		t.Fatalf("no torture messages: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
		if method, rest, ok := bytes.Cut(data, []byte(" ")); ok && !bytes.Equal(method, []byte("REGISTER")) {
			out = append(out, append([]byte("REGISTER "), rest...))
		}
	}
	return out
}

// FuzzRegisterParser: whatever the fast path accepts, sipgo accepts as the same
// request.
func FuzzRegisterParser(f *testing.F) {
	for _, s := range shapes {
		f.Add([]byte(s.data))
	}
	for _, data := range tortureRegisters(f) {
		f.Add(data)
	}
	p := New()
	f.Fuzz(func(t *testing.T, data []byte) {
		assertSameAsSipgo(t, p, data)
	})
}

// assertSameAsSipgo checks that p answers data exactly as sipgo's parser does: the
// same request, field for field, or an error for an error.
func assertSameAsSipgo(t *testing.T, p *Parser, data []byte) {
	t.Helper()
	want, wantErr := NewSipgoParser().ParseSIP(bytes.Clone(data))
	got, err := p.ParseSIP(data)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("error %v, sipgo's %v\n%q", err, wantErr, data)
	}
	if err != nil {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("request differs from sipgo's\n got: %#v\nwant: %#v\n%q", got, want, data)
	}
}

// TestPhoneRegisterParsesInFewAllocations holds the fast path to its allocations for
// a phone's refresh: the datagram's text, the header list, a Contact URI's parameters
// and the four headers sipgo keeps as text (sipgo's own parser: 46); the slab is the
// Parser's, reused.
func TestPhoneRegisterParsesInFewAllocations(t *testing.T) {
	p, data := New(), []byte(phoneRegister)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := p.ParseSIP(data); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 7 {
		t.Errorf("parsing a phone's REGISTER allocates %v times, want at most 7", allocs)
	}
}

// TestReusedParserKeepsEarlierStrings: the next parse reuses the Parser's memory
// for its request, but the strings of an earlier request, which the location table
// and the throttles may keep, are never overwritten.
func TestReusedParserKeepsEarlierStrings(t *testing.T) {
	p := New()
	first, err := p.ParseSIP([]byte(phoneRegister))
	if err != nil {
		t.Fatal(err)
	}
	callID, user := first.CallID().Value(), first.(*sip.Request).Contact().Address.User
	if _, err := p.ParseSIP([]byte(edit("843817637684230@998sdasdh09", "another-call-id-of-equal-len"))); err != nil {
		t.Fatal(err)
	}
	if callID != "843817637684230@998sdasdh09" || user != "1001" {
		t.Errorf("an earlier request's strings changed: Call-ID %q, Contact user %q", callID, user)
	}
}

// BenchmarkParse compares the fast path with sipgo's parser on a phone's refresh.
func BenchmarkParse(b *testing.B) {
	data := []byte(phoneRegister)
	for _, p := range []struct {
		name  string
		parse func([]byte) (sip.Message, error)
	}{
		{"fast", New().ParseSIP},
		{"sipgo", sip.NewParser().ParseSIP},
	} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
