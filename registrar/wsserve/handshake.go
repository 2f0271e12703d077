package wsserve

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxRequestHeader bounds the upgrade request: a browser's is well under 2 KiB.
const maxRequestHeader = 8 << 10

// refusal is an upgrade request we answer with an HTTP error instead of 101.
type refusal struct {
	status int
	reason string
	// header is added to the response (Sec-WebSocket-Version on a 426).
	header string
}

func (r *refusal) Error() string { return fmt.Sprintf("%d %s", r.status, r.reason) }

// response is the HTTP answer to a refused upgrade; the connection closes after it.
func (r *refusal) response() []byte {
	body := r.reason + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nConnection: close\r\n%sContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s",
		r.status, http.StatusText(r.status), r.header, len(body), body)
}

// readRequestHeader reads the upgrade request's bytes up to and including the
// empty line that ends its headers, and no further: the frames after it stay in br.
func readRequestHeader(br *bufio.Reader) ([]byte, error) {
	var raw []byte
	for {
		line, err := br.ReadSlice('\n')
		raw = append(raw, line...)
		if len(raw) > maxRequestHeader {
			return nil, &refusal{status: http.StatusRequestHeaderFieldsTooLarge, reason: "the upgrade request is too large"}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(raw) >= 2 && (bytes.Equal(line, []byte("\r\n")) || bytes.Equal(line, []byte("\n"))) {
			return raw, nil
		}
	}
}

// check decides on an upgrade request (RFC 6455 §4.2.1, RFC 7118 §4): it must be
// a WebSocket upgrade of version 13 that offers the sip subprotocol, from an
// allowed Origin. It checks all that the upgrader behind (sipgo's) checks, so that
// what passes here is upgraded there.
func (p *policy) check(raw []byte) error {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return &refusal{status: http.StatusBadRequest, reason: "not an HTTP request"}
	}
	switch {
	case req.Method != http.MethodGet:
		return &refusal{status: http.StatusMethodNotAllowed, reason: "a WebSocket upgrade is a GET"}
	case req.ProtoMajor != 1 || req.ProtoMinor != 1:
		return &refusal{status: http.StatusBadRequest, reason: "a WebSocket upgrade is HTTP/1.1"}
	case req.Host == "":
		return &refusal{status: http.StatusBadRequest, reason: "the upgrade request has no Host"}
	case !hasToken(req.Header, "Upgrade", "websocket") || !hasToken(req.Header, "Connection", "upgrade"):
		return &refusal{status: http.StatusUpgradeRequired, reason: "this port serves SIP over WebSocket only",
			header: "Upgrade: websocket\r\n"}
	case req.Header.Get("Sec-WebSocket-Version") != "13":
		return &refusal{status: http.StatusUpgradeRequired, reason: "WebSocket version 13 only",
			header: "Sec-WebSocket-Version: 13\r\n"}
	case !validKey(req.Header.Get("Sec-WebSocket-Key")):
		return &refusal{status: http.StatusBadRequest, reason: "bad Sec-WebSocket-Key"}
	case !hasToken(req.Header, "Sec-WebSocket-Protocol", "sip"):
		return &refusal{status: http.StatusBadRequest, reason: "Sec-WebSocket-Protocol must offer sip (RFC 7118)"}
	}
	if origin := req.Header.Get("Origin"); origin != "" && !p.allows(origin, req.Host) {
		return &refusal{status: http.StatusForbidden, reason: "origin not allowed"}
	}
	return nil
}

// policy is who may upgrade.
type policy struct {
	// origins are the allowed Origins, lower case; "*" allows any.
	origins map[string]bool
}

func newPolicy(origins []string) *policy {
	p := &policy{origins: map[string]bool{}}
	for _, o := range origins {
		p.origins[strings.ToLower(strings.TrimRight(strings.TrimSpace(o), "/"))] = true
	}
	return p
}

// allows reports whether a browser page of origin may connect to host (the
// request's Host): the page is on the same host, or its origin is listed.
func (p *policy) allows(origin, host string) bool {
	origin = strings.ToLower(origin)
	if p.origins["*"] || p.origins[origin] {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(hostname(u.Host), hostname(host))
}

// hostname is host without its port.
func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return strings.Trim(h, "[]")
	}
	return strings.Trim(hostport, "[]")
}

// hasToken reports whether a comma-separated header lists token (any case).
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// validKey reports whether key is 16 bytes in base64, as RFC 6455 §4.1 asks.
func validKey(key string) bool {
	b, err := base64.StdEncoding.DecodeString(key)
	return err == nil && len(b) == 16
}
