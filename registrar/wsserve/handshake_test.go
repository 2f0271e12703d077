package wsserve

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// upgrade is a browser's upgrade request to host, with extra header lines.
func upgrade(host string, extra ...string) string {
	lines := append([]string{
		"GET / HTTP/1.1", "Host: " + host, "Upgrade: websocket", "Connection: Upgrade",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
	}, extra...)
	return strings.Join(lines, "\r\n") + "\r\n\r\n"
}

func TestUpgradeChecks(t *testing.T) {
	sip := "Sec-WebSocket-Protocol: sip"
	for _, c := range []struct {
		name    string
		origins []string
		request string
		status  int // 0: accepted
	}{
		{"no Origin: not a browser", nil, upgrade("sip.example.com", sip), 0},
		{"a page on the same host", nil, upgrade("sip.example.com:8443", sip, "Origin: https://sip.example.com"), 0},
		{"a cross-site page, nothing allowed", nil, upgrade("sip.example.com", sip, "Origin: https://evil.example.net"), http.StatusForbidden},
		{"a cross-site page, listed", []string{"https://phone.example.net/"}, upgrade("sip.example.com", sip, "Origin: https://PHONE.example.net"), 0},
		{"a cross-site page, another listed", []string{"https://phone.example.net"}, upgrade("sip.example.com", sip, "Origin: https://evil.example.net"), http.StatusForbidden},
		{"any page allowed", []string{"*"}, upgrade("sip.example.com", sip, "Origin: https://evil.example.net"), 0},
		{"Origin null (a sandboxed page)", nil, upgrade("sip.example.com", sip, "Origin: null"), http.StatusForbidden},
		{"sip among other subprotocols", nil, upgrade("sip.example.com", "Sec-WebSocket-Protocol: chat, sip"), 0},
		{"no sip subprotocol", nil, upgrade("sip.example.com", "Sec-WebSocket-Protocol: chat"), http.StatusBadRequest},
		{"no subprotocol at all", nil, upgrade("sip.example.com"), http.StatusBadRequest},
		{"not an upgrade", nil, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusUpgradeRequired},
		{"old WebSocket version", nil, strings.Replace(upgrade("x", sip), "Version: 13", "Version: 8", 1), http.StatusUpgradeRequired},
		{"a POST", nil, strings.Replace(upgrade("x", sip), "GET", "POST", 1), http.StatusMethodNotAllowed},
		{"HTTP/1.0", nil, strings.Replace(upgrade("x", sip), "HTTP/1.1", "HTTP/1.0", 1), http.StatusBadRequest},
		{"a short key", nil, strings.Replace(upgrade("x", sip), "dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=", 1), http.StatusBadRequest},
		{"not HTTP", nil, "OPTIONS sip:x SIP/2.0\r\n\r\n", http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := newPolicy(c.origins).check([]byte(c.request))
			var r *refusal
			switch {
			case c.status == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case c.status != 0 && !errors.As(err, &r):
				t.Fatalf("accepted (%v), want %d", err, c.status)
			case c.status != 0 && r.status != c.status:
				t.Fatalf("refused with %d (%s), want %d", r.status, r.reason, c.status)
			}
		})
	}
}

// A refusal is a complete HTTP response that tells the client to go away.
func TestRefusalResponse(t *testing.T) {
	r := &refusal{status: http.StatusUpgradeRequired, reason: "WebSocket version 13 only", header: "Sec-WebSocket-Version: 13\r\n"}
	res, err := http.ReadResponse(bufioString(string(r.response())), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 426 || res.Header.Get("Sec-WebSocket-Version") != "13" || !res.Close {
		t.Fatalf("got %d, headers %v", res.StatusCode, res.Header)
	}
}
