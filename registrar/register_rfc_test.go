package registrar_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// The REGISTER checks of RFC 3261 §10.3 and RFC 5626 §6 over a real replica's
// sockets: UDP (the front end's fast path) and TCP (sipgo's transaction layer).

// rfcRegister is one REGISTER a test writes line by line, for what a phone's own
// REGISTER cannot be: another SIP version, a proxy's Via on top, odd Contacts.
type rfcRegister struct {
	version  string   // SIP/2.0 when empty
	to       string   // the To URI; the tenant's AOR when empty
	belowVia string   // a second Via under the phone's, as behind a proxy
	contacts []string // one Contact header each
	expires  string   // Expires header, none when empty
	extra    []string // more header lines
}

var rfcBranches atomic.Uint64

// text renders r as phone p's next REGISTER (its Call-ID and next CSeq), with the
// digest answer to nonce when set.
func (r rfcRegister) text(t *testing.T, p *siptest.Phone, nonce string, nc int) string {
	t.Helper()
	version, to := r.version, r.to
	if version == "" {
		version = "SIP/2.0"
	}
	if to == "" {
		to = fmt.Sprintf("sip:%s@%s", p.User, p.Domain)
	}
	p.CSeq++
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s %s\r\n", p.Domain, version)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK-rfc%d;rport\r\n", p.Transport().Name(), p.LocalAddr(), rfcBranches.Add(1))
	if r.belowVia != "" {
		fmt.Fprintf(&b, "Via: %s\r\n", r.belowVia)
	}
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=rfc%d\r\nTo: <%s>\r\n", p.User, p.Domain, p.CSeq, to)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\n", p.CallID, p.CSeq)
	for _, c := range r.contacts {
		fmt.Fprintf(&b, "Contact: %s\r\n", c)
	}
	if r.expires != "" {
		fmt.Fprintf(&b, "Expires: %s\r\n", r.expires)
	}
	for _, h := range r.extra {
		b.WriteString(h + "\r\n")
	}
	if nonce != "" {
		auth, err := p.Authorization(sip.REGISTER, "sip:"+p.Domain, nonce, nc)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "Authorization: %s\r\n", auth)
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// roundTrip sends r from p and returns the answer.
func (r rfcRegister) roundTrip(t *testing.T, p *siptest.Phone, nonce string, nc int) *sip.Response {
	t.Helper()
	res, err := p.RoundTrip([]byte(r.text(t, p, nonce, nc)))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// signed sends r unsigned, answers its challenge as a phone does, and returns the
// answer to the signed REGISTER and the nonce it answered.
func (r rfcRegister) signed(t *testing.T, p *siptest.Phone) (*sip.Response, string) {
	t.Helper()
	res := r.roundTrip(t, p, "", 0)
	if res.StatusCode != sip.StatusProxyAuthRequired && res.StatusCode != sip.StatusUnauthorized {
		t.Fatalf("unsigned REGISTER: %d %s, want a challenge", res.StatusCode, res.Reason)
	}
	nonce, err := siptest.Nonce(res)
	if err != nil {
		t.Fatal(err)
	}
	return r.roundTrip(t, p, nonce, 1), nonce
}

func mustAnswer(t *testing.T, res *sip.Response, code int, reason string) {
	t.Helper()
	if res.StatusCode != code || res.Reason != reason {
		t.Fatalf("got %d %s, want %d %s\n%s", res.StatusCode, res.Reason, code, reason, res)
	}
}

// rfcPhones are the tenant's phone over UDP and over TCP, to replica A.
func rfcPhones(t *testing.T, tn *tenant) map[string]*siptest.Phone {
	t.Helper()
	udp, tcp := replicaA.Addresses()
	return map[string]*siptest.Phone{"UDP": udpPhone(t, tn, "127.0.0.1", udp), "TCP": siptest.NewTCP(t, tcp, tn.account())}
}

// onlyBinding registers p's own Contact, then waits until status shows that
// binding alone: what was refused before it left nothing behind.
func onlyBinding(t *testing.T, tn *tenant, p *siptest.Phone) {
	t.Helper()
	p.MustRegister(600)
	if b := bindingsAre(t, tn, 1)[0]; b.Source != p.LocalAddr().String() {
		t.Errorf("status binding %+v, want the phone's own", b)
	}
}

// RFC 3261 §8.2: a REGISTER of another SIP version gets 505 in SIP/2.0, before
// any challenge, over either transport.
func TestRegisterOfAnotherSIPVersionIs505(t *testing.T) {
	tn := newTenant(t, "1001")
	for name, p := range rfcPhones(t, tn) {
		t.Run(name, func(t *testing.T) {
			res := rfcRegister{version: "SIP/3.0", contacts: []string{p.ContactValue()}, expires: "600"}.roundTrip(t, p, "", 0)
			mustAnswer(t, res, sip.StatusVersionNotSupported, "Version Not Supported")
			if res.SipVersion != "SIP/2.0" {
				t.Errorf("answered in %q, want SIP/2.0", res.SipVersion)
			}
		})
	}
}

// RFC 3261 §25.1 and §10.3 step 6: a SIP Contact without a host, and a second
// Contact: *, are 400 with their credentials right, over either transport, and
// nothing of them reaches status.
func TestRegisterOfMalformedContactsIs400(t *testing.T) {
	for _, tc := range []struct {
		name     string
		contacts []string
		expires  string
		reason   string
	}{
		{"no host", []string{"<sip:1001@>"}, "600", "Malformed Contact"},
		{"no user and no host", []string{"<sip:>"}, "600", "Malformed Contact"},
		{"* twice", []string{"*", "*"}, "0", "Invalid Wildcard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTenant(t, "1001")
			for name, p := range rfcPhones(t, tn) {
				res, _ := rfcRegister{contacts: tc.contacts, expires: tc.expires}.signed(t, p)
				if res.StatusCode != sip.StatusBadRequest || res.Reason != tc.reason {
					t.Errorf("over %s: got %d %s, want 400 %s", name, res.StatusCode, res.Reason, tc.reason)
				}
			}
			udp, _ := replicaA.Addresses()
			onlyBinding(t, tn, udpPhone(t, tn, "127.0.0.1", udp))
		})
	}
}

