package proxy

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/digest"
)

// The route a replica relays a request with passes at the holder (another replica
// with the same key) for that request only, and only while it is young; a route
// naming the AOR without the signature is no relay.
func TestFlowTokenVouchesForOneRequestOnly(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	key := []byte("0123456789abcdef0123456789abcdef")
	holderSelf := &Self{Host: "10.0.0.2", UDPPort: 5060, TCPPort: 5060}
	relaying := New(Config{Nonces: digest.NewReplicaNonceSigner(key, 0), Now: func() time.Time { return now }})
	const aor = "1001@acme.example"
	target := Target{URI: "sip:1001@df7jal23ls0d.invalid;transport=tcp;ob", Outbound: true,
		FlowRoute: "sip:" + holderSelf.HostPort("TCP") + ";transport=tcp;lr;ob"}

	// relayed is the request the holder gets: signed as MESSAGE c1 from 1002, then
	// sent as method, id and from, its route changed by edit.
	relayed := func(method, id, from string, edit func(string) string) *sip.Request {
		t.Helper()
		in := request(t, "MESSAGE", "c1", "sip:1002@acme.example", "")
		h, ok := relaying.hopFor(target, aor, in)
		if !ok || len(h.Route) != 1 {
			t.Fatalf("no relay hop: %+v", h)
		}
		return request(t, method, id, from, "Route: <"+edit(h.Route[0])+">\r\n")
	}
	same := func(s string) string { return s }
	const from = "sip:1002@acme.example"

	for _, tc := range []struct {
		name  string
		req   *sip.Request
		after time.Duration
		want  string
	}{
		{"as relayed", relayed("MESSAGE", "c1", from, same), time.Second, aor},
		{"32 s later (UDP retransmissions)", relayed("MESSAGE", "c1", from, same), 32 * time.Second, aor},
		{"later than that", relayed("MESSAGE", "c1", from, same), 33 * time.Second, ""},
		{"another Call-ID", relayed("MESSAGE", "c2", from, same), 0, ""},
		{"another From", relayed("MESSAGE", "c1", "sip:1003@acme.example", same), 0, ""},
		{"another method", relayed("INVITE", "c1", from, same), 0, ""},
		{"without its signature", relayed("MESSAGE", "c1", from, func(s string) string { return s[:len(s)-len(";sig=")-digest.TokenLen] }), 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			holder := New(Config{Self: holderSelf, Nonces: digest.NewReplicaNonceSigner(key, 0),
				Now: func() time.Time { return now.Add(tc.after) }})
			if got := holder.flowToken(tc.req); got != tc.want {
				t.Errorf("flowToken = %q, want %q (route %s)", got, tc.want, tc.req.Route().Value())
			}
		})
	}
}

// request parses a request of method from From from, with Call-ID id and the extra
// header lines (each ending in CRLF).
func request(t *testing.T, method, id, from, extra string) *sip.Request {
	t.Helper()
	m, err := sip.ParseMessage([]byte(method + " sip:1001@df7jal23ls0d.invalid;transport=tcp;ob SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\nFrom: <" + from + ">;tag=a\r\n" +
		"To: <sip:1001@acme.example>\r\nCall-ID: " + id + "\r\nCSeq: 1 " + method + "\r\n" + extra +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*sip.Request)
}
