package rawreply

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

const register = "REGISTER sip:acme.example SIP/2.0\r\n" +
	"Via: SIP/2.0/TCP 192.0.2.7:40001;branch=z9hG4bK-r1;rport\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: <sip:1001@acme.example>;tag=a1\r\n" +
	"To: <sip:1001@acme.example>\r\n" +
	"Call-ID: r1@x\r\n" +
	"CSeq: 7 REGISTER\r\n" +
	"Authorization: Digest username=\"1001\", realm=\"acme.example\", nonce=\"n\", uri=\"sip:acme.example\", response=\"0123456789abcdef0123456789abcdef\"\r\n" +
	"Contact: <sip:1001@192.0.2.7:40001;transport=tcp>\r\n" +
	"Content-Length: 0\r\n\r\n"

// malformedCopied are REGISTERs whose fault is in a line a response copies, or in
// a line with no header name (RFC 3261 §8.1.1.5, §21.4.1; RFC 4475 §3.1.2.4,
// scalar02): the reason of their 400, and the header the 400 leaves out because
// it does not parse ("" when none).
var malformedCopied = []struct{ name, old, new, reason, left string }{
	{"a CSeq that is no number", "CSeq: 7 REGISTER", "CSeq: abc REGISTER", "Malformed CSeq Header", "CSeq"},
	{"a CSeq without a method", "CSeq: 7 REGISTER", "CSeq: 1", "Malformed CSeq Header", "CSeq"},
	{"a CSeq of 2**32", "CSeq: 7 REGISTER", "CSeq: 4294967296 REGISTER", "Malformed CSeq Header", "CSeq"},
	{"a CSeq of 2**31", "CSeq: 7 REGISTER", "CSeq: 2147483648 REGISTER", "Malformed CSeq Header", "CSeq"},
	{"a To that does not parse", "To: <sip:1001@acme.example>", "To: garbage<<", "Malformed To Header", "To"},
	{"a From that does not parse", "From: <sip:1001@acme.example>;tag=a1", "From: <sip:", "Malformed From Header", "From"},
	{"a Via that is garbage", "Via: SIP/2.0/TCP 192.0.2.7:40001;branch=z9hG4bK-r1;rport", "Via: garbage", "Malformed Via Header", "Via"},
	{"an empty Call-ID", "Call-ID: r1@x", "Call-ID: ", "Malformed Call-ID Header", "Call-ID"},
	{"a line without a colon", "Max-Forwards: 70", "Max-Forwards 70", NoColonReason, ""},
}

// checkAnswer parses res, the 400 to req, and checks what every one must be: a
// 400 with reason that sipgo parses, with the request's Via (its branch) unless
// left is Via, every one of From, To, Call-ID and CSeq as the request has it but
// the one left out, and nothing else of the request (its credentials, its
// Contact).
func checkAnswer(t *testing.T, req, res, reason, left string) {
	t.Helper()
	msg, err := sip.NewParser().ParseSIP([]byte(res))
	if err != nil {
		t.Fatalf("the 400 does not parse: %v\n%s", err, res)
	}
	if r, ok := msg.(*sip.Response); !ok || r.StatusCode != 400 || r.Reason != reason {
		t.Fatalf("not 400 %s:\n%s", reason, res)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(res, "\r\n\r\n"), "\r\n")[1:] {
		k, v, _ := strings.Cut(l, ": ")
		if _, twice := lines[k]; twice {
			t.Errorf("%s twice in the 400:\n%s", k, res)
		}
		lines[k] = v
	}
	for _, name := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
		got, copied := lines[name]
		if name == left {
			if copied {
				t.Errorf("the 400 copies the %s that does not parse: %q", name, got)
			}
			continue
		}
		want := header(req, name)
		switch name {
		case "Via":
			want = "SIP/2.0/TCP 192.0.2.7:40001;branch=z9hG4bK-r1;rport=40001;received=192.0.2.7"
		case "To":
			got, _, _ = strings.Cut(got, ";tag=")
		}
		if got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
	for _, leak := range []string{"Digest", "Contact", "Max-Forwards"} {
		if strings.Contains(res, leak) {
			t.Errorf("the 400 carries %q:\n%s", leak, res)
		}
	}
}

