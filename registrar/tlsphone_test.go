package registrar_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/tlsserve/testcert"
)

// tlsReplica is a replica serving SIP over TLS with a certificate it reads from
// files in a folder of the test's, as from a mounted Secret.
type tlsReplica struct {
	*registrar.Replica
	dir   string
	roots *x509.CertPool
	// metrics is where the replica serves /metrics.
	metrics string
}

// startTLSReplica starts a replica with TLS on loopback, serving a certificate of
// serial 1; firstMessage is the deadline of a new connection's handshake and first
// message (0: none).
func startTLSReplica(t *testing.T, name string, tn *tenant, firstMessage time.Duration) *tlsReplica {
	t.Helper()
	dir := t.TempDir()
	pair := newCert(t, 1)
	certFile, keyFile, err := pair.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	metrics := "127.0.0.1:" + strconv.Itoa(freePort(t))
	r := startExtraReplica(t, name, "127.0.0.1", tn, func(c *registrar.Config) {
		c.TLS = registrar.TLSConfig{Address: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile}
		c.TCPGuard.FirstMessage = firstMessage
		c.MetricsAddress = metrics
	})
	return &tlsReplica{Replica: r, dir: dir, roots: pair.Pool(), metrics: metrics}
}

func newCert(t *testing.T, serial int64) *testcert.Pair {
	t.Helper()
	p, err := testcert.New(serial, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rotate replaces the replica's certificate files with a new pair of serial, and
// trusts it from then on.
func (r *tlsReplica) rotate(t *testing.T, serial int64) {
	t.Helper()
	pair := newCert(t, serial)
	if _, _, err := pair.Write(r.dir); err != nil {
		t.Fatal(err)
	}
	r.roots.AddCert(pair.Cert)
}

// dial opens a TLS connection to the replica, verifying its certificate.
func (r *tlsReplica) dial() (*tls.Conn, error) {
	d := &tls.Dialer{Config: &tls.Config{RootCAs: r.roots, ServerName: "127.0.0.1"}, NetDialer: &net.Dialer{Timeout: 5 * time.Second}}
	c, err := d.Dial("tcp", r.TLSAddress())
	if err != nil {
		return nil, err
	}
	return c.(*tls.Conn), nil
}

// tlsPhone is a device over TLS written by hand: it registers over its connection
// and reads what the registrar sends down it.
type tlsPhone struct {
	t      *testing.T
	conn   *tls.Conn
	in     *bufio.Reader
	digest udpPhone // its credentials and digest answer; its socket is unused
	cseq   int
	callID string
	// contact is the host:port the phone registers as its Contact; empty: its own
	// end of the connection.
	contact string
}

func newTLSPhone(t *testing.T, r *tlsReplica, tn *tenant) *tlsPhone {
	t.Helper()
	c, err := r.dial()
	if err != nil {
		t.Fatalf("while connecting over TLS: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &tlsPhone{t: t, conn: c, in: bufio.NewReader(c),
		digest: udpPhone{user: tn.user, domain: tn.domain, password: tn.password},
		callID: fmt.Sprintf("tls-%d@127.0.0.1", time.Now().UnixNano())}
}

// register sends one REGISTER, with the digest answer to nonce when not empty, and
// returns the response read from the connection.
func (p *tlsPhone) register(nonce string, nc, expires int) (*sip.Response, error) {
	p.cseq++
	local, contact := p.conn.LocalAddr().String(), p.contactAddr()
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", p.digest.domain)
	fmt.Fprintf(&b, "Via: SIP/2.0/TLS %s;branch=z9hG4bK-tls%d-%d;rport\r\n", local, time.Now().UnixNano(), p.cseq)
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=tls%d\r\n", p.digest.user, p.digest.domain, p.cseq)
	fmt.Fprintf(&b, "To: <sip:%s@%s>\r\n", p.digest.user, p.digest.domain)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\n", p.callID, p.cseq)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s;transport=tls>\r\nExpires: %d\r\nMax-Forwards: 70\r\n", p.digest.user, contact, expires)
	if nonce != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", p.digest.answer(nonce, nc))
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	if _, err := io.WriteString(p.conn, b.String()); err != nil {
		return nil, err
	}
	msg, err := p.next(5 * time.Second)
	if err != nil {
		return nil, err
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		return nil, fmt.Errorf("got a %T, not a response", msg)
	}
	return res, nil
}

// registerWithDigest registers as a phone does: challenged (407), then 200 OK.
func (p *tlsPhone) registerWithDigest(expires int) {
	p.t.Helper()
	res, err := p.register("", 0, expires)
	if err != nil {
		p.t.Fatal(err)
	}
	if res.StatusCode != sip.StatusProxyAuthRequired && res.StatusCode != sip.StatusUnauthorized {
		p.t.Fatalf("first REGISTER over TLS: %d %s, want a challenge", res.StatusCode, res.Reason)
	}
	nonce, err := challengeNonce(res)
	if err != nil {
		p.t.Fatal(err)
	}
	if res, err = p.register(nonce, 1, expires); err != nil {
		p.t.Fatal(err)
	}
	if res.StatusCode != sip.StatusOK {
		p.t.Fatalf("REGISTER over TLS with credentials: %d %s, want 200", res.StatusCode, res.Reason)
	}
}

// next reads the next message from the connection.
func (p *tlsPhone) next(within time.Duration) (sip.Message, error) {
	_ = p.conn.SetReadDeadline(time.Now().Add(within))
	return readStreamMessage(p.in)
}

// expect returns the next request of method the registrar sends down the
// connection, skipping others.
func (p *tlsPhone) expect(method sip.RequestMethod) *sip.Request {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msg, err := p.next(time.Until(deadline))
		if err != nil {
			p.t.Fatalf("no %s over the phone's TLS connection: %v", method, err)
		}
		if req, ok := msg.(*sip.Request); ok && req.Method == method {
			return req
		}
	}
}

// reply answers req over the connection.
func (p *tlsPhone) reply(req *sip.Request, code int, reason string) {
	p.t.Helper()
	p.send(sip.NewResponseFromRequest(req, code, reason, nil))
}

// answer accepts an INVITE: 200 OK with a To tag and the phone's Contact.
func (p *tlsPhone) answer(inv *sip.Request) {
	p.t.Helper()
	res := sip.NewResponseFromRequest(inv, sip.StatusOK, "OK", nil)
	res.To().Params.Add("tag", "tlsphone")
	res.AppendHeader(sip.NewHeader("Contact",
		fmt.Sprintf("<sip:%s@%s;transport=tls>", p.digest.user, p.contactAddr())))
	p.send(res)
}

func (p *tlsPhone) contactAddr() string {
	if p.contact != "" {
		return p.contact
	}
	return p.conn.LocalAddr().String()
}

func (p *tlsPhone) send(res *sip.Response) {
	p.t.Helper()
	if _, err := io.WriteString(p.conn, res.String()); err != nil {
		p.t.Fatalf("answering %s: %v", res.CSeq().MethodName, err)
	}
}
