package registrar_test

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// With --require-caller-auth, a caller that is an extension of the called domain must
// answer a 407 challenge; a caller from elsewhere is not challenged.
func TestRequireCallerAuthChallengesExtensionsOfTheDomain(t *testing.T) {
	tn := newTenant(t, "1007")
	r := startExtraReplica(t, "replica-auth", "127.0.0.6", tn, func(c *registrar.Config) { c.RequireCallerAuth = true })
	udp, _ := r.Addresses()

	res := invite(t, udp, "sip:1007@"+tn.domain, tn.domain)
	if res.StatusCode != 407 || res.GetHeader("Proxy-Authenticate") == nil {
		t.Errorf("a caller of the same domain got %d %s, want 407 with Proxy-Authenticate", res.StatusCode, res.Reason)
	}
	res = invite(t, udp, "sip:someone@example.org", tn.domain)
	if res.StatusCode != 480 {
		t.Errorf("a caller from another domain got %d %s, want 480 (not challenged; nothing registered)", res.StatusCode, res.Reason)
	}
}

// A caller of the domain is let through only with an answer computed for the
// Request-URI it sends (RFC 7616 §3.4.6), by the rule the REGISTER handler applies
// (digest.URIMatches): the Request-URI itself, as baresip, linphone and sipsak send,
// and the domain alone, as SIPp with -auth_uri does, pass; an answer computed for
// another callee is refused.
func TestCallerAnswerMustBeForTheRequestURI(t *testing.T) {
	tn := newTenant(t, "1007")
	r := startExtraReplica(t, "replica-auth-uri", "127.0.0.9", tn, func(c *registrar.Config) { c.RequireCallerAuth = true })
	udp, _ := r.Addresses()
	caller := "sip:1007@" + tn.domain
	for _, tc := range []struct {
		name, uri string
		code      int
	}{
		{"the Request-URI", "sip:1007@" + tn.domain, sip.StatusTemporarilyUnavailable}, // passed: nothing registered
		{"the domain alone", "sip:" + tn.domain, sip.StatusTemporarilyUnavailable},
		{"another callee", "sip:1003@" + tn.domain, sip.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := invite(t, udp, caller, tn.domain)
			nonce, err := siptest.Nonce(res)
			if err != nil {
				t.Fatalf("no challenge in %d %s: %v", res.StatusCode, res.Reason, err)
			}
			res = inviteWith(t, udp, caller, tn.domain, "Proxy-Authorization: "+inviteAnswer(t, tn, nonce, tc.uri))
			if res.StatusCode != tc.code {
				t.Errorf("answer computed for %s: got %d %s, want %d", tc.uri, res.StatusCode, res.Reason, tc.code)
			}
		})
	}
}

// inviteAnswer is tn's user's MD5 answer to nonce for an INVITE, computed for uri.
func inviteAnswer(t *testing.T, tn *tenant, nonce, uri string) string {
	t.Helper()
	a, err := tn.account().Authorization(sipv1.DigestMD5, sip.INVITE, uri, nonce, 1)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// invite sends an INVITE for 1007 of domain from the given caller over UDP and returns
// the first final response.
func invite(t *testing.T, target, from, domain string) *sip.Response {
	t.Helper()
	return inviteWith(t, target, from, domain, "")
}

// inviteWith is invite with one more header line ("" for none).
func inviteWith(t *testing.T, target, from, domain, header string) *sip.Response {
	t.Helper()
	return inviteFrom(t, "127.0.0.1", target, from, domain, header)
}

// inviteFrom is inviteWith sent from the address localIP.
func inviteFrom(t *testing.T, localIP, target, from, domain, header string) *sip.Response {
	t.Helper()
	var uri sip.Uri
	if err := sip.ParseUri(from, &uri); err != nil {
		t.Fatal(err)
	}
	c := siptest.NewUDP(t, localIP, target, siptest.Account{User: uri.User, Domain: uri.Host})
	defer c.Close()
	var extra []string
	if header != "" {
		extra = append(extra, header)
	}
	c.Send(c.Request(sip.INVITE, "sip:1007@"+domain, "", extra...))
	return c.Final(5 * time.Second)
}
