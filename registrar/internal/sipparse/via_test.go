package sipparse

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// A Via written with the whitespace RFC 3261 §25.1 allows around the sent-by's
// ':' and the parameters' ';' and '=' keeps its host, port, branch, rport and
// received, through the fast path and through the sipgo parser the registrar
// configures; sipgo's own kept no host, no port and no parameter when a space
// followed the port.
func TestSpacedViaKeepsSentByAndParameters(t *testing.T) {
	for _, tc := range []struct {
		via, host string
		port      int
		received  string
	}{
		{"SIP/2.0/UDP 10.0.0.5:5060 ; branch=z9hG4bK-1 ; rport", "10.0.0.5", 5060, ""},
		{"SIP/2.0/UDP 10.0.0.5 : 5060;branch = z9hG4bK-1;rport", "10.0.0.5", 5060, ""},
		{"SIP/2.0/UDP 10.0.0.5:5060\t;branch=z9hG4bK-1; rport ; received = 192.0.2.7", "10.0.0.5", 5060, "192.0.2.7"},
		{"SIP/2.0/UDP [2001:db8::5] : 5060 ; branch=z9hG4bK-1;rport", "2001:db8::5", 5060, ""},
		{"SIP/2.0/UDP phone.example ; branch=z9hG4bK-1 ;rport", "phone.example", 0, ""},
	} {
		raw := edit("Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK776asdhds;rport", "Via: "+tc.via)
		for name, p := range map[string]interface {
			ParseSIP([]byte) (sip.Message, error)
		}{"fast path": New(), "sipgo's parser": NewSipgoParser()} {
			m, err := p.ParseSIP([]byte(raw))
			if err != nil {
				t.Fatalf("%s: %q: %v", name, tc.via, err)
			}
			via := m.(*sip.Request).Via()
			branch, b := Param(via.Params, "branch")
			rport, r := Param(via.Params, "rport")
			received, _ := Param(via.Params, "received")
			if via.Host != tc.host || via.Port != tc.port || b < 0 || branch != "z9hG4bK-1" || r < 0 || rport != "" || received != tc.received {
				t.Errorf("%s: %q read as host %q port %d params %q, want host %q port %d, branch z9hG4bK-1, rport, received %q",
					name, tc.via, via.Host, via.Port, via.Params, tc.host, tc.port, tc.received)
			}
		}
	}
}

// Each value of a Via list is read through its whitespace, the next one where it
// starts.
func TestSpacedViaListKeepsEveryValue(t *testing.T) {
	hs, err := sip.HeadersParser(HeadersParsers()).ParseHeader(nil, []byte("Via: SIP/2.0/UDP 10.0.0.5:5060 ;branch=z9hG4bK-1, SIP/2.0/TCP 10.0.0.6 : 5070 ; rport"))
	if err != nil || len(hs) != 2 {
		t.Fatalf("%d headers, %v", len(hs), err)
	}
	a, b := hs[0].(*sip.ViaHeader), hs[1].(*sip.ViaHeader)
	if a.Host != "10.0.0.5" || a.Port != 5060 || b.Host != "10.0.0.6" || b.Port != 5070 || b.Transport != "TCP" {
		t.Errorf("read %q and %q", a.Value(), b.Value())
	}
	if _, i := Param(b.Params, "rport"); i < 0 {
		t.Errorf("no rport in %q", b.Value())
	}
}
