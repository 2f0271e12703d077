package registrar_test

import (
	"crypto/md5" //nolint:gosec // the digest algorithm under test
	"encoding/hex"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/digest"
)

// With --require-caller-auth, a caller that is an extension of the called domain must
// answer a 407 challenge; a caller from elsewhere is not challenged.
func TestRequireCallerAuthChallengesExtensionsOfTheDomain(t *testing.T) {
	tn := newTenant(t, "1007")
	r := startExtraReplica(t, "replica-auth", "127.0.0.6", tn, func(c *registrar.Config) { c.RequireCallerAuth = true })
	udp, _ := r.Addresses()

	res, err := invite(udp, "sip:1007@"+tn.domain, tn.domain)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 407 || res.GetHeader("Proxy-Authenticate") == nil {
		t.Errorf("a caller of the same domain got %d %s, want 407 with Proxy-Authenticate", res.StatusCode, res.Reason)
	}
	res, err = invite(udp, "sip:someone@example.org", tn.domain)
	if err != nil {
		t.Fatal(err)
	}
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
			res, err := invite(udp, caller, tn.domain)
			if err != nil {
				t.Fatal(err)
			}
			nonce, err := challengeNonce(res)
			if err != nil {
				t.Fatalf("no challenge in %d %s: %v", res.StatusCode, res.Reason, err)
			}
			res, err = inviteWith(udp, caller, tn.domain, "Proxy-Authorization: "+inviteAnswer(tn, nonce, tc.uri))
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.code {
				t.Errorf("answer computed for %s: got %d %s, want %d", tc.uri, res.StatusCode, res.Reason, tc.code)
			}
		})
	}
}

// inviteAnswer is tn's user's MD5 answer to nonce for an INVITE, computed for uri.
func inviteAnswer(tn *tenant, nonce, uri string) string {
	h := func(s string) string {
		sum := md5.Sum([]byte(s)) //nolint:gosec // the digest algorithm under test
		return hex.EncodeToString(sum[:])
	}
	ha1 := h(tn.user + ":" + tn.domain + ":" + tn.password)
	ha2 := h("INVITE:" + uri)
	c := digest.Credentials{
		Username: tn.user, Realm: tn.domain, Nonce: nonce, URI: uri,
		CNonce: "0a4f113b", QOP: "auth", NC: "00000001",
		Response: h(ha1 + ":" + nonce + ":00000001:0a4f113b:auth:" + ha2),
	}
	return string(c.AppendTo(nil))
}

// invite sends an INVITE for 1007 of domain from the given caller over UDP and returns
// the first final response.
func invite(target, from, domain string) (*sip.Response, error) {
	return inviteWith(target, from, domain, "")
}

// inviteWith is invite with one more header line ("" for none).
func inviteWith(target, from, domain, header string) (*sip.Response, error) {
	return inviteFrom("127.0.0.1", target, from, domain, header)
}

// inviteFrom is inviteWith sent from the address localIP.
func inviteFrom(localIP, target, from, domain, header string) (*sip.Response, error) {
	if header != "" {
		header += "\r\n"
	}
	c, err := net.ListenPacket("udp", localIP+":0")
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	local := c.LocalAddr().String()
	msg := fmt.Sprintf("INVITE sip:1007@%[1]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-%[3]d;rport\r\n"+
		"From: <%[4]s>;tag=caller%[3]d\r\nTo: <sip:1007@%[1]s>\r\n"+
		"Call-ID: auth-%[3]d@%[6]s\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@%[2]s>\r\n"+
		"Max-Forwards: 70\r\n%[5]sContent-Length: 0\r\n\r\n", domain, local, time.Now().UnixNano(), from, header, localIP)
	addr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, err
	}
	if _, err := c.WriteTo([]byte(msg), addr); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	for {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return nil, fmt.Errorf("no final response: %w", err)
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			return nil, err
		}
		if res, ok := m.(*sip.Response); ok && res.StatusCode >= 200 {
			return res, nil
		}
	}
}
