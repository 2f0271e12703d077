// REGISTER checks before authentication (§10.3 steps 1, 2, 4), mandatory headers, OnRegister.

package register

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"
)

// §10.3 step 1: the Request-URI must name a domain this registrar serves.
func TestRequestURIOfAnUnservedDomainIs404(t *testing.T) {
	for _, tc := range []struct {
		name, ruri string
		code       int
	}{
		{"unserved domain", "sip:unknown.registrar.voipbin.net", sip.StatusNotFound},
		{"the bare suffix", "sip:registrar.voipbin.net", sip.StatusNotFound},
		{"served domain in capitals is served", "sip:ACME.Registrar.VoIPbin.net", sip.StatusProxyAuthRequired},
		{"served domain", "sip:" + testDomain, sip.StatusProxyAuthRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			m := d.next()
			m.ruri = tc.ruri
			mustStatus(t, d.send(m), tc.code, "")
		})
	}
	t.Run("with right credentials too", func(t *testing.T) {
		e := newEnv(t)
		d := e.device(testUser, testPassword)
		d.register(nil)
		m := d.next()
		m.ruri = "sip:unknown.registrar.voipbin.net"
		d.sign(&m)
		mustStatus(t, d.send(m), sip.StatusNotFound, "")
	})
}

// §10.3 step 2: a Require header naming an extension we lack is 420 with Unsupported.
func TestRequireOfAnUnsupportedExtensionIs420WithUnsupported(t *testing.T) {
	for _, tc := range []struct {
		name        string
		extra       []string
		code        int
		unsupported string
	}{
		{"one tag", []string{"Require: foo"}, 420, "foo"},
		{"every tag of every Require", []string{"Require: foo, gruu", "Require: bar"}, 420, "foo, gruu, bar"},
		// RFC 3327 and RFC 5626 are supported: only the others are listed.
		{"path and outbound are supported", []string{"Require: foo, path, outbound"}, 420, "foo"},
		{"Supported alone is fine", []string{"Supported: path, outbound"}, sip.StatusProxyAuthRequired, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			m := d.next()
			m.extra = tc.extra
			res := d.send(m)
			mustStatus(t, res, tc.code, "")
			if got := strings.Join(headerValues(res, "Unsupported"), ","); got != tc.unsupported {
				t.Errorf("Unsupported = %q, want %q", got, tc.unsupported)
			}
		})
	}
}

// §10.3 step 4: the To header must be an AOR of the Request-URI's domain.
func TestToThatIsNotAnAOROfTheDomainIs404(t *testing.T) {
	for _, tc := range []struct{ name, to string }{
		{"another host", "<sip:1001@" + otherDomain + ">"},
		{"an unserved host", "<sip:1001@example.com>"},
		{"no user", "<sip:" + testDomain + ">"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			m := d.next()
			m.to = tc.to
			mustStatus(t, d.send(m), sip.StatusNotFound, "Not Found")
			if n := len(e.bindings(testUser)); n != 0 {
				t.Fatalf("%d bindings after a 404", n)
			}
		})
	}
}

// Requests lacking a mandatory header are 400, not a panic.
func TestMissingMandatoryHeaderIs400(t *testing.T) {
	full := msg{
		ruri: "sip:" + testDomain, to: "<sip:1001@" + testDomain + ">", from: "<sip:1001@" + testDomain + ">",
		callID: "c1", cseq: 1, src: testSource, transport: "UDP",
	}
	raw := string(full.bytes())
	for _, header := range []string{"To", "From", "Call-ID", "CSeq", "Via"} {
		t.Run(header, func(t *testing.T) {
			var lines []string
			for _, l := range strings.Split(raw, "\r\n") {
				if !strings.HasPrefix(l, header+":") {
					lines = append(lines, l)
				}
			}
			req := parseRequest(t, []byte(strings.Join(lines, "\r\n")), testSource, "UDP")
			mustStatus(t, newEnv(t).reg.Handle(req), sip.StatusBadRequest, "")
		})
	}
}

