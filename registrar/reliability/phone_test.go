package reliability_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/digest"
)

// udpPhone is a minimal SIP device over UDP (copied from registrar/rawclient_test.go,
// with a query and the sizes on the wire added): it keeps its Call-ID and counts CSeq
// like a real phone, and can carry a nonce across a registrar restart.
type udpPhone struct {
	conn         net.PacketConn
	user, domain string
	password     string
	callID       string
	cseq         int
	// lastSent and lastReceived are the sizes on the wire of the last exchange;
	// lastMessage is what was sent, for a replay.
	lastSent, lastReceived int
	lastMessage            []byte
	// timeout is how long to wait for an answer (5 s when zero).
	timeout time.Duration
}

func newUDPPhone(localIP, user, domain, password string) (*udpPhone, error) {
	c, err := net.ListenPacket("udp", localIP+":0")
	if err != nil {
		return nil, err
	}
	return &udpPhone{conn: c, user: user, domain: domain, password: password,
		callID: fmt.Sprintf("raw-%d@%s", time.Now().UnixNano(), localIP)}, nil
}

func (p *udpPhone) Close() { _ = p.conn.Close() }

// register sends one REGISTER with a Contact (Expires: expires), with an
// Authorization for nonce when it is not empty.
func (p *udpPhone) register(target, nonce string, nc, expires int) (*sip.Response, error) {
	local := p.conn.LocalAddr().String()
	extra := fmt.Sprintf("Contact: <sip:%s@%s>\r\nExpires: %d\r\n", p.user, local, expires)
	return p.send(target, nonce, nc, extra)
}

// query sends a REGISTER without Contact: the 200 lists the AOR's bindings.
func (p *udpPhone) query(target, nonce string, nc int) (*sip.Response, error) {
	return p.send(target, nonce, nc, "")
}

func (p *udpPhone) send(target, nonce string, nc int, extra string) (*sip.Response, error) {
	p.cseq++
	local := p.conn.LocalAddr().String()
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", p.domain)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK-%d-%d;rport\r\n", local, time.Now().UnixNano(), p.cseq)
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=raw%d\r\n", p.user, p.domain, p.cseq)
	fmt.Fprintf(&b, "To: <sip:%s@%s>\r\n", p.user, p.domain)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\n", p.callID, p.cseq)
	b.WriteString(extra)
	b.WriteString("Max-Forwards: 70\r\n")
	if nonce != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", p.answer(nonce, nc))
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return p.roundTrip(target, []byte(b.String()))
}

// roundTrip sends msg as it is and reads one response.
func (p *udpPhone) roundTrip(target string, msg []byte) (*sip.Response, error) {
	addr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, err
	}
	if _, err := p.conn.WriteTo(msg, addr); err != nil {
		return nil, err
	}
	p.lastSent, p.lastMessage = len(msg), msg
	timeout := p.timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	_ = p.conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 65535)
	n, _, err := p.conn.ReadFrom(buf)
	if err != nil {
		return nil, fmt.Errorf("no answer from %s: %w", target, err)
	}
	p.lastReceived = n
	msgIn, err := sip.ParseMessage(buf[:n])
	if err != nil {
		return nil, err
	}
	res, ok := msgIn.(*sip.Response)
	if !ok {
		return nil, fmt.Errorf("got a request, not a response")
	}
	return res, nil
}

// authenticated registers (or refreshes) with a challenge first, and returns the
// nonce it used.
func (p *udpPhone) authenticated(target string, expires int) (string, error) {
	res, err := p.register(target, "", 0, expires)
	if err != nil {
		return "", err
	}
	nonce, err := challengeNonce(res)
	if err != nil {
		return "", err
	}
	res, err = p.register(target, nonce, 1, expires)
	if err != nil {
		return "", err
	}
	if res.StatusCode != 200 {
		return "", fmt.Errorf("REGISTER answered %d %s", res.StatusCode, res.Reason)
	}
	return nonce, nil
}

// answer computes the MD5 qop=auth digest response (RFC 2617 §3.2.2) from the password.
func (p *udpPhone) answer(nonce string, nc int) string {
	uri := "sip:" + p.domain
	ha1 := published.HA1(sipv1.DigestMD5, p.user, p.domain, p.password)
	ha2 := md5hex("REGISTER:" + uri)
	cnonce := "0a4f113b"
	ncs := fmt.Sprintf("%08x", nc)
	c := digest.Credentials{
		Username: p.user, Realm: p.domain, Nonce: nonce, URI: uri, Algorithm: "MD5",
		CNonce: cnonce, QOP: "auth", NC: ncs,
		Response: md5hex(ha1 + ":" + nonce + ":" + ncs + ":" + cnonce + ":auth:" + ha2),
	}
	return string(c.AppendTo(nil))
}

var nonceParam = regexp.MustCompile(`nonce="([^"]+)"`)

// challengeNonce returns the nonce of a 401/407 response.
func challengeNonce(res *sip.Response) (string, error) {
	for _, name := range []string{"Proxy-Authenticate", "WWW-Authenticate"} {
		if h := res.GetHeader(name); h != nil {
			if m := nonceParam.FindStringSubmatch(h.Value()); m != nil {
				return m[1], nil
			}
		}
	}
	return "", fmt.Errorf("no challenge in %d %s", res.StatusCode, res.Reason)
}

// isStale reports a 401/407 whose challenge says stale=true: retry without asking the user.
func isStale(res *sip.Response) bool {
	for _, name := range []string{"Proxy-Authenticate", "WWW-Authenticate"} {
		if h := res.GetHeader(name); h != nil && strings.Contains(h.Value(), "stale=true") {
			return true
		}
	}
	return false
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func contactCount(res *sip.Response) int {
	n := 0
	for _, h := range res.Headers() {
		if strings.EqualFold(h.Name(), "Contact") {
			n++
		}
	}
	return n
}
