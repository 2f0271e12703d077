package registrar_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// wsReplica is a replica serving SIP over WS and WSS on loopback, WSS with a
// certificate of serial 1 (as startTLSReplica); mutate changes its configuration.
func startWSReplica(t *testing.T, name string, tn *tenant, mutate func(*registrar.Config)) *tlsReplica {
	t.Helper()
	dir := t.TempDir()
	pair := newCert(t, 1)
	certFile, keyFile, err := pair.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	metrics := "127.0.0.1:" + strconv.Itoa(freePort(t))
	r := startExtraReplica(t, name, "127.0.0.1", tn, func(c *registrar.Config) {
		c.TLS = registrar.TLSConfig{CertFile: certFile, KeyFile: keyFile}
		c.WS = registrar.WSConfig{Address: "127.0.0.1:0", SecureAddress: "127.0.0.1:0"}
		c.MetricsAddress = metrics
		if mutate != nil {
			mutate(c)
		}
	})
	return &tlsReplica{Replica: r, dir: dir, roots: pair.Pool(), metrics: metrics}
}

// wsDial upgrades a connection to the replica's WS (secure: WSS) listener with
// header (Origin, say) and the sip subprotocol.
func wsDial(r *tlsReplica, secure bool, header http.Header) (net.Conn, error) {
	d := ws.Dialer{Protocols: []string{"sip"}, Timeout: 5 * time.Second, Header: ws.HandshakeHeaderHTTP(header)}
	url := "ws://" + r.WSAddress()
	if secure {
		d.TLSConfig = &tls.Config{RootCAs: r.roots, ServerName: "127.0.0.1"}
		url = "wss://" + r.WSSAddress()
	}
	c, br, hs, err := d.Dial(context.Background(), url)
	if err != nil {
		return nil, err
	}
	if hs.Protocol != "sip" {
		_ = c.Close()
		return nil, fmt.Errorf("the replica agreed on subprotocol %q, want sip", hs.Protocol)
	}
	if br != nil {
		ws.PutReader(br)
	}
	return c, nil
}

// wsPhone is a device over WebSocket written by hand, as JsSIP behaves: its
// Contact host is a made-up .invalid name, reachable only over its connection.
type wsPhone struct {
	t         *testing.T
	conn      net.Conn
	transport string // WS or WSS
	account   siptest.Account
	cseq      int
	callID    string
	contact   string
}

func newWSPhone(t *testing.T, r *tlsReplica, tn *tenant, secure bool) *wsPhone {
	t.Helper()
	c, err := wsDial(r, secure, nil)
	if err != nil {
		t.Fatalf("while connecting over WebSocket: %v", err)
	}
	transport := "WS"
	if secure {
		transport = "WSS"
	}
	return wsPhoneOn(t, c, tn, transport)
}

// wsPhoneOn is a phone over c, upgraded already, over transport (WS or WSS).
func wsPhoneOn(t *testing.T, c net.Conn, tn *tenant, transport string) *wsPhone {
	t.Cleanup(func() { _ = c.Close() })
	return &wsPhone{t: t, conn: c, transport: transport,
		account: tn.account(),
		callID:  fmt.Sprintf("ws-%d@127.0.0.1", time.Now().UnixNano()),
		contact: fmt.Sprintf("sip:%s@%d.invalid;transport=ws", tn.user, time.Now().UnixNano()%1e6)}
}

// send writes one message in a text frame, masked as a client must.
func (p *wsPhone) send(text string) error {
	return wsutil.WriteClientText(p.conn, []byte(text))
}

// next reads the next SIP message, skipping keep-alive answers.
func (p *wsPhone) next(within time.Duration) (sip.Message, error) {
	_ = p.conn.SetReadDeadline(time.Now().Add(within))
	for {
		data, err := wsutil.ReadServerText(p.conn)
		if err != nil {
			return nil, err
		}
		if len(bytes.Trim(data, "\r\n")) == 0 {
			continue
		}
		return sip.ParseMessage(data)
	}
}

// register sends one REGISTER as JsSIP words it, with the digest answer to nonce
// when not empty, and returns the response.
func (p *wsPhone) register(nonce string, nc, expires int) (*sip.Response, error) {
	p.cseq++
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", p.account.Domain)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %d.invalid;branch=z9hG4bK-ws%d-%d\r\n", p.transport, p.cseq, time.Now().UnixNano(), p.cseq)
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=ws%d\r\n", p.account.User, p.account.Domain, p.cseq)
	fmt.Fprintf(&b, "To: <sip:%s@%s>\r\n", p.account.User, p.account.Domain)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\n", p.callID, p.cseq)
	fmt.Fprintf(&b, "Contact: <%s>;expires=%d\r\nExpires: %d\r\nMax-Forwards: 69\r\n", p.contact, expires, expires)
	if nonce != "" {
		auth, err := p.account.Authorization(sipv1.DigestMD5, sip.REGISTER, "sip:"+p.account.Domain, nonce, nc)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "Authorization: %s\r\n", auth)
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	if err := p.send(b.String()); err != nil {
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

// registerWithDigest registers as a browser does: challenged, then 200 OK.
func (p *wsPhone) registerWithDigest(expires int) {
	p.t.Helper()
	res, err := p.register("", 0, expires)
	if err != nil {
		p.t.Fatal(err)
	}
	if res.StatusCode != sip.StatusProxyAuthRequired && res.StatusCode != sip.StatusUnauthorized {
		p.t.Fatalf("first REGISTER over %s: %d %s, want a challenge", p.transport, res.StatusCode, res.Reason)
	}
	nonce, err := siptest.Nonce(res)
	if err != nil {
		p.t.Fatal(err)
	}
	if res, err = p.register(nonce, 1, expires); err != nil {
		p.t.Fatal(err)
	}
	if res.StatusCode != sip.StatusOK {
		p.t.Fatalf("REGISTER over %s with credentials: %d %s, want 200", p.transport, res.StatusCode, res.Reason)
	}
}

// reply answers req over the connection.
func (p *wsPhone) reply(req *sip.Request, code int, reason string) {
	p.t.Helper()
	if err := p.send(sip.NewResponseFromRequest(req, code, reason, nil).String()); err != nil {
		p.t.Fatalf("answering %s: %v", req.Method, err)
	}
}

// expect returns the next request of method the registrar sends down the
// connection, skipping others.
func (p *wsPhone) expect(method sip.RequestMethod) *sip.Request {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msg, err := p.next(time.Until(deadline))
		if err != nil {
			p.t.Fatalf("no %s over the phone's %s connection: %v", method, p.transport, err)
		}
		if req, ok := msg.(*sip.Request); ok && req.Method == method {
			return req
		}
	}
}

// answer accepts an INVITE as JsSIP does: 200 OK with a To tag and its .invalid
// Contact.
func (p *wsPhone) answer(inv *sip.Request) {
	p.t.Helper()
	res := sip.NewResponseFromRequest(inv, sip.StatusOK, "OK", nil)
	res.To().Params.Add("tag", "wsphone")
	res.AppendHeader(sip.NewHeader("Contact", "<"+p.contact+">"))
	if err := p.send(res.String()); err != nil {
		p.t.Fatalf("answering the INVITE: %v", err)
	}
}
