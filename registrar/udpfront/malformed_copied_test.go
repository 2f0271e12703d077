package udpfront

import (
	"bytes"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// malformedCounts is an Observer that counts the REGISTERs the parser refused.
type malformedCounts struct {
	counts
	answered, dropped atomic.Int64
}

func (c *malformedCounts) Malformed(answered bool) {
	if answered {
		c.answered.Add(1)
	} else {
		c.dropped.Add(1)
	}
}

// A REGISTER whose fault is in a header a response copies (CSeq, To, From,
// Call-ID) or in a line without a colon gets 400 naming it, with the request's Via
// (its branch, rport and received) and whatever else of those headers parses, not
// silence; a Via that is garbage leaves no address to answer at, and is dropped.
// Each is counted, and the handler sees none of them but the good REGISTER after.
func TestMalformedCopiedHeaderIsAnswered400(t *testing.T) {
	h := &counting{}
	obs := &malformedCounts{}
	_, addr := startFront(t, Config{Handle: h.handle, Observer: obs})
	p := newPhone(t, addr)
	cases := []struct{ name, old, new, reason, left string }{
		{"a CSeq that is no number", "CSeq: 2 REGISTER", "CSeq: abc REGISTER", "Malformed CSeq Header", "CSeq"},
		{"a CSeq without a method", "CSeq: 2 REGISTER", "CSeq: 1", "Malformed CSeq Header", "CSeq"},
		{"a CSeq of 2**32", "CSeq: 2 REGISTER", "CSeq: 4294967296 REGISTER", "Malformed CSeq Header", "CSeq"},
		{"a CSeq of 2**31", "CSeq: 2 REGISTER", "CSeq: 2147483648 REGISTER", "Malformed CSeq Header", "CSeq"},
		{"a To that does not parse", "To: <sip:1001@acme.example>", "To: garbage<<", "Malformed To Header", "To"},
		{"a From that does not parse", "From: <sip:1001@acme.example>;tag=a1", "From: <sip:", "Malformed From Header", "From"},
		{"an empty Call-ID", "Call-ID: z9hG4bK-c7@phone", "Call-ID: ", "Malformed Call-ID Header", "Call-ID"},
		{"a line without a colon", "Max-Forwards: 70", "Max-Forwards 70", "Malformed Header Line", ""},
	}
	for i, c := range cases {
		branch := "z9hG4bK-c" + string(rune('0'+i))
		good := register(p.Port(), true, false, branch)
		old := strings.Replace(c.old, "z9hG4bK-c7", branch, 1)
		if !strings.Contains(good, old) {
			t.Fatalf("%s: no %q in the REGISTER", c.name, old)
		}
		bad := strings.Replace(good, old, c.new, 1)
		p.Send(bad)
		res := receive(t, p)
		if want := "SIP/2.0 400 " + c.reason + "\r\n"; !strings.HasPrefix(res, want) {
			t.Fatalf("%s: got\n%s\nwant it to start %q", c.name, res, want)
		}
		msg, err := sip.NewParser().ParseSIP([]byte(res))
		if err != nil {
			t.Fatalf("%s: the 400 does not parse: %v\n%s", c.name, err, res)
		}
		via := msg.(*sip.Response).Via()
		if b, _ := via.Params.Get("branch"); b != branch || !strings.Contains(via.Value(), "received=127.0.0.1") {
			t.Errorf("%s: the 400's Via is %q, want the request's with received", c.name, via.Value())
		}
		for _, name := range []string{"From", "Call-ID", "CSeq"} {
			if name != c.left && header(res, name) != header(bad, name) {
				t.Errorf("%s: %s %q, want the request's %q", c.name, name, header(res, name), header(bad, name))
			}
		}
		if c.left != "" && header(res, c.left) != "" {
			t.Errorf("%s: the 400 copies the %s that does not parse:\n%s", c.name, c.left, res)
		}
	}
	p.Send(strings.Replace(register(p.Port(), true, false, "z9hG4bK-v"), "Via: SIP/2.0/UDP 127.0.0.1", "Via: garbage ", 1))
	p.Send(register(p.Port(), true, false, "z9hG4bK-good"))
	if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 200 OK\r\n") || header(res, "X-Handled") != "1" {
		t.Fatalf("the good REGISTER after them got\n%s", res)
	}
	deadline := time.Now().Add(5 * time.Second)
	for obs.dropped.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if a, d := obs.answered.Load(), obs.dropped.Load(); a != int64(len(cases)) || d != 1 {
		t.Errorf("counted %d answered and %d dropped, want %d and 1", a, d, len(cases))
	}
}

// BenchmarkMalformedAnswer is what a 400 to a REGISTER the parser refused costs,
// off the path of one that parses: reading its lines, a parse of each one copied
// and of the 400.
func BenchmarkMalformedAnswer(b *testing.B) {
	from := netip.MustParseAddrPort("192.0.2.7:40001")
	for name, edit := range map[string][2]string{
		"Max-Forwards": {"Max-Forwards: 70", "Max-Forwards: seventy"},
		"CSeq":         {"CSeq: 2 REGISTER", "CSeq: 2147483648 REGISTER"},
	} {
		b.Run(name, func(b *testing.B) {
			data := []byte(strings.Replace(register(5062, true, true, "z9hG4bK-b"), edit[0], edit[1], 1))
			_, perr := sip.NewParser().ParseSIP(bytes.Clone(data))
			if perr == nil {
				b.Fatal("parses")
			}
			var out bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				if _, ok := appendMalformed(&out, data, perr, from); !ok {
					b.Fatal("not answered")
				}
			}
		})
	}
}
