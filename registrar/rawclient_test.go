package registrar_test

import (
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

// udpPhone is a minimal SIP device over UDP: enough to carry a nonce from one replica
// to another, which SIPp (one remote per run) cannot.
type udpPhone struct {
	conn         net.PacketConn
	user, domain string
	password     string
	alg          sipv1.DigestAlgorithm // the digest it computes; MD5 when empty
	callID       string
	cseq         int
}

func newUDPPhone(localIP, user, domain, password string) (*udpPhone, error) {
	c, err := net.ListenPacket("udp", localIP+":0")
	if err != nil {
		return nil, err
	}
	return &udpPhone{conn: c, user: user, domain: domain, password: password, callID: fmt.Sprintf("raw-%d@%s", time.Now().UnixNano(), localIP)}, nil
}

func (p *udpPhone) Close() { _ = p.conn.Close() }

// register sends one REGISTER to target, with an Authorization for nonce when it is
// not empty, and returns the response.
func (p *udpPhone) register(target, nonce string, nc int, expires int) (*sip.Response, error) {
	p.cseq++
	local := p.conn.LocalAddr().String()
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", p.domain)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK-%d-%d;rport\r\n", local, time.Now().UnixNano(), p.cseq)
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=raw%d\r\n", p.user, p.domain, p.cseq)
	fmt.Fprintf(&b, "To: <sip:%s@%s>\r\n", p.user, p.domain)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\n", p.callID, p.cseq)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\nExpires: %d\r\nMax-Forwards: 70\r\n", p.user, local, expires)
	if nonce != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", p.answer(nonce, nc))
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	addr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, err
	}
	if _, err := p.conn.WriteTo([]byte(b.String()), addr); err != nil {
		return nil, err
	}
	_ = p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65535)
	n, _, err := p.conn.ReadFrom(buf)
	if err != nil {
		return nil, fmt.Errorf("no answer from %s: %w", target, err)
	}
	msg, err := sip.ParseMessage(buf[:n])
	if err != nil {
		return nil, err
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		return nil, fmt.Errorf("got a request, not a response")
	}
	return res, nil
}

// answer computes the qop=auth digest response (RFC 2617 §3.2.2, RFC 7616 §3.4.1)
// from the password, with the phone's algorithm.
func (p *udpPhone) answer(nonce string, nc int) string {
	alg := p.alg
	if alg == "" {
		alg = sipv1.DigestMD5
	}
	h := func(s string) string {
		sum := published.NewHash(alg)
		sum.Write([]byte(s))
		return hex.EncodeToString(sum.Sum(nil))
	}
	uri := "sip:" + p.domain
	ha1 := h(p.user + ":" + p.domain + ":" + p.password)
	ha2 := h("REGISTER:" + uri)
	cnonce := "0a4f113b"
	ncs := fmt.Sprintf("%08x", nc)
	c := digest.Credentials{
		Username: p.user, Realm: p.domain, Nonce: nonce, URI: uri, Algorithm: string(alg),
		CNonce: cnonce, QOP: "auth", NC: ncs,
		Response: h(ha1 + ":" + nonce + ":" + ncs + ":" + cnonce + ":auth:" + ha2),
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

var algorithmParam = regexp.MustCompile(`algorithm=([A-Za-z0-9-]+)`)

// challengeAlgorithms returns the algorithm of each challenge header of a 401/407,
// in order.
func challengeAlgorithms(res *sip.Response) []sipv1.DigestAlgorithm {
	var algs []sipv1.DigestAlgorithm
	for _, name := range []string{"Proxy-Authenticate", "WWW-Authenticate"} {
		for _, h := range res.GetHeaders(name) {
			if m := algorithmParam.FindStringSubmatch(h.Value()); m != nil {
				algs = append(algs, sipv1.DigestAlgorithm(m[1]))
			}
		}
	}
	return algs
}
