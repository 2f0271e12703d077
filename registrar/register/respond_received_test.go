package register

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// natSource is where a phone behind a NAT is seen from; its Via names the private
// address it knows (natSentBy).
const (
	natSource = "203.0.113.7:40112"
	natSentBy = "10.0.0.5:5062"
)

// topVia is the response's top Via, as the phone reads it.
func topVia(t *testing.T, res *sip.Response) *sip.ViaHeader {
	t.Helper()
	via := res.Via()
	if via == nil {
		t.Fatalf("no Via in the response:\n%s", res)
	}
	return via
}

// RFC 3261 §18.2.1: a request whose sent-by is not the address it came from gets
// received=<source address> on the response's top Via, rport or not (a phone
// matches responses by it, and proxies route by it); RFC 3581's rport only when
// the request asked for it. Every answer a REGISTER can get carries it, on either
// parser.
func TestEveryResponseCarriesReceivedWhenSentByIsNotTheSource(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*env)
		mod   func(*msg)
		sign  bool
		code  int
	}{
		{"challenge", nil, nil, false, sip.StatusProxyAuthRequired},
		{"401 challenge", func(e *env) {
			e.republish(func(c *published.DomainConfig) { c.Challenge = sipv1.ChallengeWWWAuthenticate })
		}, nil, false, sip.StatusUnauthorized},
		{"200 OK", nil, nil, true, sip.StatusOK},
		{"400", nil, func(m *msg) { m.contacts = append(m.contacts, "*") }, true, sip.StatusBadRequest},
		{"403 wrong password", nil, nil, true, sip.StatusForbidden},
		{"404", nil, func(m *msg) { m.ruri = "sip:unknown.registrar.voipbin.net" }, false, sip.StatusNotFound},
		{"420", nil, func(m *msg) { m.extra = append(m.extra, "Require: foo") }, false, 420},
		{"423", nil, func(m *msg) { m.expires = "1" }, true, sip.StatusIntervalToBrief},
	}
	for _, p := range parsers {
		for _, c := range cases {
			t.Run(p.name+"/"+c.name, func(t *testing.T) {
				e := newEnv(t)
				if c.setup != nil {
					c.setup(e)
				}
				d := e.device(testUser, testPassword)
				d.parse, d.src = p.parse(), natSource
				if c.code == sip.StatusForbidden {
					d.password = "wrong"
				}
				m := d.next()
				m.sentBy, m.noRport = natSentBy, true
				if c.sign {
					d.send(m) // the challenge
					m = d.next()
					m.sentBy, m.noRport = natSentBy, true
					d.sign(&m)
				}
				if c.mod != nil {
					c.mod(&m)
				}
				res := d.send(m)
				mustStatus(t, res, c.code, "")
				via := topVia(t, res)
				if got, ok := via.Params.Get("received"); !ok || got != "203.0.113.7" {
					t.Errorf("top Via %q: received %q, want 203.0.113.7", via.Value(), got)
				}
				if via.Params.Has("rport") {
					t.Errorf("top Via %q has rport, which the request did not ask for", via.Value())
				}
				if via.Host != "10.0.0.5" || via.Port != 5062 {
					t.Errorf("top Via %q: the sent-by changed", via.Value())
				}
			})
		}
	}
}

// A domain name as sent-by gets received too; a second Via, a proxy's, is left
// as it was.
func TestReceivedForANameAndOnlyOnTheTopVia(t *testing.T) {
	e := newEnv(t)
	d := e.device(testUser, testPassword)
	d.src = natSource
	m := d.next()
	m.sentBy, m.noRport = "phone.example.com", true
	raw := strings.Replace(string(m.bytes()), "Max-Forwards:", "Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKp\r\nMax-Forwards:", 1)
	res := e.reg.Handle(parseRequest(t, []byte(raw), natSource, "UDP"))
	mustStatus(t, res, sip.StatusProxyAuthRequired, "")
	vias := res.GetHeaders("Via")
	if len(vias) != 2 {
		t.Fatalf("%d Vias", len(vias))
	}
	if got, _ := vias[0].(*sip.ViaHeader).Params.Get("received"); got != "203.0.113.7" {
		t.Errorf("top Via %q: received %q, want 203.0.113.7", vias[0].Value(), got)
	}
	if v := vias[1].Value(); v != "SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKp" {
		t.Errorf("second Via %q changed", v)
	}
}

// A sent-by that is the source address gets no received (§18.2.1 asks for it only
// when they differ), and rport still gets both (RFC 3581 §4).
func TestNoReceivedWhenSentByIsTheSource(t *testing.T) {
	for _, p := range parsers {
		t.Run(p.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			d.parse = p.parse()
			m := d.next()
			m.noRport = true
			via := topVia(t, d.send(m))
			if via.Params.Has("received") || via.Params.Has("rport") {
				t.Errorf("top Via %q: received or rport added for a sent-by that is the source", via.Value())
			}
			m = d.next()
			via = topVia(t, d.send(m))
			if r, _ := via.Params.Get("rport"); r != "5062" || !via.Params.Has("received") {
				t.Errorf("top Via %q: rport asked, want rport=5062 and received", via.Value())
			}
		})
	}
}

// Over TCP, TLS and WebSocket the answer leaves through sipgo's transaction; the
// Via it puts on the wire carries received too.
func TestOnRegisterCarriesReceived(t *testing.T) {
	e := newEnv(t)
	d := e.device(testUser, testPassword)
	d.src, d.transport = natSource, "TCP"
	m := d.next()
	m.sentBy, m.noRport = natSentBy, true
	req := m.request(t)
	rec := siptest.NewServerTxRecorder(req)
	defer rec.Terminate()
	e.reg.OnRegister(req, rec)
	res := rec.Result()
	if len(res) != 1 {
		t.Fatalf("%d responses on the wire", len(res))
	}
	if got, _ := topVia(t, res[0]).Params.Get("received"); got != "203.0.113.7" {
		t.Errorf("top Via %q: received %q, want 203.0.113.7", res[0].Via().Value(), got)
	}
}
