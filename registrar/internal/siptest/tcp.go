package siptest

import (
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// NewUDPWithTCP is NewUDP whose phone also listens on TCP on the same port, as
// RFC 3261 §18 asks of a UA: AcceptTCP takes what the registrar sends there.
func NewUDPWithTCP(t testing.TB, ip, target string, acct Account) *Phone {
	t.Helper()
	// The kernel picks a free UDP port; its TCP twin may be taken (by an outgoing
	// connection): then another pair.
	for attempt := 0; ; attempt++ {
		u, err := ListenUDP(ip)
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", u.LocalAddr().String())
		if err != nil {
			_ = u.Close()
			if attempt == 20 {
				t.Fatalf("while listening on TCP beside the phone's UDP port: %v", err)
			}
			continue
		}
		t.Cleanup(func() { _ = l.Close() })
		p := On(t, u, acct)
		p.Target, p.tcp = target, l
		return p
	}
}

// AcceptTCP returns the next request the phone receives on a TCP connection the
// registrar opens to it, and a phone of the same account on that connection to
// answer with.
func (p *Phone) AcceptTCP(within time.Duration) (*Phone, Received) {
	p.t.Helper()
	if p.tcp == nil {
		p.t.Fatal("the phone does not listen on TCP: make it with NewUDPWithTCP")
	}
	if l, ok := p.tcp.(*net.TCPListener); ok {
		_ = l.SetDeadline(time.Now().Add(within))
	}
	c, err := p.tcp.Accept()
	if err != nil {
		p.t.Fatalf("no TCP connection from the registrar: %v", err)
	}
	conn := On(p.t, NewStream(c, "TCP"), p.Account)
	conn.Contact = p.ContactValue()
	m, err := conn.Next(within)
	if err != nil {
		p.t.Fatalf("reading a request over TCP: %v", err)
	}
	req, ok := m.Message.(*sip.Request)
	if !ok {
		p.t.Fatalf("a response over TCP, not a request:\n%s", m.Raw)
	}
	return conn, Received{Request: req, From: m.From}
}
