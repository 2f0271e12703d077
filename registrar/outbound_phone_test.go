package registrar_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// flowPhone is an RFC 5626 device written by hand: it registers over a TCP
// connection of its own with +sip.instance and reg-id and a Contact nobody can
// reach (a *.invalid host, as browsers and mobile clients send), so a request
// reaches it only over that connection.
type flowPhone struct {
	t        *testing.T
	tn       *tenant
	conn     net.Conn
	rd       *bufio.Reader
	instance string
	callID   string
	cseq     int
}

const testInstance = "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"

// dialFlow opens a new flow (connection) to tcpAddr for the tenant's device.
func dialFlow(t *testing.T, tn *tenant, tcpAddr string) *flowPhone {
	t.Helper()
	c, err := net.Dial("tcp", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &flowPhone{t: t, tn: tn, conn: c, rd: bufio.NewReader(c), instance: testInstance,
		callID: fmt.Sprintf("flow-%d@invalid", time.Now().UnixNano())}
}

// register registers over the phone's connection (answering the challenge) and
// returns the final response.
func (p *flowPhone) register(regID int) *sip.Response {
	p.t.Helper()
	contact := fmt.Sprintf(`<sip:%s@df7jal23ls0d.invalid;transport=tcp;ob>;+sip.instance="%s";reg-id=%d`,
		p.tn.user, p.instance, regID)
	extra := "Supported: outbound, path\r\n"
	res := p.roundTrip(registerText(p.tn, "TCP", p.conn.LocalAddr().String(), p.callID, p.next(), contact, extra, ""))
	nonce, err := challengeNonce(res)
	if err != nil {
		p.t.Fatal(err)
	}
	auth := (&udpPhone{user: p.tn.user, domain: p.tn.domain, password: p.tn.password}).answer(nonce, 1)
	return p.roundTrip(registerText(p.tn, "TCP", p.conn.LocalAddr().String(), p.callID, p.next(), contact, extra, auth))
}

func (p *flowPhone) next() int { p.cseq++; return p.cseq }

func (p *flowPhone) roundTrip(text string) *sip.Response {
	p.t.Helper()
	if _, err := p.conn.Write([]byte(text)); err != nil {
		p.t.Fatal(err)
	}
	_ = p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	msg, err := readStreamMessage(p.rd)
	if err != nil {
		p.t.Fatalf("no answer to the REGISTER: %v", err)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		p.t.Fatalf("a request instead of the REGISTER's answer: %s", msg.(*sip.Request).Method)
	}
	return res
}

// receive reads the next request over the flow and answers it 200 OK.
func (p *flowPhone) receive(within time.Duration) (*sip.Request, error) {
	_ = p.conn.SetReadDeadline(time.Now().Add(within))
	msg, err := readStreamMessage(p.rd)
	if err != nil {
		return nil, err
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return nil, fmt.Errorf("a response, not a request")
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	_, err = p.conn.Write([]byte(res.String()))
	return req, err
}

// registerText is a REGISTER of the tenant's user sent from local over transport,
// with the given Contact value, extra headers (each ending in CRLF) and, when auth
// is set, that Authorization.
func registerText(tn *tenant, transport, local, callID string, cseq int, contact, extra, auth string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", tn.domain)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK-ob-%d-%d;rport\r\n", transport, local, time.Now().UnixNano(), cseq)
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=ob%d\r\nTo: <sip:%s@%s>\r\n", tn.user, tn.domain, cseq, tn.user, tn.domain)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\nContact: %s\r\nExpires: 600\r\nMax-Forwards: 70\r\n", callID, cseq, contact)
	b.WriteString(extra)
	if auth != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", auth)
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// headerValue is the value of res's first header called name, "" when none.
func headerValue(res *sip.Response, name string) string {
	if h := res.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}
