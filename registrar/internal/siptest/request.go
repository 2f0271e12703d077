package siptest

import (
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// header is one header line of a request being built.
type header struct{ name, value string }

// render writes a request line and headers, the defaults first except those that
// extra (lines "Name: value") gives itself, then extra, then the body.
func render(start string, defaults []header, extra []string, body string) string {
	given := map[string]bool{}
	for _, line := range extra {
		if name, _, ok := strings.Cut(line, ":"); ok {
			given[strings.ToLower(strings.TrimSpace(name))] = true
		}
	}
	var b strings.Builder
	b.WriteString(start + "\r\n")
	for _, h := range defaults {
		if !given[strings.ToLower(h.name)] {
			fmt.Fprintf(&b, "%s: %s\r\n", h.name, h.value)
		}
	}
	for _, line := range extra {
		b.WriteString(strings.TrimRight(line, "\r\n") + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// via is the phone's Via header value for a new transaction.
func (p *Phone) via() string {
	sentBy := p.SentBy
	if sentBy == "" {
		sentBy = p.LocalAddr().String()
	}
	return fmt.Sprintf("SIP/2.0/%s %s;branch=z9hG4bK-%s;rport", p.tr.Name(), sentBy, unique())
}

// Request is a new request of method to uri from the phone's account, with a
// Call-ID, tag and branch of its own, CSeq 1 and Max-Forwards 70; extra header lines
// ("Name: value") replace the default of that name or add to them. A request that
// may set up a dialog (INVITE, SUBSCRIBE, REFER, NOTIFY) carries the phone's
// Contact (RFC 3261 §8.1.1.8); an INVITE with a body Content-Type
// application/sdp, a MESSAGE with a body text/plain.
func (p *Phone) Request(method sip.RequestMethod, uri, body string, extra ...string) *sip.Request {
	p.t.Helper()
	id := unique()
	defaults := []header{
		{"Via", p.via()},
		{"From", fmt.Sprintf("<sip:%s@%s>;tag=kit-%s", p.User, p.Domain, id)},
		{"To", "<" + uri + ">"},
		{"Call-ID", "kit-" + id + "@" + p.LocalAddr().String()},
		{"CSeq", fmt.Sprintf("1 %s", method)},
		{"Max-Forwards", "70"},
	}
	switch method {
	case sip.INVITE, sip.SUBSCRIBE, sip.REFER, sip.NOTIFY:
		defaults = append(defaults, header{"Contact", p.ContactValue()})
		if method == sip.INVITE && body != "" {
			defaults = append(defaults, header{"Content-Type", "application/sdp"})
		}
	case sip.MESSAGE:
		if body != "" {
			defaults = append(defaults, header{"Content-Type", "text/plain"})
		}
	}
	text := render(fmt.Sprintf("%s %s SIP/2.0", method, uri), defaults, extra, body)
	msg, err := sip.ParseMessage([]byte(text))
	if err != nil {
		p.t.Fatalf("while building a %s: %v\n%s", method, err, text)
	}
	return msg.(*sip.Request)
}

// registerText is the phone's next REGISTER, counting CSeq on its Call-ID, with
// the given headers before Max-Forwards and the digest answer to nonce when set.
func (p *Phone) registerText(nonce string, nc int, binding []header) (string, error) {
	p.CSeq++
	defaults := []header{
		{"Via", p.via()},
		{"From", fmt.Sprintf("<sip:%s@%s>;tag=kit%d", p.User, p.Domain, p.CSeq)},
		{"To", fmt.Sprintf("<sip:%s@%s>", p.User, p.Domain)},
		{"Call-ID", p.CallID},
		{"CSeq", fmt.Sprintf("%d REGISTER", p.CSeq)},
	}
	defaults = append(defaults, binding...)
	extra := []string{}
	if p.Extra != "" {
		extra = append(extra, strings.Split(strings.TrimRight(p.Extra, "\r\n"), "\r\n")...)
	}
	extra = append(extra, "Max-Forwards: 70")
	if nonce != "" {
		auth, err := p.Authorization(sip.REGISTER, "sip:"+p.Domain, nonce, nc)
		if err != nil {
			return "", err
		}
		extra = append(extra, "Authorization: "+auth)
	}
	return render("REGISTER sip:"+p.Domain+" SIP/2.0", defaults, extra, ""), nil
}

// Register sends one REGISTER of the phone's Contact for expires seconds, with the
// digest answer to nonce (nonce count nc) when nonce is set, and returns the answer.
func (p *Phone) Register(nonce string, nc, expires int) (*sip.Response, error) {
	text, err := p.registerText(nonce, nc, []header{{"Contact", p.ContactValue()}, {"Expires", fmt.Sprint(expires)}})
	if err != nil {
		return nil, err
	}
	return p.RoundTrip([]byte(text))
}

// Query sends a REGISTER without Contact (its 200 lists the AOR's bindings), with
// the digest answer to nonce when set.
func (p *Phone) Query(nonce string, nc int) (*sip.Response, error) {
	text, err := p.registerText(nonce, nc, nil)
	if err != nil {
		return nil, err
	}
	return p.RoundTrip([]byte(text))
}

// Authenticated registers as a phone does: a REGISTER, its challenge (401 or 407),
// then the answer to it, which must get 200. It returns the nonce it answered and
// the 200.
func (p *Phone) Authenticated(expires int) (string, *sip.Response, error) {
	res, err := p.Register("", 0, expires)
	if err != nil {
		return "", nil, err
	}
	if res.StatusCode != sip.StatusProxyAuthRequired && res.StatusCode != sip.StatusUnauthorized {
		return "", res, fmt.Errorf("REGISTER over %s: %d %s, want a challenge", p.tr.Name(), res.StatusCode, res.Reason)
	}
	nonce, err := Nonce(res)
	if err != nil {
		return "", res, err
	}
	if res, err = p.Register(nonce, 1, expires); err != nil {
		return nonce, nil, err
	}
	if res.StatusCode != sip.StatusOK {
		return nonce, res, fmt.Errorf("REGISTER over %s with credentials: %d %s, want 200", p.tr.Name(), res.StatusCode, res.Reason)
	}
	return nonce, res, nil
}

// MustRegister is Authenticated, failing the test unless the phone ends registered.
func (p *Phone) MustRegister(expires int) *sip.Response {
	p.t.Helper()
	_, res, err := p.Authenticated(expires)
	if err != nil {
		p.t.Fatal(err)
	}
	return res
}
