package siptest

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// Account is who a phone is: its user of a domain, and the password it answers
// challenges with.
type Account struct {
	User, Domain, Password string
}

// Phone is a SIP device over one Transport. Its exported fields are what a test may
// change between requests.
type Phone struct {
	Account
	// Alg is the digest algorithm it answers with: MD5 when empty.
	Alg sipv1.DigestAlgorithm
	// Target is where its requests go over a datagram transport (host:port).
	Target string
	// CallID and CSeq are its registration's, kept across REGISTERs as a phone does.
	CallID string
	CSeq   int
	// Contact is the value of the Contact header it registers and answers with:
	// <sip:user@its address> (with ;transport= unless UDP) when empty.
	Contact string
	// SentBy is the host[:port] its Via names: its own address when empty (a
	// browser names a made-up .invalid host).
	SentBy string
	// Extra holds header lines (each ending in CRLF) added to every REGISTER.
	Extra string
	// Timeout bounds the wait for an answer: 5 s when zero.
	Timeout time.Duration
	// LastSent and LastReceived are the sizes on the wire of the last exchange;
	// LastMessage is what was sent, for a replay.
	LastSent, LastReceived int
	LastMessage            []byte

	t     testing.TB
	tr    Transport
	inbox []Message // requests read while waiting for a response
	tcp   net.Listener
}

// Message is one message the phone received: parsed, as it came, and its source.
type Message struct {
	sip.Message
	Raw  []byte
	From net.Addr
}

// Received is a request the phone received, and its source: where an answer goes.
type Received struct {
	*sip.Request
	From net.Addr
}

var serial atomic.Int64

// unique is a token no other message of this process carries.
func unique() string { return fmt.Sprintf("%d-%d", time.Now().UnixNano(), serial.Add(1)) }

// On makes a phone of acct over tr, closed when the test ends.
func On(t testing.TB, tr Transport, acct Account) *Phone {
	t.Helper()
	t.Cleanup(func() { _ = tr.Close() })
	host, _, _ := net.SplitHostPort(tr.LocalAddr().String())
	return &Phone{Account: acct, t: t, tr: tr, CallID: fmt.Sprintf("kit-%s@%s", unique(), host)}
}

// NewUDP makes a phone of acct on a UDP socket of its own at ip, sending to target.
func NewUDP(t testing.TB, ip, target string, acct Account) *Phone {
	t.Helper()
	u, err := ListenUDP(ip)
	if err != nil {
		t.Fatal(err)
	}
	p := On(t, u, acct)
	p.Target = target
	return p
}

// NewTCP makes a phone of acct on a new TCP connection to addr.
func NewTCP(t testing.TB, addr string, acct Account) *Phone {
	t.Helper()
	s, err := DialTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	return On(t, s, acct)
}

// NewTLS makes a phone of acct on a new TLS connection to addr.
func NewTLS(t testing.TB, addr string, cfg *tls.Config, acct Account) *Phone {
	t.Helper()
	s, err := DialTLS(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return On(t, s, acct)
}

// Transport is what the phone speaks over.
func (p *Phone) Transport() Transport { return p.tr }

// LocalAddr is the phone's end of its transport.
func (p *Phone) LocalAddr() net.Addr { return p.tr.LocalAddr() }

// Port is the port of the phone's end.
func (p *Phone) Port() int {
	_, port, _ := net.SplitHostPort(p.LocalAddr().String())
	n, _ := strconv.Atoi(port)
	return n
}

// Close closes the phone's transport: its socket or connection.
func (p *Phone) Close() { _ = p.tr.Close() }

// TLSState is the state of the phone's TLS connection; it fails the test over
// another transport.
func (p *Phone) TLSState() tls.ConnectionState {
	p.t.Helper()
	if s, ok := p.tr.(*Stream); ok {
		if c, ok := s.Conn.(*tls.Conn); ok {
			return c.ConnectionState()
		}
	}
	p.t.Fatalf("the phone speaks %s, not TLS", p.tr.Name())
	return tls.ConnectionState{}
}

// ContactValue is the Contact header the phone registers and answers with.
func (p *Phone) ContactValue() string {
	if p.Contact != "" {
		return p.Contact
	}
	if name := p.tr.Name(); name != "UDP" {
		return fmt.Sprintf("<sip:%s@%s;transport=%s>", p.User, p.LocalAddr(), strings.ToLower(name))
	}
	return fmt.Sprintf("<sip:%s@%s>", p.User, p.LocalAddr())
}

func (p *Phone) timeout() time.Duration {
	if p.Timeout == 0 {
		return 5 * time.Second
	}
	return p.Timeout
}

// SendTo writes msg as it is to to (the phone's Target when nil).
func (p *Phone) SendTo(msg []byte, to net.Addr) error {
	if to == nil && p.Target != "" {
		addr, err := net.ResolveUDPAddr("udp", p.Target)
		if err != nil {
			return fmt.Errorf("while resolving %s: %w", p.Target, err)
		}
		to = addr
	}
	if err := p.tr.Send(msg, to); err != nil {
		return fmt.Errorf("while sending from the phone: %w", err)
	}
	p.LastSent, p.LastMessage = len(msg), msg
	return nil
}

// Send sends msg (a request, a response, or text, even broken) to the phone's
// Target, failing the test if it cannot.
func (p *Phone) Send(msg any) {
	p.t.Helper()
	var b []byte
	switch m := msg.(type) {
	case string:
		b = []byte(m)
	case []byte:
		b = m
	case sip.Message:
		b = []byte(m.String())
	default:
		p.t.Fatalf("cannot send a %T", msg)
	}
	if err := p.SendTo(b, nil); err != nil {
		p.t.Fatal(err)
	}
}

// Next returns the next message the phone receives within the given time: first
// what it kept while waiting for a response.
func (p *Phone) Next(within time.Duration) (Message, error) {
	if len(p.inbox) > 0 {
		m := p.inbox[0]
		p.inbox = p.inbox[1:]
		return m, nil
	}
	raw, from, err := p.tr.Receive(time.Now().Add(within))
	if err != nil {
		return Message{}, fmt.Errorf("while waiting for a message at the phone: %w", err)
	}
	p.LastReceived = len(raw)
	msg, err := sip.ParseMessage(raw)
	if err != nil {
		return Message{}, fmt.Errorf("while parsing what the phone received: %w\n%s", err, raw)
	}
	return Message{Message: msg, Raw: raw, From: from}, nil
}

// RoundTrip sends msg as it is and returns the first response; requests that come
// meanwhile are kept for Next and Expect.
func (p *Phone) RoundTrip(msg []byte) (*sip.Response, error) {
	if err := p.SendTo(msg, nil); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(p.timeout())
	for {
		raw, from, err := p.tr.Receive(deadline)
		if err != nil {
			return nil, fmt.Errorf("no answer from %s: %w", p.peer(), err)
		}
		m, err := sip.ParseMessage(raw)
		if err != nil {
			return nil, fmt.Errorf("while parsing an answer: %w", err)
		}
		p.LastReceived = len(raw)
		if res, ok := m.(*sip.Response); ok {
			return res, nil
		}
		p.inbox = append(p.inbox, Message{Message: m, Raw: raw, From: from})
	}
}

func (p *Phone) peer() string {
	if p.Target != "" {
		return p.Target
	}
	return p.tr.Name() + " peer"
}
