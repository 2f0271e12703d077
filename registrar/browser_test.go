package registrar_test

import (
	"path/filepath"
	"strings"
	"testing"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/hack/browser"
	"github.com/voipbin/registrar-operator/registrar"
)

// JsSIP 3.13 in headless Chromium, a browser softphone as users run it, against a
// replica serving WSS to the page's Origin alone: it registers (challenged, then
// 200 with its digest answer), its binding reads WSS; it stays registered,
// refreshing the binding before it expires; a MESSAGE routed to it arrives and is
// answered; a call routed to it arrives over its WebSocket, is answered (WebRTC
// media, never flowing here) and ended by the caller; and it unregisters, which
// removes its binding.
func TestJsSIPInChromiumOverWSS(t *testing.T) {
	// Domains accept registrations of 60 s and longer by default; 12 s makes
	// JsSIP refresh within the test (it does so 5 s before expiry when under 64 s).
	tn := newTenant(t, "1001", func(d *sipv1.Domain) { d.Spec.Registration.MinExpires = 10 })
	phone := browser.NewPhone(t, wait)
	r := startWSReplica(t, "replica-wss", tn, func(c *registrar.Config) {
		c.WS.AllowedOrigins = []string{phone.Origin}
	})
	phone.Open(browser.Account{WS: "wss://" + r.WSSAddress(), URI: "sip:" + tn.aor(), Password: tn.password, Expires: 12}, spki(t, r))
	if v := phone.Expect("loaded").Text; !strings.HasPrefix(v, "3.13.") {
		t.Errorf("the page runs JsSIP %q, want 3.13.x (hack/browser/package-lock.json)", v)
	}
	if e := phone.Expect("registered"); e.Status != 200 {
		t.Fatalf("JsSIP registered with %d, want 200", e.Status)
	}
	// With its digest answer to our challenge.
	metricShows(t, r, `sip_register_requests_total{outcome="challenged",transport="WSS"} 1`)
	metricShows(t, r, `sip_register_requests_total{outcome="registered",transport="WSS"} 1`)
	first := bindingsAre(t, tn, 1)[0]
	if first.Transport != "WSS" || first.Expires != 12 {
		t.Errorf("JsSIP's binding %+v, want transport WSS for 12 s", first)
	}

	// It refreshes before the 12 s run out: the replica accepts a second REGISTER
	// (the status keeps the binding's lease, which outlasts the refresh, so the
	// replica's own count shows it).
	metricShows(t, r, `sip_register_requests_total{outcome="registered",transport="WSS"} 2`)
	if b := bindingsAre(t, tn, 1)[0]; b.URI != first.URI {
		t.Errorf("after the refresh the binding is %+v, want %s still", b, first.URI)
	}

	routable(t, r.Replica, tn, 1)
	caller := tn.caller(t, r.Replica, "uac-message.xml", callID(t), tn.user)
	if e := phone.Expect("newMessage"); strings.TrimSpace(e.Text) != "Hello from SIPp" || e.From != "sip:caller@example.org" {
		t.Errorf("JsSIP got the MESSAGE %+v, want SIPp's", e)
	}
	if err := caller.wait(); err != nil {
		t.Fatalf("a MESSAGE to JsSIP: %v", err)
	}

	caller = tn.caller(t, r.Replica, "uac-call-webrtc.xml", callID(t), tn.user)
	phone.Expect("newRTCSession")
	phone.Expect("confirmed")
	if e := phone.Expect("ended"); e.Text != "Terminated" {
		t.Errorf("the call ended with %q, want Terminated (the caller's BYE)", e.Text)
	}
	if err := caller.wait(); err != nil {
		t.Fatalf("a call to JsSIP: %v", err)
	}

	phone.Command("unregister")
	if e := phone.Expect("unregistered"); e.Status != 200 {
		t.Errorf("JsSIP unregistered with %d, want 200", e.Status)
	}
	bindingsAre(t, tn, 0)
}

// A page on a host the replica does not list (nor its own) cannot register: the
// browser's WebSocket upgrade is refused for its Origin, and JsSIP says it is
// disconnected.
func TestJsSIPFromAnotherOriginIsRefused(t *testing.T) {
	tn := newTenant(t, "1001")
	phone := browser.NewPhone(t, wait)
	r := startWSReplica(t, "replica-wss", tn, func(c *registrar.Config) {
		c.WS.AllowedOrigins = []string{"https://app.example.com"}
	})
	phone.Open(browser.Account{WS: "wss://" + r.WSSAddress(), URI: "sip:" + tn.aor(), Password: tn.password, Expires: 600}, spki(t, r))
	if e := phone.Expect("disconnected"); e.Text != "transport error" {
		t.Errorf("JsSIP reported %+v, want its transport failing", e)
	}
	eventually(t, "the replica counts the refused upgrade", func() error {
		body, err := scrape(r.metrics)
		if err != nil {
			return err
		}
		for l := range strings.SplitSeq(body, "\n") {
			if n, ok := strings.CutPrefix(l, `sip_ws_upgrades_refused_total{transport="WSS"} `); ok && n != "0" {
				return nil
			}
		}
		return errStill
	})
	if got := r.Routes(tn.domain, tn.user); got != 0 {
		t.Errorf("the replica routes %s to %d device(s), want none", tn.aor(), got)
	}
}

// spki is what Chromium trusts of the certificate r serves (browser.SPKI).
func spki(t *testing.T, r *tlsReplica) string {
	t.Helper()
	trust, err := browser.SPKI(filepath.Join(r.dir, "tls.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return trust
}
