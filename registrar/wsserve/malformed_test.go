package wsserve

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/voipbin/registrar-operator/registrar/internal/rawreply"
	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
	"github.com/voipbin/registrar-operator/registrar/netguard"
)

// edited is MESSAGE n with old replaced by new, which must be in it.
func edited(t testing.TB, n int, old, new string) string {
	t.Helper()
	m := message(n)
	if !strings.Contains(m, old) {
		t.Fatalf("no %q in the MESSAGE", old)
	}
	return strings.Replace(m, old, new, 1)
}

// A request sipgo's parser refuses for a header line is answered 400 naming it on
// its connection, a header a response copies too (CSeq, To, Via, a line without a
// colon), and the connection stays: the next message gets its 200. Without this,
// sipgo closes the connection unanswered. The 400 carries the request's Via
// where that parses: the connection is the way back, not the Via.
func TestMalformedRequestIsAnswered400(t *testing.T) {
	s := startServer(t, Config{}, netguard.Config{})
	c := s.dial(t, nil)
	for i, tc := range []struct {
		name, old, new, status string
		noVia                  bool
	}{
		{"Content-Length past the body", "Content-Length: 0", "Content-Length: 40", "SIP/2.0 400 Body Shorter Than Content-Length", false},
		{"Max-Forwards not a number", "Max-Forwards: 70", "Max-Forwards: seventy", "SIP/2.0 400 Malformed Max-Forwards Header", false},
		{"a CSeq of 2**31", "CSeq: 1 MESSAGE", "CSeq: 2147483648 MESSAGE", "SIP/2.0 400 Malformed CSeq Header", false},
		{"a To that does not parse", "To: <sip:1001@example.com>", "To: garbage<<", "SIP/2.0 400 Malformed To Header", false},
		{"a line without a colon", "Max-Forwards: 70", "Max-Forwards 70", "SIP/2.0 400 Malformed Header Line", false},
		{"a Via that is garbage", "Via: SIP/2.0/WS x.invalid;branch=z9hG4bK-55", "Via: garbage", "SIP/2.0 400 Malformed Via Header", true},
	} {
		bad := edited(t, 50+i, tc.old, tc.new)
		if err := wsutil.WriteClientText(c, []byte(bad)); err != nil {
			t.Fatal(err)
		}
		f := frame(t, c)
		res, err := sip.ParseMessage(f.Payload)
		if err != nil || !strings.HasPrefix(string(f.Payload), tc.status+"\r\n") {
			t.Fatalf("%s: got %q (%v), want %s", tc.name, f.Payload, err, tc.status)
		}
		if got := res.CallID().Value(); got != fmt.Sprintf("c%d@x", 50+i) {
			t.Errorf("%s: the 400's Call-ID is %q, not the request's", tc.name, got)
		}
		via := res.Via()
		if tc.noVia != (via == nil) || via != nil && !strings.Contains(via.Value(), fmt.Sprintf("branch=z9hG4bK-%d", 50+i)) {
			t.Errorf("%s: the 400's Via is %v, want the request's (none when it does not parse)", tc.name, via)
		}
		if err := wsutil.WriteClientText(c, []byte(message(60+i))); err != nil {
			t.Fatal(err)
		}
		expectOK(t, c, 60+i)
	}
}

// What cannot be answered (a response, an ACK, what is no SIP at all) is dropped,
// and the connection stays: the next frame from the server is the 200 to the good
// MESSAGE after them.
func TestUnanswerableMessagesAreDropped(t *testing.T) {
	s := startServer(t, Config{}, netguard.Config{})
	c := s.dial(t, nil)
	for _, bad := range []string{
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK-r\r\nFrom: <sip:a@x>;tag=1\r\n" +
			"To: <sip:b@x>;tag=2\r\nCall-ID: r@x\r\nCSeq: one MESSAGE\r\nContent-Length: 0\r\n\r\n",
		strings.NewReplacer("MESSAGE sip", "ACK sip", "1 MESSAGE", "1 ACK", "Max-Forwards: 70", "Max-Forwards: x").Replace(message(70)),
		strings.NewReplacer("MESSAGE sip", "ACK sip", "1 MESSAGE", "1 ACK", "SIP/2.0/WS x.invalid", "SIP/2.0/WS [x.invalid").Replace(message(71)),
		edited(t, 72, "Max-Forwards: 70", "Max-Forwards:\r\n seventy"),
		"",
		"\r\n\r\n\r\n",
		"hello",
	} {
		if err := wsutil.WriteClientText(c, []byte(bad)); err != nil {
			t.Fatal(err)
		}
	}
	if err := wsutil.WriteClientBinary(c, []byte{0xff, 0, 0x13}); err != nil {
		t.Fatal(err)
	}
	if err := wsutil.WriteClientText(c, []byte(message(73))); err != nil {
		t.Fatal(err)
	}
	expectOK(t, c, 73)
}

