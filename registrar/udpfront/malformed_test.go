package udpfront

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr/funcr"

	"github.com/voipbin/registrar-operator/registrar/internal/rawreply"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// lockedLog collects what the front end logs.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) write(prefix, args string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(prefix + args + "\n")
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// RFC 3261 §21.4.1: a REGISTER with a header the parser refuses (or a body short of
// its Content-Length), whose Via, From, To, Call-ID and CSeq are readable to answer
// it by, gets 400 with a reason naming the header (or the body), not silence (which the phone would retransmit into until Timer F). The
// handler never sees it; the response copies those headers and nothing else, and
// neither it nor the log quotes the Authorization header.
func TestMalformedHeaderIsAnswered400(t *testing.T) {
	for _, c := range []struct{ name, old, new, reason string }{
		{"Max-Forwards not a number", "Max-Forwards: 70", "Max-Forwards: seventy", "Malformed Max-Forwards Header"},
		{"Content-Length not a number", "Content-Length: 0", "Content-Length: none", "Malformed Content-Length Header"},
		{"Contact without its >", "Contact: <sip:1001@127.0.0.1:%d>", "Contact: <sip:1001@127.0.0.1:%d", "Malformed Contact Header"},
		{"compact Contact", "Contact: <sip:1001@127.0.0.1:%d>", "m: <sip:1001@127.0.0.1:%d>;expires=60, <sip:x", "Malformed Contact Header"},
		// §18.3: a datagram that ends before the body its Content-Length names.
		{"a body shorter than its Content-Length", "Content-Length: 0", "Content-Length: 40", rawreply.ShortBodyReason},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &counting{}
			log := &lockedLog{}
			_, addr := startFront(t, Config{Handle: h.handle, Log: funcr.New(log.write, funcr.Options{Verbosity: 1})})
			p := newPhone(t, addr)
			good := register(p.Port(), true, true, "z9hG4bK-bad")
			old, new := c.old, c.new
			if strings.Contains(old, "%d") {
				old, new = fmt.Sprintf(old, p.Port()), fmt.Sprintf(new, p.Port())
			}
			if !strings.Contains(good, old) {
				t.Fatalf("no %q in the REGISTER", old)
			}
			bad := strings.Replace(good, old, new, 1)
			if _, err := sip.NewParser().ParseSIP([]byte(bad)); err == nil {
				t.Fatalf("sipgo parses the REGISTER: not malformed")
			}
			p.Send(bad)
			res := receive(t, p)
			if want := "SIP/2.0 400 " + c.reason + "\r\n"; !strings.HasPrefix(res, want) {
				t.Fatalf("response:\n%s\nwant it to start %q", res, want)
			}
			if via := header(res, "Via"); !strings.Contains(via, "branch=z9hG4bK-bad") || !strings.Contains(via, fmt.Sprintf("rport=%d", p.Port())) || !strings.Contains(via, "received=127.0.0.1") {
				t.Errorf("Via %q: want the request's, with rport and received", via)
			}
			if cseq := header(res, "CSeq"); cseq != header(bad, "CSeq") {
				t.Errorf("CSeq %q, want the request's %q", cseq, header(bad, "CSeq"))
			}
			if from, callID := header(res, "From"), header(res, "Call-ID"); from != header(bad, "From") || callID != header(bad, "Call-ID") {
				t.Errorf("From %q, Call-ID %q: want the request's", from, callID)
			}
			if to := header(res, "To"); !strings.HasPrefix(to, header(bad, "To")+";tag=") {
				t.Errorf("To %q: want the request's with a tag", to)
			}
			for _, leak := range []string{"Digest", "Authorization", "\r\nContact:", "\r\nm:", "\r\nMax-Forwards:"} {
				if strings.Contains(res, leak) {
					t.Errorf("the 400 carries %q:\n%s", leak, res)
				}
			}
			if n := h.n.Load(); n != 0 {
				t.Errorf("the handler saw %d requests", n)
			}
			if l := log.String(); !strings.Contains(l, "400") || strings.Contains(l, "Digest") || strings.Contains(l, "username") {
				t.Errorf("log: %s", l)
			}
		})
	}
}