// header is the value of the first line named name in msg.
func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Each of them is answered 400 naming the header at fault, over a stream (the
// connection is the way back, a Via that is garbage too), and in a datagram but
// for the garbage Via, which leaves no address to answer at.
func TestMalformedCopiedHeadersAreAnswered(t *testing.T) {
	from := netip.MustParseAddrPort("192.0.2.7:40001")
	for _, tc := range malformedCopied {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(register, tc.old) {
				t.Fatalf("no %q in the REGISTER", tc.old)
			}
			req := strings.Replace(register, tc.old, tc.new, 1)
			_, perr := sip.NewParser().ParseSIP([]byte(req))
			if perr == nil {
				t.Fatal("sipgo parses the REGISTER: not malformed")
			}
			reason, ok := Reason([]byte(req), perr)
			if !ok || reason != tc.reason {
				t.Fatalf("Reason = %q, %v; want %q", reason, ok, tc.reason)
			}
			var out bytes.Buffer
			if !Refusal(&out, []byte(req), perr, net.TCPAddrFromAddrPort(from)) {
				t.Fatal("not answered over a stream")
			}
			checkAnswer(t, req, out.String(), tc.reason, tc.left)

			out.Reset()
			to, ok := BadRequest(&out, []byte(req), from, reason)
			if tc.left == "Via" {
				if ok || out.Len() > 0 {
					t.Fatalf("answered in a datagram, with no Via to answer at:\n%s", out.String())
				}
				return
			}
			if !ok || to != from {
				t.Fatalf("answered %v, to %s; want an answer to %s", ok, to, from)
			}
			checkAnswer(t, req, out.String(), tc.reason, tc.left)
		})
	}
}

// What a 400 copies never starts a line of its own, whatever bytes the request's
// lines hold (a bare LF or CR, a NUL: sipgo's parser takes those in a value), and is
// bounded: a value longer than maxCopied is left out. The Via lines below the top
// one are copied as far as they parse.
func TestCopiedValuesAreSanitisedAndBounded(t *testing.T) {
	from := netip.MustParseAddrPort("192.0.2.7:40001")
	req := strings.NewReplacer(
		"Max-Forwards: 70", "Max-Forwards: seventy",
		"Call-ID: r1@x", "Call-ID: r1@x\nX-Injected: 1\x00",
		"From: <sip:1001@acme.example>;tag=a1", "From: <sip:1001@acme.example>;tag=a1\rY-Injected: 2",
		"To: <sip:1001@acme.example>", "To: \""+strings.Repeat("x", maxCopied)+"\" <sip:1001@acme.example>",
		"Contact:", "Via: SIP/2.0/TCP proxy.invalid;branch=z9hG4bK-p\r\nVia: garbage\r\nVia: SIP/2.0/TCP below.invalid;branch=z9hG4bK-b\r\nContact:",
	).Replace(register)
	var out bytes.Buffer
	if _, ok := BadRequest(&out, []byte(req), from, "Malformed Max-Forwards Header"); !ok {
		t.Fatal("not answered")
	}
	res := out.String()
	if _, err := sip.NewParser().ParseSIP(out.Bytes()); err != nil {
		t.Fatalf("the 400 does not parse: %v\n%q", err, res)
	}
	if bytes.ContainsAny(bytes.ReplaceAll(out.Bytes(), []byte("\r\n"), nil), "\r\n\x00") {
		t.Errorf("a CR, LF or NUL outside a line's end:\n%q", res)
	}
	for _, want := range []string{"\r\nCall-ID: r1@x X-Injected: 1 \r\n", "\r\nFrom: <sip:1001@acme.example>;tag=a1 Y-Injected: 2\r\n",
		"\r\nVia: SIP/2.0/TCP proxy.invalid;branch=z9hG4bK-p\r\nFrom:"} {
		if !strings.Contains(res, want) {
			t.Errorf("no %q in the 400:\n%q", want, res)
		}
	}
	if strings.Contains(res, "\r\nTo:") || strings.Contains(res, "below.invalid") {
		t.Errorf("the 400 copies a To over %d bytes, or a Via below one that does not parse:\n%q", maxCopied, res)
	}
}
