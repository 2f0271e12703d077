package registrar_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
)

// device is a phone written by hand, for what SIPp cannot express: it registers
// over UDP (and may also listen on TCP on the same port, as RFC 3261 §18 asks of
// a UA), then reads what the registrar sends it and answers as a test tells it.
type device struct {
	t     *testing.T
	phone *udpPhone
	tcp   net.Listener
}

// newDevice registers the tenant's user with replica r from a new UDP port, with
// a TCP listener on the same port when withTCP.
func newDevice(t *testing.T, tn *tenant, r *registrar.Replica, withTCP bool) *device {
	t.Helper()
	d := &device{t: t}
	// The kernel picks a free UDP port; its TCP twin may be taken (by an outgoing
	// connection): then another pair.
	for attempt := 0; d.phone == nil; attempt++ {
		p, err := newUDPPhone("127.0.0.1", tn.user, tn.domain, tn.password)
		if err != nil {
			t.Fatal(err)
		}
		if !withTCP {
			d.phone = p
			break
		}
		if d.tcp, err = net.Listen("tcp", p.conn.LocalAddr().String()); err != nil {
			p.Close()
			if attempt == 20 {
				t.Fatalf("while listening on TCP beside the device's UDP port: %v", err)
			}
			continue
		}
		d.phone = p
		t.Cleanup(func() { _ = d.tcp.Close() })
	}
	t.Cleanup(d.phone.Close)
	p := d.phone
	udp, _ := r.Addresses()
	res, err := p.register(udp, "", 0, 600)
	if err != nil {
		t.Fatal(err)
	}
	nonce, err := challengeNonce(res)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = p.register(udp, nonce, 1, 600); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER of the device: %d %s", res.StatusCode, res.Reason)
	}
	return d
}

// next returns the next message the device receives over UDP, and its source.
func (d *device) next(within time.Duration) (sip.Message, net.Addr, error) {
	buf := make([]byte, 65535)
	_ = d.phone.conn.SetReadDeadline(time.Now().Add(within))
	n, from, err := d.phone.conn.ReadFrom(buf)
	if err != nil {
		return nil, nil, fmt.Errorf("while waiting for a message at the device: %w", err)
	}
	msg, err := sip.ParseMessage(buf[:n])
	if err != nil {
		return nil, nil, fmt.Errorf("while parsing what the device received: %w", err)
	}
	return msg, from, nil
}

// expect returns the next request of method the device receives over UDP, and
// where it came from. Retransmissions of earlier requests (an INVITE is
// retransmitted until its 180 arrives) are skipped; anything else fails the test.
func (d *device) expect(method sip.RequestMethod, seen ...*sip.Request) (*sip.Request, net.Addr) {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msg, from, err := d.next(time.Until(deadline))
		if err != nil {
			d.t.Fatalf("waiting for %s: %v", method, err)
		}
		req, ok := msg.(*sip.Request)
		if ok && req.Method == method && !isRetransmission(req, seen) {
			return req, from
		}
		if ok && isRetransmission(req, seen) {
			continue
		}
		d.t.Fatalf("waiting for %s, the device got:\n%s", method, msg)
	}
}

// received is a request a device got, and where it came from.
type received struct {
	req  *sip.Request
	from net.Addr
}

// expectEach returns one new request of each method, in whatever order they come;
// retransmissions of seen are skipped, anything else fails the test.
func (d *device) expectEach(methods []sip.RequestMethod, seen ...*sip.Request) map[sip.RequestMethod]received {
	d.t.Helper()
	got := make(map[sip.RequestMethod]received, len(methods))
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < len(methods) {
		msg, from, err := d.next(time.Until(deadline))
		if err != nil {
			d.t.Fatalf("waiting for %v (got %d of them): %v", methods, len(got), err)
		}
		req, ok := msg.(*sip.Request)
		if ok && isRetransmission(req, seen) {
			continue
		}
		if ok && slices.Contains(methods, req.Method) {
			if _, dup := got[req.Method]; !dup {
				got[req.Method] = received{req, from}
				seen = append(seen, req)
				continue
			}
		}
		d.t.Fatalf("waiting for %v, the device got:\n%s", methods, msg)
	}
	return got
}

func isRetransmission(req *sip.Request, seen []*sip.Request) bool {
	for _, s := range seen {
		if s.Method == req.Method && s.CSeq().SeqNo == req.CSeq().SeqNo && branchOf(s) == branchOf(req) {
			return true
		}
	}
	return false
}

func branchOf(m sip.Message) string {
	var via *sip.ViaHeader
	switch m := m.(type) {
	case *sip.Request:
		via = m.Via()
	case *sip.Response:
		via = m.Via()
	}
	if via == nil {
		return ""
	}
	b, _ := via.Params.Get("branch")
	return b
}

// answer sends the device's response to req back to where req came from, with
// the device's To tag and, for 18x and 2xx, its Contact.
func (d *device) answer(req *sip.Request, to net.Addr, code int, reason string) {
	d.t.Helper()
	res := d.response(req, code, reason)
	if _, err := d.phone.conn.WriteTo([]byte(res.String()), to); err != nil {
		d.t.Fatalf("while answering %d: %v", code, err)
	}
}