// Where no top Via parses, there is no telling where an answer would go, and the
// REGISTER is dropped; so is one with no header line to blame, or a folded one.
func TestMalformedWithoutReadableLinesIsDropped(t *testing.T) {
	from := netip.MustParseAddrPort("192.0.2.7:40001")
	good := register(5062, true, false, "z9hG4bK-x")
	for _, c := range []struct{ name, old, new string }{
		{"the Via does not parse", "SIP/2.0/UDP 127.0.0.1:5062", "SIP/2.0/UDP [2001:db8::1:5062"},
		{"the Via is garbage", "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-x;rport", "Via: garbage"},
		{"no Via", "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-x;rport\r\nMax-Forwards: 70", "Max-Forwards: seventy"},
		{"a folded line", "Max-Forwards: 70", "Max-Forwards:\r\n seventy"},
		{"no header to blame: the start line", "REGISTER sip:acme.example SIP/2.0", "REGISTER sip:acme.example SIP/2.0 x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(good, c.old) {
				t.Fatalf("no %q in the REGISTER", c.old)
			}
			bad := []byte(strings.Replace(good, c.old, c.new, 1))
			_, err := sip.NewParser().ParseSIP(bytes.Clone(bad))
			if err == nil {
				t.Fatalf("sipgo parses the REGISTER: not malformed")
			}
			var out bytes.Buffer
			if _, ok := appendMalformed(&out, bad, err, from); ok {
				t.Errorf("answered:\n%s", out.String())
			}
		})
	}
}

// FuzzMalformedAnswer: whatever a datagram holds, deciding whether to answer it 400
// never panics, and a 400 it writes is one sipgo parses, with the request's top Via
// (its branch), and no Call-ID or CSeq but the request's, sent to the datagram's
// source address.
func FuzzMalformedAnswer(f *testing.F) {
	good := register(5070, true, true, "z9hG4bK-fuzz")
	f.Add([]byte(good))
	f.Add([]byte(strings.Replace(good, "Max-Forwards: 70", "Max-Forwards: seventy", 1)))
	f.Add([]byte(strings.Replace(good, "Content-Length: 0", "Content-Length: none", 1)))
	f.Add([]byte(strings.Replace(good, "Call-ID:", "Call-ID:\r\n x", 1)))
	f.Add([]byte("REGISTER sip:a SIP/2.0\r\nMax-Forwards: x\r\n\r\n"))
	from := netip.MustParseAddrPort("192.0.2.10:5070")
	f.Add([]byte(strings.Replace(good, "Content-Length: 0", "Content-Length: 40", 1)))
	for _, bad := range [][2]string{
		{"CSeq: 2 REGISTER", "CSeq: abc REGISTER"}, {"CSeq: 2 REGISTER", "CSeq: 1"},
		{"CSeq: 2 REGISTER", "CSeq: 4294967296 REGISTER"}, {"CSeq: 2 REGISTER", "CSeq: 2147483648 REGISTER"},
		{"To: <sip:1001@acme.example>", "To: garbage<<"}, {"From: <sip:1001@acme.example>;tag=a1", "From: <sip:"},
		{"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-fuzz;rport", "Via: garbage"},
		{"Call-ID: z9hG4bK-fuzz@phone", "Call-ID: "}, {"Max-Forwards: 70", "Max-Forwards 70"},
		{"Call-ID: z9hG4bK-fuzz@phone", "Call-ID: x\nVia: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK-i\x00"},
	} {
		f.Add([]byte(strings.Replace(good, bad[0], bad[1], 1)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := sip.NewParser().ParseSIP(bytes.Clone(data))
		if err == nil {
			return // the front end answers it as any REGISTER
		}
		var out bytes.Buffer
		to, ok := appendMalformed(&out, data, err, from)
		if !ok {
			if out.Len() != 0 {
				t.Fatalf("not answered, yet %d bytes written", out.Len())
			}
			return
		}
		if to.Addr() != from.Addr() {
			t.Fatalf("a 400 to %s, not to the source %s", to, from)
		}
		msg, err := sip.NewParser().ParseSIP(out.Bytes())
		if err != nil {
			t.Fatalf("the 400 does not parse: %v\n%s", err, out.Bytes())
		}
		res, isRes := msg.(*sip.Response)
		if !isRes || res.StatusCode != sip.StatusBadRequest {
			t.Fatalf("not a 400:\n%s", out.Bytes())
		}
		branch, ok := siptest.TopBranch(data)
		if !ok {
			t.Fatalf("answered a request whose top Via does not parse:\n%q", data)
		}
		if via := res.Via(); via == nil {
			t.Fatalf("the 400 has no Via:\n%s", out.Bytes())
		} else if b, _ := via.Params.Get("branch"); b != branch {
			t.Fatalf("the 400's branch %q is not the request's %q", b, branch)
		}
		if err := siptest.CopiedFromRequest(data, res); err != nil {
			t.Fatal(err)
		}
	})
}
