package registrar_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// copiedFaults are REGISTERs broken in a header a response copies, or in a line
// without a colon (RFC 3261 §8.1.1.5, §21.4.1; RFC 4475 §3.1.2.4): the header
// line replaced, its replacement, and the 400's reason.
var copiedFaults = []struct{ header, line, reason string }{
	{"CSeq", "CSeq: abc REGISTER", "Malformed CSeq Header"},
	{"CSeq", "CSeq: 1", "Malformed CSeq Header"},
	{"CSeq", "CSeq: 4294967296 REGISTER", "Malformed CSeq Header"},
	{"CSeq", "CSeq: 2147483648 REGISTER", "Malformed CSeq Header"},
	{"To", "To: garbage<<", "Malformed To Header"},
	{"From", "From: <sip:", "Malformed From Header"},
	{"Call-ID", "Call-ID: ", "Malformed Call-ID Header"},
	{"Max-Forwards", "Max-Forwards 70", "Malformed Header Line"},
	{"Via", "Via: garbage", "Malformed Via Header"},
}

// withLine is text with its first header line named name replaced by line.
func withLine(t *testing.T, text, name, line string) string {
	t.Helper()
	lines := strings.Split(text, "\r\n")
	for i, l := range lines[1:] {
		if k, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			lines[i+1] = line
			return strings.Join(lines, "\r\n")
		}
	}
	t.Fatalf("no %s in\n%s", name, text)
	return ""
}

// malformedPeer is a device on one connection (a UDP socket, over UDP) that sends
// raw REGISTERs.
type malformedPeer struct {
	transport string
	register  func() string                       // its next REGISTER, without credentials
	roundTrip func(string) (*sip.Response, error) // sends one and reads the next response
	send      func(string) error                  // sends one
	good      func() (*sip.Response, error)       // a REGISTER as it sends them
}

func siptestPeer(p *siptest.Phone, domain string) malformedPeer {
	return malformedPeer{
		transport: p.Transport().Name(),
		register: func() string {
			return p.Request(sip.REGISTER, "sip:"+domain, "", "Contact: "+p.ContactValue(), "Expires: 600").String()
		},
		roundTrip: func(s string) (*sip.Response, error) { return p.RoundTrip([]byte(s)) },
		send:      func(s string) error { return p.SendTo([]byte(s), nil) },
		good:      func() (*sip.Response, error) { return p.Register("", 0, 600) },
	}
}

func wsPeer(p *wsPhone) malformedPeer {
	return malformedPeer{
		transport: p.transport,
		register:  func() string { s, _ := p.malformedRegister("", ""); return s },
		roundTrip: func(s string) (*sip.Response, error) {
			if err := p.send(s); err != nil {
				return nil, err
			}
			msg, err := p.next(10 * time.Second)
			if err != nil {
				return nil, err
			}
			res, ok := msg.(*sip.Response)
			if !ok {
				return nil, fmt.Errorf("a %T, not a response", msg)
			}
			return res, nil
		},
		send: p.send,
		good: func() (*sip.Response, error) { return p.register("", 0, 600) },
	}
}

// A REGISTER broken in a header a response copies (a CSeq that is no number, out
// of range or without a method, a To or From that does not parse, an empty
// Call-ID, a Via that is garbage) or in a line without a colon gets 400 naming it
// over UDP, TCP, TLS, WS and WSS, each on a connection of its own, not silence: the
// 400 parses, and carries the request's Via branch, Call-ID and CSeq where those
// parse. Over a stream even the garbage Via is answered (the connection is the way
// back), with a 400 without Via; in a datagram it leaves no address to answer at,
// and is dropped, and counted. After them, the same connection's REGISTER is
// challenged (407): it survived.
func TestMalformedCopiedHeadersAreAnswered400(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startWSReplica(t, "replica-malformed", tn, func(c *registrar.Config) { c.TLS.Address = "127.0.0.1:0" })
	udp, tcp := r.Addresses()
	peers := []malformedPeer{
		siptestPeer(udpPhone(t, tn, "127.0.0.1", udp), tn.domain),
		siptestPeer(siptest.NewTCP(t, tcp, tn.account()), tn.domain),
		siptestPeer(newTLSPhone(t, r, tn), tn.domain),
		wsPeer(newWSPhone(t, r, tn, false)),
		wsPeer(newWSPhone(t, r, tn, true)),
	}
	for _, p := range peers {
		t.Run(p.transport, func(t *testing.T) {
			for _, f := range copiedFaults {
				req := p.register()
				parsed, err := sip.ParseMessage([]byte(req))
				if err != nil {
					t.Fatal(err)
				}
				bad := withLine(t, req, f.header, f.line)
				if p.transport == "UDP" && f.header == "Via" {
					if err := p.send(bad); err != nil {
						t.Fatal(err)
					}
					continue // dropped: the good REGISTER below gets the next response
				}
				res, err := p.roundTrip(bad)
				if err != nil {
					t.Fatalf("%q over %s: %v", f.line, p.transport, err)
				}
				if got := fmt.Sprintf("%d %s", res.StatusCode, res.Reason); got != "400 "+f.reason {
					t.Fatalf("%q over %s: %s, want 400 %s", f.line, p.transport, got, f.reason)
				}
				if f.header == "Via" {
					if res.Via() != nil {
						t.Errorf("%q over %s: the 400 has a Via %q", f.line, p.transport, res.Via().Value())
					}
				} else if b := siptest.Branch(res); b != siptest.Branch(parsed) {
					t.Errorf("%q over %s: the 400's branch is %q, want the request's %q", f.line, p.transport, b, siptest.Branch(parsed))
				}
				if f.header != "Call-ID" && (res.CallID() == nil || res.CallID().Value() != parsed.CallID().Value()) {
					t.Errorf("%q over %s: the 400's Call-ID is %v, want %q", f.line, p.transport, res.CallID(), parsed.CallID().Value())
				}
				if f.header != "CSeq" && (res.CSeq() == nil || res.CSeq().Value() != parsed.CSeq().Value()) {
					t.Errorf("%q over %s: the 400's CSeq is %v, want %q", f.line, p.transport, res.CSeq(), parsed.CSeq().Value())
				}
			}
			res, err := p.good()
			if err != nil {
				t.Fatalf("the REGISTER after them over %s: %v", p.transport, err)
			}
			if res.StatusCode != sip.StatusProxyAuthRequired {
				t.Fatalf("the REGISTER after them over %s: %d %s, want a 407", p.transport, res.StatusCode, res.Reason)
			}
		})
	}
	metricShows(t, r, fmt.Sprintf(`sip_udp_register_malformed_total{outcome="answered"} %d`, len(copiedFaults)-1))
	metricShows(t, r, `sip_udp_register_malformed_total{outcome="dropped"} 1`)
}