// RFC 3261 §10.3 step 7: a REGISTER whose CSeq is not above the one its Call-ID
// registered with is 400, not a 500 a phone would retry.
func TestRegisterOutOfOrderIs400(t *testing.T) {
	tn := newTenant(t, "1001")
	for name, p := range rfcPhones(t, tn) {
		t.Run(name, func(t *testing.T) {
			r := rfcRegister{contacts: []string{p.ContactValue()}, expires: "600"}
			res, nonce := r.signed(t, p)
			mustAnswer(t, res, sip.StatusOK, "OK")
			p.CSeq-- // the same CSeq again, under the same Call-ID
			mustAnswer(t, r.roundTrip(t, p, nonce, 2), sip.StatusBadRequest, "Out Of Order CSeq")
		})
	}
}

// RFC 3261 §10.3 step 5: the AOR is canonicalised; a To of <sip:%31001@domain>
// with 1001's credentials registers 1001, over either transport.
func TestRegisterToAnEscapedUserRegistersTheExtension(t *testing.T) {
	tn := newTenant(t, "1001")
	phones := rfcPhones(t, tn)
	for name, p := range phones {
		t.Run(name, func(t *testing.T) {
			r := rfcRegister{to: "sip:%31001@" + tn.domain, contacts: []string{p.ContactValue()}, expires: "600"}
			res, _ := r.signed(t, p)
			mustAnswer(t, res, sip.StatusOK, "OK")
		})
	}
	bindingsAre(t, tn, len(phones))
}

// RFC 5626 §6: behind a proxy that sent no Path with ob (two Vias), the registrar
// is not the first hop and keeps no flow: 439 when the device asked for outbound,
// else a plain binding (reg-id ignored, instance kept) without Require: outbound.
// More than one Contact with reg-id in one REGISTER is 400.
func TestRegisterOutboundBehindAProxyWithoutPath(t *testing.T) {
	const deviceVia = "SIP/2.0/TCP 10.9.9.9:5070;branch=z9hG4bK-device;rport"
	flow := func(regID int) string {
		return fmt.Sprintf(`<sip:1001@10.9.9.9:5070;transport=tcp;ob>;reg-id=%d;+sip.instance="%s"`, regID, testInstance)
	}
	_, tcp := replicaA.Addresses()

	t.Run("device asked for outbound", func(t *testing.T) {
		tn := newTenant(t, "1001")
		p := siptest.NewTCP(t, tcp, tn.account())
		r := rfcRegister{belowVia: deviceVia, contacts: []string{flow(1)}, expires: "600", extra: []string{"Supported: outbound, path"}}
		res, _ := r.signed(t, p)
		mustAnswer(t, res, 439, "First Hop Lacks Outbound Support")
		onlyBinding(t, tn, flowPhone(t, tn, tcp, 1))
	})
	t.Run("device did not ask", func(t *testing.T) {
		tn := newTenant(t, "1001")
		p := siptest.NewTCP(t, tcp, tn.account())
		r := rfcRegister{belowVia: deviceVia, contacts: []string{flow(1)}, expires: "600", extra: []string{"Supported: path"}}
		res, _ := r.signed(t, p)
		mustAnswer(t, res, sip.StatusOK, "OK")
		if got := siptest.HeaderValue(res, "Require"); got != "" {
			t.Errorf("Require: %s in the 200 OK", got)
		}
		if b := bindingsAre(t, tn, 1)[0]; b.RegID != 0 || b.Instance != testInstance {
			t.Errorf("status binding %+v, want reg-id 0 with the instance", b)
		}
	})
	t.Run("two Contacts with reg-id", func(t *testing.T) {
		tn := newTenant(t, "1001")
		p := siptest.NewTCP(t, tcp, tn.account())
		second := fmt.Sprintf(`<sip:1001@10.9.9.9:5071;transport=tcp;ob>;reg-id=2;+sip.instance="%s"`, testInstance)
		r := rfcRegister{contacts: []string{flow(1), second}, expires: "600", extra: []string{"Supported: outbound, path"}}
		res, _ := r.signed(t, p)
		mustAnswer(t, res, sip.StatusBadRequest, "More Than One Contact With reg-id")
		onlyBinding(t, tn, flowPhone(t, tn, tcp, 1))
	})
}