// OnRegister answers on the server transaction; the wire sees the challenge, then
// the 200.
func TestOnRegisterRespondsOnTheTransaction(t *testing.T) {
	e := newEnv(t)
	d := e.device(testUser, testPassword)
	send := func(m msg) *sip.Response { t.Helper(); return e.onRegister(t, m) }
	res := send(d.next())
	mustStatus(t, res, sip.StatusProxyAuthRequired, "Proxy Authentication Required")
	d.take(res)
	m := d.next()
	d.sign(&m)
	mustStatus(t, send(m), sip.StatusOK, "OK")
}

// RFC 3261 §8.1.1.5: the CSeq method must match the request's; RFC 4475 §3.1.2.16
// answers a mismatch 400. It is refused before anything else: no challenge, no
// binding changed even with right credentials, on either parser and through sipgo's
// transaction.
func TestCSeqMethodMismatchIs400(t *testing.T) {
	for _, p := range parsers {
		for _, method := range []string{"INVITE", "OPTIONS", "register"} {
			t.Run(p.name+"/"+method, func(t *testing.T) {
				e := newEnv(t)
				d := e.device(testUser, testPassword)
				d.parse = p.parse()
				m := d.next()
				m.cseqMethod = method
				res := d.send(m)
				mustStatus(t, res, sip.StatusBadRequest, "CSeq method does not match REGISTER")
				if res.GetHeader("Proxy-Authenticate") != nil || res.GetHeader("WWW-Authenticate") != nil {
					t.Errorf("a challenge in the 400:\n%s", res)
				}

				// Registered, then a signed REGISTER with the wrong method asking removal.
				mustStatus(t, d.register(nil), sip.StatusOK, "")
				m = d.next()
				m.cseqMethod, m.expires = method, "0"
				d.sign(&m)
				mustStatus(t, d.send(m), sip.StatusBadRequest, "CSeq method does not match REGISTER")
				if bs := e.bindings(testUser); len(bs) != 1 || bs[0].CSeq == m.cseq {
					t.Errorf("bindings %+v: the mismatched REGISTER was applied", bs)
				}
				if got := e.obs.lastOutcome(); got != OutcomeBadRequest {
					t.Errorf("outcome %q, want %q", got, OutcomeBadRequest)
				}
			})
		}
	}
	t.Run("OnRegister", func(t *testing.T) {
		e := newEnv(t)
		m := e.device(testUser, testPassword).next()
		m.transport, m.cseqMethod = "TCP", "INVITE"
		mustStatus(t, e.onRegister(t, m), sip.StatusBadRequest, "CSeq method does not match REGISTER")
	})
}

