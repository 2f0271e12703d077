package registrar_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
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

// invite sends an INVITE for 1007 of domain from the given caller over UDP and returns
// the first final response.
func invite(target, from, domain string) (*sip.Response, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	local := c.LocalAddr().String()
	msg := fmt.Sprintf("INVITE sip:1007@%[1]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-%[3]d;rport\r\n"+
		"From: <%[4]s>;tag=caller%[3]d\r\nTo: <sip:1007@%[1]s>\r\n"+
		"Call-ID: auth-%[3]d@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@%[2]s>\r\n"+
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", domain, local, time.Now().UnixNano(), from)
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