// A connection that sends only messages that do not parse stays unproven, and is
// cut at the first-message deadline as a silent one is.
func TestGarbageDoesNotProveAConnection(t *testing.T) {
	s := startServer(t, Config{}, netguard.Config{FirstMessage: 300 * time.Millisecond, Idle: time.Hour})
	c := s.dial(t, nil)
	if err := wsutil.WriteClientText(c, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	if _, err := ws.ReadFrame(c); err == nil || isTimeout(err) {
		t.Fatalf("the connection that sent garbage was not cut: %v", err)
	}
	if got := s.guard.Stats().TimedOut; got != 1 {
		t.Errorf("%d connections timed out, want 1", got)
	}
}

// rawreply.Refusal answers what it should and only that, from the parser's error and
// the raw lines: the body's shortfall or the header at fault named, nothing for a
// message it cannot answer.
func TestRefusal(t *testing.T) {
	from := net.TCPAddrFromAddrPort(netip.MustParseAddrPort("192.0.2.7:40001"))
	for _, tc := range []struct{ name, msg, want string }{
		{"a short body", edited(t, 1, "Content-Length: 0\r\n\r\n", "Content-Length: 10\r\n\r\nhi"), "SIP/2.0 400 Body Shorter Than Content-Length\r\n"},
		{"a Content-Length past any message", edited(t, 1, "Content-Length: 0", "Content-Length: 999999"), "SIP/2.0 400 Body Shorter Than Content-Length\r\n"},
		{"a Contact without its >", edited(t, 1, "Max-Forwards: 70", "Contact: <sip:x@y.invalid"), "SIP/2.0 400 Malformed Contact Header\r\n"},
		{"a Content-Length not a number", edited(t, 1, "Content-Length: 0", "Content-Length: none"), "SIP/2.0 400 Malformed Content-Length Header\r\n"},
		{"a From that does not parse", edited(t, 1, "From: <sip:1002@example.com>", `From: "x <sip:1002@example.com>`), "SIP/2.0 400 Malformed From Header\r\n"},
		{"a CSeq of 2**32", edited(t, 1, "CSeq: 1 MESSAGE", "CSeq: 4294967296 MESSAGE"), "SIP/2.0 400 Malformed CSeq Header\r\n"},
		{"an empty Call-ID", edited(t, 1, "Call-ID: c1@x", "Call-ID: "), "SIP/2.0 400 Malformed Call-ID Header\r\n"},
		{"a folded line", edited(t, 1, "Max-Forwards: 70", "Max-Forwards:\r\n seventy"), ""},
		{"a start line with four parts", edited(t, 1, "SIP/2.0\r\n", "SIP/2.0 x\r\n"), ""},
		{"no empty line", strings.TrimSuffix(message(1), "\r\n"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sipparse.Check([]byte(tc.msg))
			if err == nil {
				t.Fatal("the message parses")
			}
			var out bytes.Buffer
			answered := rawreply.Refusal(&out, []byte(tc.msg), err, from)
			if answered != (tc.want != "") || !strings.HasPrefix(out.String(), tc.want) {
				t.Fatalf("answered %v:\n%s\nwant %q", answered, out.String(), tc.want)
			}
			if answered && !strings.Contains(out.String(), "received=192.0.2.7") {
				t.Errorf("the 400's Via names no received address:\n%s", out.String())
			}
		})
	}
}

// FuzzRefusal: whatever a message holds that does not parse, deciding
// whether to answer it never panics, and an answer is a 400 that parses, to a
// request that is no ACK, with its top Via (its branch) where that parses, and no
// Call-ID or CSeq but the request's.
func FuzzRefusal(f *testing.F) {
	f.Add([]byte(edited(f, 1, "Content-Length: 0", "Content-Length: 40")))
	f.Add([]byte(edited(f, 1, "Max-Forwards: 70", "Max-Forwards: seventy")))
	f.Add([]byte(edited(f, 1, "Max-Forwards: 70", "Max-Forwards:\r\n seventy")))
	f.Add([]byte("SIP/2.0 200 OK\r\nCSeq: x\r\n\r\n"))
	for _, bad := range [][2]string{
		{"CSeq: 1 MESSAGE", "CSeq: abc MESSAGE"}, {"CSeq: 1 MESSAGE", "CSeq: 1"},
		{"CSeq: 1 MESSAGE", "CSeq: 4294967296 MESSAGE"}, {"CSeq: 1 MESSAGE", "CSeq: 2147483648 MESSAGE"},
		{"To: <sip:1001@example.com>", "To: garbage<<"}, {"From: <sip:1002@example.com>", "From: <sip:"},
		{"Via: SIP/2.0/WS x.invalid;branch=z9hG4bK-1", "Via: garbage"}, {"Call-ID: c1@x", "Call-ID: "},
		{"Max-Forwards: 70", "Max-Forwards 70"}, {"Call-ID: c1@x", "Call-ID: c1@x\nX: y\x00"},
	} {
		f.Add([]byte(edited(f, 1, bad[0], bad[1])))
	}
	from := net.TCPAddrFromAddrPort(netip.MustParseAddrPort("192.0.2.10:40000"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		err := sipparse.Check(msg)
		if err == nil {
			return
		}
		var out bytes.Buffer
		if !rawreply.Refusal(&out, msg, err, from) {
			if out.Len() != 0 {
				t.Fatalf("not answered, yet %d bytes written", out.Len())
			}
			return
		}
		if bytes.HasPrefix(msg, []byte("ACK ")) || bytes.HasPrefix(msg, []byte("SIP/")) {
			t.Fatalf("answered an ACK or a response:\n%q", msg)
		}
		got, perr := sip.NewParser().ParseSIP(out.Bytes())
		if perr != nil {
			t.Fatalf("the 400 does not parse: %v\n%s", perr, out.Bytes())
		}
		res, isRes := got.(*sip.Response)
		if !isRes || res.StatusCode != sip.StatusBadRequest {
			t.Fatalf("not a 400:\n%s", out.Bytes())
		}
		if branch, ok := siptest.TopBranch(msg); ok {
			if via := res.Via(); via == nil {
				t.Fatalf("the 400 has no Via, though the request's parses:\n%s", out.Bytes())
			} else if b, _ := via.Params.Get("branch"); b != branch {
				t.Fatalf("the 400's branch %q is not the request's %q", b, branch)
			}
		}
		if err := siptest.CopiedFromRequest(msg, res); err != nil {
			t.Fatal(err)
		}
		if errors.Is(err, sip.ErrParseReadBodyIncomplete) && res.Reason != rawreply.ShortBodyReason {
			t.Fatalf("a short body answered %q", res.Reason)
		}
	})
}

// browserRegister is a REGISTER as JsSIP words it, with its credentials.
const browserRegister = "REGISTER sip:acme.example SIP/2.0\r\n" +
	"Via: SIP/2.0/WSS 3jd83k2l.invalid;branch=z9hG4bK4912933\r\n" +
	"Max-Forwards: 69\r\n" +
	"To: <sip:1001@acme.example>\r\n" +
	"From: \"1001\" <sip:1001@acme.example>;tag=mi0p1vl8ad\r\n" +
	"Call-ID: gg8klc6ksc2h0hnv0v2d5u\r\n" +
	"CSeq: 2 REGISTER\r\n" +
	"Authorization: Digest algorithm=MD5, username=\"1001\", realm=\"acme.example\", nonce=\"abcdef0123456789\", " +
	"uri=\"sip:acme.example\", response=\"0123456789abcdef0123456789abcdef\"\r\n" +
	"Contact: <sip:q6a7b8c9@3jd83k2l.invalid;transport=ws>;+sip.ice;reg-id=1;" +
	"+sip.instance=\"<urn:uuid:2f1b8e59-6b4a-4b7e-9d7a-2a2d9f0e1c3a>\";expires=600\r\n" +
	"Expires: 600\r\n" +
	"Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY\r\n" +
	"Supported: path,gruu,outbound\r\n" +
	"User-Agent: JsSIP 3.10.0\r\n" +
	"Content-Length: 0\r\n\r\n"

// BenchmarkParseBeforeSipgo is what checking a good message costs on top of
// sipgo's own parse (malformed.go): a browser's REGISTER, and a MESSAGE, which
// takes sipgo's parser.
func BenchmarkParseBeforeSipgo(b *testing.B) {
	for name, msg := range map[string]string{"REGISTER": browserRegister, "MESSAGE": message(1)} {
		b.Run(name, func(b *testing.B) {
			data := []byte(msg)
			b.ReportAllocs()
			for b.Loop() {
				if err := sipparse.Check(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