// RFC 3261 §8.2: a request of a SIP version other than 2.0 is answered 505, in
// SIP/2.0, before anything else is checked or applied (RFC 4475 §3.1.2.16, badvers),
// on either parser and through sipgo's transaction; the version's letter case does
// not count (§7.1).
func TestOtherSIPVersionIs505(t *testing.T) {
	for _, p := range parsers {
		for _, version := range []string{"SIP/3.0", "SIP/1.0", "SIP/2.00", "SIP/7.0"} {
			t.Run(p.name+"/"+version, func(t *testing.T) {
				e := newEnv(t)
				d := e.device(testUser, testPassword)
				d.parse = p.parse()
				mustStatus(t, d.register(nil), sip.StatusOK, "")
				m := d.next()
				m.expires = "0"
				d.sign(&m)
				raw := strings.Replace(string(m.bytes()), " SIP/2.0\r\n", " "+version+"\r\n", 1)
				var req *sip.Request
				if parse := p.parse(); parse != nil {
					req = parse(t, []byte(raw), m.src, m.transport)
				} else {
					req = parseRequest(t, []byte(raw), m.src, m.transport)
				}
				res := e.reg.Handle(req)
				mustStatus(t, res, sip.StatusVersionNotSupported, "Version Not Supported")
				if res.SipVersion != "SIP/2.0" {
					t.Errorf("answered in %q, want SIP/2.0", res.SipVersion)
				}
				if got := e.obs.lastOutcome(); got != OutcomeUnsupported {
					t.Errorf("outcome %q, want %q", got, OutcomeUnsupported)
				}
				if n := len(e.bindings(testUser)); n != 1 {
					t.Errorf("%d bindings: the REGISTER of %s was applied", n, version)
				}
			})
		}
	}
	t.Run("before the throttle", func(t *testing.T) {
		e := newEnv(t)
		e.throttle(1, 0)
		d := e.device(testUser, "wrong")
		d.register(nil)
		mustStatus(t, d.send(d.next()), sip.StatusForbidden, "")
		m := d.next()
		raw := strings.Replace(string(m.bytes()), " SIP/2.0\r\n", " SIP/3.0\r\n", 1)
		mustStatus(t, e.reg.Handle(parseRequest(t, []byte(raw), m.src, m.transport)), sip.StatusVersionNotSupported, "")
	})
	t.Run("lower case is 2.0", func(t *testing.T) {
		e := newEnv(t)
		m := e.device(testUser, testPassword).next()
		raw := strings.Replace(string(m.bytes()), " SIP/2.0\r\n", " sip/2.0\r\n", 1)
		mustStatus(t, e.reg.Handle(parseRequest(t, []byte(raw), m.src, m.transport)), sip.StatusProxyAuthRequired, "")
	})
	t.Run("OnRegister", func(t *testing.T) {
		e := newEnv(t)
		m := e.device(testUser, testPassword).next()
		m.transport = "TCP"
		raw := strings.Replace(string(m.bytes()), " SIP/2.0\r\n", " SIP/3.0\r\n", 1)
		req := parseRequest(t, []byte(raw), m.src, m.transport)
		rec := siptest.NewServerTxRecorder(req)
		defer rec.Terminate()
		e.reg.OnRegister(req, rec)
		if res := rec.Result(); len(res) != 1 || res[0].StatusCode != sip.StatusVersionNotSupported || res[0].SipVersion != "SIP/2.0" {
			t.Fatalf("on the wire: %v", res)
		}
	})
}

// §10.3 step 5: the AOR is canonicalised, its user's escapes decoded (§19.1.4:
// "%31001" is 1001). A REGISTER to <sip:%31001@domain> with 1001's digest answer
// registers 1001, on either parser; it is no wrong answer, so no guessing failure.
// An escape that is not "%" HEXDIG HEXDIG is 400, before any challenge.
func TestToUserIsCanonicalisedBeforeTheLookup(t *testing.T) {
	for _, p := range parsers {
		for _, to := range []string{"<sip:%31001@" + testDomain + ">", "<sip:%31%30%30%31@" + testDomain + ">", "sip:10%301@" + testDomain} {
			t.Run(p.name+"/"+to, func(t *testing.T) {
				e := newEnv(t)
				d := e.device(testUser, testPassword)
				d.parse = p.parse()
				res := d.register(func(m *msg) { m.to = to })
				mustStatus(t, res, sip.StatusOK, "OK")
				if n := len(e.bindings(testUser)); n != 1 {
					t.Errorf("%d bindings of %s@%s, want 1", n, testUser, testDomain)
				}
				if len(e.obs.failures) != 0 {
					t.Errorf("authentication failures counted: %v", e.obs.failures)
				}
			})
		}
		for _, user := range []string{"%", "%3", "%zz1001", "100%1"} {
			t.Run(p.name+"/malformed "+user, func(t *testing.T) {
				e := newEnv(t)
				d := e.device(testUser, testPassword)
				d.parse = p.parse()
				m := d.next()
				m.to = "<sip:" + user + "@" + testDomain + ">"
				mustStatus(t, d.send(m), sip.StatusBadRequest, reasonMalformedTo)
			})
		}
	}
}
