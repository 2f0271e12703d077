package proxy

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// The previous hop's Via, its parameters with the whitespace RFC 3261 §25.1 allows
// around ';' and '=' as a parser keeps it (" rport"), gets rport=<source port> and
// received in place (RFC 3581 §4), so that the callee's responses come back to the
// caller's pinhole; the stateless branch reads the branch through its whitespace.
func TestMarkReceivedReadsASpacedRport(t *testing.T) {
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "10.0.0.5", Port: 5062,
		Params: sip.HeaderParams{{K: "branch", V: "z9hG4bK-1 "}, {K: " rport", V: ""}, {K: " received ", V: " 10.0.0.9"}}}
	req := sip.NewRequest(sip.INVITE, sip.Uri{User: "1001", Host: "acme.example"})
	req.AppendHeader(via)
	markReceived(req, "203.0.113.7:40112")
	if rport, ok := via.Params.Get("rport"); !ok || rport != "40112" {
		t.Errorf("Via %q: rport %q, want 40112", via.Value(), rport)
	}
	if received, ok := via.Params.Get("received"); !ok || received != "203.0.113.7" {
		t.Errorf("Via %q: received %q, want 203.0.113.7", via.Value(), received)
	}
	if n := strings.Count(via.Value(), "rport") + strings.Count(via.Value(), "received"); n != 2 {
		t.Errorf("Via %q: rport and received not once each", via.Value())
	}

	spaced := sip.NewRequest(sip.ACK, sip.Uri{User: "1001", Host: "acme.example"})
	spaced.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "10.0.0.5", Port: 5062,
		Params: sip.HeaderParams{{K: " branch ", V: " z9hG4bK-2"}}})
	plain := sip.NewRequest(sip.ACK, sip.Uri{User: "1001", Host: "acme.example"})
	plain.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "10.0.0.5", Port: 5062,
		Params: sip.HeaderParams{{K: "branch", V: "z9hG4bK-2"}}})
	if statelessBranch(spaced) != statelessBranch(plain) {
		t.Error("a spaced branch gives another stateless branch than the same branch unspaced")
	}
}
