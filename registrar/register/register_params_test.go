// Contact parameters written with the whitespace RFC 3261 §25.1 allows around ";"
// and "=" (SEMI, EQUAL; §20.10's own example is ";q=0.7; expires=3600").

package register

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// parsers are the two ways a REGISTER is read: the UDP front end's parser, and
// sipgo's, which reads TCP, TLS and WebSocket requests.
var parsers = []struct {
	name  string
	parse func() func(testing.TB, []byte, string, string) *sip.Request
}{
	{"UDP fast path", fastParse},
	{"sipgo's parser", func() func(testing.TB, []byte, string, string) *sip.Request { return nil }},
}

// A phone logging out with the expires parameter written with spaces, and no
// Expires header, must lose its binding: taken as a refresh, calls keep forking to it.
func TestSpacedContactExpiresRemovesTheBinding(t *testing.T) {
	for _, p := range parsers {
		for _, param := range []string{"; expires=0", ";expires = 0", ";expires =0", " ; Expires= 0 ", ";q=0.7; expires=0"} {
			t.Run(p.name+"/"+param, func(t *testing.T) {
				e := newEnv(t)
				d := e.device(testUser, testPassword)
				d.parse = p.parse()
				mustStatus(t, d.register(nil), sip.StatusOK, "")
				if n := len(e.bindings(testUser)); n != 1 {
					t.Fatalf("%d bindings after registering, want 1", n)
				}
				res := d.register(func(m *msg) { m.contacts = []string{d.contact + param} })
				mustStatus(t, res, sip.StatusOK, "")
				if bs := e.bindings(testUser); len(bs) != 0 {
					t.Errorf("Contact %q: bindings %+v remain after a de-registration", d.contact+param, bs)
				}
				if cs := contactValues(res); len(cs) != 0 {
					t.Errorf("the 200 OK lists %q after a de-registration", cs)
				}
			})
		}
	}
}

// A spaced expires that is not 0 sets the interval, as it would unspaced.
func TestSpacedContactExpiresSetsTheInterval(t *testing.T) {
	for _, p := range parsers {
		t.Run(p.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			d.parse = p.parse()
			res := d.register(func(m *msg) { m.contacts = []string{d.contact + "; expires = 120"}; m.expires = "600" })
			mustStatus(t, res, sip.StatusOK, "")
			if bs := e.bindings(testUser); len(bs) != 1 || bs[0].Expires != 120 {
				t.Errorf("bindings %+v, want one of 120 s", bs)
			}
		})
	}
}

// An outbound flow's +sip.instance and reg-id written with spaces key the binding
// (RFC 5626), and the 200 OK echoes them, which clients such as JsSIP require.
func TestSpacedInstanceAndRegIDMakeAFlow(t *testing.T) {
	const urn = "<urn:uuid:00000000-0000-1000-8000-aabbccddeeff>"
	for _, p := range parsers {
		for _, params := range []string{`; +sip.instance="` + urn + `"; reg-id=1`, `;+sip.instance = "` + urn + `" ;reg-id = 1`} {
			t.Run(p.name+"/"+params, func(t *testing.T) {
				e := newEnv(t)
				d := e.device(testUser, testPassword)
				d.parse = p.parse()
				d.transport = "TCP"
				res := d.register(func(m *msg) { m.contacts = []string{d.contact + params} })
				mustStatus(t, res, sip.StatusOK, "")
				bs := e.bindings(testUser)
				if len(bs) != 1 || bs[0].Instance != urn || bs[0].RegID != 1 {
					t.Fatalf("bindings %+v, want one with instance %s and reg-id 1", bs, urn)
				}
				want := d.contact + `;expires=3600;+sip.instance="` + urn + `";reg-id=1`
				if cs := contactValues(res); len(cs) != 1 || cs[0] != want {
					t.Errorf("Contact %q, want %q", cs, want)
				}
			})
		}
	}
}

// A phone behind a NAT that writes its Via with the whitespace §25.1 allows
// ("; rport") gets the response at the port its REGISTER came from, told in rport
// and received (RFC 3581 §4), through either parser.
func TestSpacedViaRportIsAnswered(t *testing.T) {
	for _, p := range parsers {
		for _, via := range []string{
			"SIP/2.0/UDP " + natSentBy + " ; branch=z9hG4bK-sp1 ; rport",
			"SIP/2.0/UDP 10.0.0.5 : 5062;branch = z9hG4bK-sp1; rport",
			"SIP/2.0/UDP " + natSentBy + ";branch=z9hG4bK-sp1;rport ;received = 10.0.0.9",
		} {
			t.Run(p.name+"/"+via, func(t *testing.T) {
				e := newEnv(t)
				d := e.device(testUser, testPassword)
				d.parse, d.src = p.parse(), natSource
				m := d.next()
				m.via = via
				res := d.send(m)
				mustStatus(t, res, sip.StatusProxyAuthRequired, "")
				top := topVia(t, res)
				if rport, ok := top.Params.Get("rport"); !ok || rport != "40112" {
					t.Errorf("top Via %q: rport %q, want 40112 (the source port)", top.Value(), rport)
				}
				if received, ok := top.Params.Get("received"); !ok || received != "203.0.113.7" {
					t.Errorf("top Via %q: received %q, want 203.0.113.7", top.Value(), received)
				}
				if n := strings.Count(top.Value(), "rport") + strings.Count(top.Value(), "received"); n != 2 {
					t.Errorf("top Via %q: rport and received not once each", top.Value())
				}
				if res.Destination() != natSource {
					t.Errorf("sent to %q, want %s", res.Destination(), natSource)
				}
			})
		}
	}
}