func (d *device) response(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if to := res.To(); to != nil && !req.To().Params.Has("tag") {
		to.Params.Add("tag", "device")
	}
	if code > 100 && code < 300 && !req.IsCancel() {
		res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: d.phone.user, Host: "127.0.0.1", Port: d.port()}})
	}
	return res
}

func (d *device) port() int { return d.phone.conn.LocalAddr().(*net.UDPAddr).Port }

// acceptTCP returns the next request the device receives on a TCP connection the
// registrar opens to it, and that connection.
func (d *device) acceptTCP(within time.Duration) (*sip.Request, net.Conn) {
	d.t.Helper()
	if l, ok := d.tcp.(*net.TCPListener); ok {
		_ = l.SetDeadline(time.Now().Add(within))
	}
	c, err := d.tcp.Accept()
	if err != nil {
		d.t.Fatalf("no TCP connection from the registrar: %v", err)
	}
	d.t.Cleanup(func() { _ = c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(within))
	req, err := readStreamRequest(bufio.NewReader(c))
	if err != nil {
		d.t.Fatalf("reading a request over TCP: %v", err)
	}
	return req, c
}

// readStreamRequest reads one SIP request from a stream.
func readStreamRequest(r *bufio.Reader) (*sip.Request, error) {
	msg, err := readStreamMessage(r)
	if err != nil {
		return nil, err
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return nil, errors.New("a response, not a request")
	}
	return req, nil
}

// readStreamMessage reads one SIP message from a stream: the headers up to the
// empty line, then Content-Length bytes of body.
func readStreamMessage(r *bufio.Reader) (sip.Message, error) {
	var head bytes.Buffer
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("while reading headers: %w", err)
		}
		head.WriteString(line)
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			break
		}
		if name, value, ok := strings.Cut(trimmed, ":"); ok && (strings.EqualFold(name, "Content-Length") || name == "l") {
			if length, err = strconv.Atoi(strings.TrimSpace(value)); err != nil {
				return nil, fmt.Errorf("bad Content-Length %q: %w", value, err)
			}
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("while reading a body of %d bytes: %w", length, err)
	}
	msg, err := sip.ParseMessage(append(head.Bytes(), body...))
	if err != nil {
		return nil, fmt.Errorf("while parsing: %w", err)
	}
	return msg, nil
}

// rawCaller sends hand-made requests to a replica over UDP and reads the answers.
type rawCaller struct {
	t    *testing.T
	conn net.PacketConn
	to   *net.UDPAddr
}

func newRawCaller(t *testing.T, r *registrar.Replica) *rawCaller {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	udp, _ := r.Addresses()
	to, err := net.ResolveUDPAddr("udp", udp)
	if err != nil {
		t.Fatal(err)
	}
	return &rawCaller{t: t, conn: c, to: to}
}

// invite is the text of an INVITE from this caller to uri with Max-Forwards mf
// and body (an SDP offer, or padding).
func (c *rawCaller) invite(uri string, mf int, body string) *sip.Request {
	c.t.Helper()
	local := c.conn.LocalAddr().String()
	id := time.Now().UnixNano()
	text := fmt.Sprintf("INVITE %[1]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-raw%[3]d;rport\r\n"+
		"From: <sip:caller@example.org>;tag=raw%[3]d\r\nTo: <%[1]s>\r\n"+
		"Call-ID: raw-%[3]d@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@%[2]s>\r\n"+
		"Max-Forwards: %[4]d\r\nContent-Type: application/sdp\r\nContent-Length: %[5]d\r\n\r\n%[6]s",
		uri, local, id, mf, len(body), body)
	msg, err := sip.ParseMessage([]byte(text))
	if err != nil {
		c.t.Fatalf("building an INVITE: %v", err)
	}
	return msg.(*sip.Request)
}

func (c *rawCaller) send(req *sip.Request) {
	c.t.Helper()
	if _, err := c.conn.WriteTo([]byte(req.String()), c.to); err != nil {
		c.t.Fatalf("sending %s: %v", req.Method, err)
	}
}

// final returns the first final response the caller receives, and ACKs it.
func (c *rawCaller) final(within time.Duration) *sip.Response {
	c.t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(within)
	for {
		_ = c.conn.SetReadDeadline(deadline)
		n, _, err := c.conn.ReadFrom(buf)
		if err != nil {
			c.t.Fatalf("no final response: %v", err)
		}
		msg, err := sip.ParseMessage(buf[:n])
		if err != nil {
			c.t.Fatalf("parsing what the caller got: %v", err)
		}
		if res, ok := msg.(*sip.Response); ok && res.StatusCode >= 200 {
			c.ackFinal(res)
			return res
		}
	}
}

// ackFinal ACKs a non-2xx final response, within its INVITE transaction.
func (c *rawCaller) ackFinal(res *sip.Response) {
	if res.IsSuccess() || res.CSeq().MethodName != sip.INVITE {
		return
	}
	ack := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n%s\r\n%s\r\n%s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		res.To().Address.String(), c.conn.LocalAddr().String(), branchOf(res),
		res.From().String(), res.To().String(), res.CallID().String(), res.CSeq().SeqNo)
	_, _ = c.conn.WriteTo([]byte(ack), c.to)
}
